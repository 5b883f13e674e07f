/**
 * Scenario 2: attach to 300 Running instances with stopInstances, for two maxStoppedInstances. Measures wall time,
 * the most instances stopped at once (emulator peakStopped), DescribeInstances calls per polling round, and
 * instances left stopped afterwards.
 */
import { provider } from "../provider";
import { batches, BenchOptions, benchEnv, ids, Row } from "./lib";
import { CONCURRENCY, QUOTA } from "./scale";

export async function stopFirst(o: BenchOptions): Promise<Row[]> {
  const n = 300;
  const latencyMs = 50;
  const delayMs = o.quick ? 200 : 2000;
  const pollIntervalMs = delayMs / 4;
  const rows: Row[] = [];
  for (const maxStoppedInstances of [30, 300]) {
    o.log(`stop-first n=${n} maxStoppedInstances=${maxStoppedInstances} stop/start ${delayMs} ms`);
    const env = await benchEnv(
      { instances: n, initialStatus: "Running", latencyMs, quotaPerSecond: QUOTA, stopDelayMs: delayMs, startDelayMs: delayMs },
      { maxConcurrent: CONCURRENCY, perSecond: QUOTA, pollIntervalMs },
    );
    try {
      const rounds = countDescribeRounds(env.client());
      const m = await env.measure(async () => {
        const created = await provider.create(env.inputs(ids(1, n), { stopInstances: true, maxStoppedInstances }));
        return created.outs.attachedInstanceIds.length;
      });
      rounds.stop();
      const waves = Math.ceil(n / Math.min(maxStoppedInstances, n));
      rows.push({
        scenario: "2 stop-first",
        variant: "ours",
        n,
        latencyMs,
        calls: m.calls,
        retries: m.retries,
        wallMs: m.wallMs,
        // Each wave must wait out one stop and one start; the calls themselves go on top.
        lowerBoundMs: waves * 2 * delayMs,
        maxStopped: env.emu.stats().peakStopped,
        leftStopped: env.notRunning(),
        failures: n - m.value,
        extra: {
          label: `max ${maxStoppedInstances} stopped`,
          maxStoppedInstances,
          stopDelayMs: delayMs,
          startDelayMs: delayMs,
          pollIntervalMs,
          pollingRounds: rounds.count(),
          maxDescribePerRound: rounds.max(),
          expectedAttach: batches(n),
        },
      });
    } finally {
      await env.close();
    }
  }
  return rows;
}

/**
 * Every describeInstancesById call is one round of reading (the settle read before planning, then each polling
 * round of a wait): counts the DescribeInstances calls each one sends. Rounds run one at a time here (one resource).
 */
function countDescribeRounds(client: any) {
  const original = client.describeInstancesById;
  const perRound: number[] = [];
  client.describeInstancesById = async function (this: unknown, idList: readonly string[]) {
    const before = client.stats.calls.DescribeInstances ?? 0;
    const out = await original.call(client, idList);
    perRound.push((client.stats.calls.DescribeInstances ?? 0) - before);
    return out;
  };
  return { count: () => perRound.length, max: () => Math.max(0, ...perRound), stop: () => delete client.describeInstancesById };
}

/**
 * Scenario 2: attach to 300 Running instances with stopInstances, through the rolling window. Stops and starts take
 * 1000-3000 ms each, drawn per instance and transition (seeded), and the provider polls every 500 ms (--quick: all
 * ten times shorter). Rows:
 * - max 30 stopped: wall against n x (mean stop + mean start) / maxStoppedInstances, mean downtime, Attach calls;
 * - max 300 stopped: everything at once (the bound is then one slowest stop + one slowest start);
 * - regions: 300 instances in 10 edge regions, grouped by region in ID order, at most 30 down and 3 per region.
 * Also: DescribeInstances calls per polling round, the most instances stopped at once (overall and per region,
 * emulator peakStopped), instances left stopped afterwards.
 */
import { provider } from "../provider";
import { batches, BenchOptions, benchEnv, ids, Row } from "./lib";
import { CONCURRENCY, QUOTA } from "./scale";
import { ms, ratio } from "./table";

const RUNS = [
  { label: "max 30 stopped", maxStoppedInstances: 30 },
  { label: "max 300 stopped", maxStoppedInstances: 300 },
  { label: "10 regions, max 30 stopped, 3 per region", maxStoppedInstances: 30, maxStoppedPerRegion: 3, regions: 10 },
];

export async function stopFirst(o: BenchOptions): Promise<Row[]> {
  const n = 300;
  const latencyMs = 50;
  const scale = o.quick ? 0.1 : 1;
  const [minMs, maxMs] = [1000 * scale, 3000 * scale];
  const pollIntervalMs = 500 * scale;
  const meanMs = (minMs + maxMs) / 2;
  const rows: Row[] = [];
  for (const run of RUNS) {
    const { maxStoppedInstances, maxStoppedPerRegion, regions = 1 } = run;
    o.log(`stop-first n=${n} ${run.label}, stop/start ${minMs}-${maxMs} ms, poll ${pollIntervalMs} ms`);
    const delay = `${minMs}-${maxMs}`;
    const env = await benchEnv(
      { instances: n, regions, initialStatus: "Running", latencyMs, quotaPerSecond: QUOTA, stopDelayMs: delay, startDelayMs: delay, randomSeed: "bench-stop-first" },
      { maxConcurrent: CONCURRENCY, perSecond: QUOTA, pollIntervalMs },
    );
    try {
      const rounds = countDescribeRounds(env.client());
      const m = await env.measure(async () => {
        const created = await provider.create(env.inputs(ids(1, n), { stopInstances: true, maxStoppedInstances, ...(maxStoppedPerRegion ? { maxStoppedPerRegion } : {}) }));
        return created.outs.attachedInstanceIds.length;
      });
      rounds.stop();
      const stats = env.emu.stats();
      const window = Math.min(maxStoppedInstances, n);
      // n x (mean stop + mean start) / window; with everything at once, one slowest stop + one slowest start.
      const boundMs = Math.max(Math.round((n * 2 * meanMs) / window), window === n ? 2 * maxMs : 0);
      rows.push({
        scenario: "2 stop-first",
        variant: "ours",
        n,
        latencyMs,
        calls: m.calls,
        retries: m.retries,
        wallMs: m.wallMs,
        lowerBoundMs: boundMs,
        maxStopped: stats.peakStopped,
        leftStopped: env.notRunning(),
        failures: n - m.value,
        extra: {
          label: run.label,
          maxStoppedInstances,
          ...(maxStoppedPerRegion ? { maxStoppedPerRegion, regions, peakPerRegion: Math.max(...Object.values(stats.peakStoppedByRegion)), regionsTouched: Object.keys(stats.peakStoppedByRegion).length } : {}),
          stopDelayMs: delay,
          startDelayMs: delay,
          meanTransitionMs: meanMs,
          pollIntervalMs,
          pollingRounds: rounds.count(),
          maxDescribePerRound: rounds.max(),
          downtimeMeanMs: stats.downtime.mean,
          downtimeP95Ms: stats.downtime.p95,
          downtimeMaxMs: stats.downtime.max,
          downtimeCycles: stats.downtime.count,
        },
      });
    } finally {
      await env.close();
    }
  }
  return rows;
}

/** The targets of the rolling window (issue "stop-first as a rolling window" and "edge regions stay up"). */
export function stopFirstTargets(rows: Row[]): string[][] {
  const out: string[][] = [];
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
  for (const r of rows.filter((x) => x.scenario === "2 stop-first" && x.variant === "ours")) {
    const e = r.extra!;
    const max = Number(e.maxStoppedInstances);
    const lim = Math.ceil(r.n / 100);
    out.push([`DescribeInstances per polling round <= ceil(n/100) (${e.label})`, `${e.maxDescribePerRound} (limit ${lim})`, verdict(Number(e.maxDescribePerRound) <= lim)]);
    out.push([`never more than maxStoppedInstances stopped, 0 left (${e.label})`, `peak ${r.maxStopped}, left ${r.leftStopped}, failed ${r.failures}`, verdict(r.maxStopped! <= max && r.leftStopped === 0 && r.failures === 0)]);
    if (max >= r.n) continue;
    const b = r.wallMs / r.lowerBoundMs!;
    // With a bound per region that adds up to the global one, each region's instances go through its own slots one
    // after another: the wall is the slowest of those lanes, not the pooled mean the bound assumes.
    const lanes = e.maxStoppedPerRegion ? `; ${max} lanes (${e.regions} regions x ${e.maxStoppedPerRegion}) of ${r.n / max} instances in turn, so the wall is the slowest lane's, where the bound assumes the window pools them` : "";
    out.push([`wall <= 1.3x n x (mean stop + mean start) / maxStoppedInstances (${e.label})`, `${ms(r.wallMs)} vs ${ms(r.lowerBoundMs)}: ${b.toFixed(3)}x${lanes}`, verdict(b <= 1.3)]);
    if (e.maxStoppedPerRegion) {
      out.push([`peak per region = maxStoppedPerRegion ${e.maxStoppedPerRegion}, peak overall ${max} (${e.label})`, `per region ${e.peakPerRegion} (${e.regionsTouched} regions), overall ${r.maxStopped}`, verdict(Number(e.peakPerRegion) <= Number(e.maxStoppedPerRegion) && r.maxStopped! <= max)]);
      continue;
    }
    const downBound = 2 * Number(e.meanTransitionMs) + 2 * Number(e.pollIntervalMs);
    const d = Number(e.downtimeMeanMs) / downBound;
    out.push([`mean downtime <= 1.3x (mean stop + mean start + 2 polls) (${e.label})`, `${ms(Number(e.downtimeMeanMs))} vs ${ms(downBound)}: ${ratio(d)} (p95 ${ms(Number(e.downtimeP95Ms))}, max ${ms(Number(e.downtimeMaxMs))}, ${e.downtimeCycles} cycles)`, verdict(d <= 1.3)]);
    const attach = r.calls?.AttachKeyPair ?? 0;
    // Why: the window binds, each polling round, what reached Stopped since the last one. To carry k instances a call
    // on average, an instance would wait about (k - 1) / (2 x the rate instances reach Stopped) stopped before its
    // call, holding its slot that much longer.
    const limit = 2 * batches(r.n);
    const perCall = Math.ceil(r.n / limit);
    const stopsPerS = r.n / (r.wallMs / 1000);
    const holdS = (perCall - 1) / (2 * stopsPerS);
    const filledMs = r.wallMs + (r.n * holdS * 1000) / max;
    const why = `${(r.n / Math.max(attach, 1)).toFixed(1)} per call, about what reaches Stopped in one polling round at ${stopsPerS.toFixed(1)} a second; ${perCall} per call would hold each instance about ${holdS.toFixed(1)} s longer in its slot: about ${ms(filledMs)}, ${ratio(filledMs / r.lowerBoundMs!)} of the wall bound`;
    out.push([`Attach calls <= 2 x ceil(n/30) (${e.label})`, `${attach} (limit ${limit}): ${why}`, verdict(attach <= limit)]);
  }
  return out;
}

/**
 * Every describeInstancesById call is one round of reading (the settle read before planning, then each polling
 * round of the window): counts the DescribeInstances calls each one sends. Rounds run one at a time here (one resource).
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

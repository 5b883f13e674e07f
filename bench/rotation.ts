/**
 * Scenario 8: a key rotation of 3,000 Running instances, stop-first, maxStoppedInstances 100 (issue 16), as the
 * engine runs it: the new resource's create (same owner name), then the old resource's delete. Stops and starts take
 * 1000-3000 ms each (--quick: ten times shorter), polling every 500 ms (--quick: 50). Reports the wall time against the
 * rolling bound n x (mean stop + mean start) / maxStoppedInstances, each instance's stops (must be 1), the old delete's
 * binding and power calls (must be 0), and the calls per action, the protocol's (tags) apart.
 * Also a create of 3,000 Stopped instances: the protocol's calls and the wall against the all-calls bound.
 */
import { provider } from "../provider";
import { BenchOptions, benchEnv, callBound, ids, Row, sum } from "./lib";
import { CONCURRENCY, QUOTA } from "./scale";

const OWNER = "bench/prod/fleet";

export async function rotation(o: BenchOptions): Promise<Row[]> {
  const n = 3000;
  const latencyMs = 50;
  const scale = o.quick ? 0.1 : 1;
  const [minMs, maxMs] = [1000 * scale, 3000 * scale];
  const pollIntervalMs = 500 * scale;
  const maxStoppedInstances = 100;
  const rows: Row[] = [];
  const delay = `${minMs}-${maxMs}`;
  const env = await benchEnv(
    { instances: n, initialStatus: "Stopped", latencyMs, quotaPerSecond: QUOTA, stopDelayMs: delay, startDelayMs: delay, randomSeed: "bench-rotation" },
    { maxConcurrent: CONCURRENCY, perSecond: QUOTA, pollIntervalMs },
  );
  try {
    const next = env.emu.world.addKeyPair({ keyPairName: "bench-key-next" });
    const all = ids(1, n);
    o.log(`rotation: create of ${n} Stopped instances (the protocol's cost on a plain create)`);
    const plain = await env.measure(() => provider.create({ ...env.inputs(all), __owner: OWNER }));
    const plainCalls = sum(plain.calls);
    rows.push({
      scenario: "8 rotation",
      variant: "ours",
      n,
      latencyMs,
      calls: plain.calls,
      retries: plain.retries,
      wallMs: plain.wallMs,
      callsBoundMs: callBound(plainCalls, latencyMs, CONCURRENCY, QUOTA),
      extra: { label: "create, Stopped", protocolCalls: (plain.calls?.ListTagResources ?? 0) + (plain.calls?.TagResources ?? 0) + (plain.calls?.UntagResources ?? 0) },
    });
    for (const id of all) env.emu.world.setInstanceStatus(id, "Running");
    o.log(`rotation: ${n} Running instances to bench-key-next, stop-first, max ${maxStoppedInstances} stopped, stop/start ${delay} ms`);
    const old = plain.value;
    const m = await env.measure(async () => {
      const made = await provider.create({ ...env.inputs(all, { stopInstances: true, maxStoppedInstances }), keyPairId: next, __owner: OWNER });
      const mark = env.emu.journal().length;
      await provider.delete(old.id, old.outs);
      const deleteCalls = env.emu.journal().slice(mark).filter((j) => /^(Attach|Detach)KeyPair$|^St(op|art)Instances?$/.test(j.action)).length;
      return { made, deleteCalls };
    });
    const stops = new Map<string, number>();
    for (const j of env.emu.journal()) {
      if (j.action !== "StopInstances" || j.httpStatus !== 200) continue;
      const listed: string[] = j.params.InstanceIds?.startsWith("[") ? JSON.parse(j.params.InstanceIds) : j.params.InstanceIds?.split(",") ?? [];
      for (const id of listed) stops.set(id, (stops.get(id) ?? 0) + 1);
    }
    const stats = env.emu.stats();
    const meanMs = (minMs + maxMs) / 2;
    rows.push({
      scenario: "8 rotation",
      variant: "ours",
      n,
      latencyMs,
      calls: m.calls,
      retries: m.retries,
      wallMs: m.wallMs,
      lowerBoundMs: Math.round((n * 2 * meanMs) / maxStoppedInstances),
      maxStopped: stats.peakStopped,
      leftStopped: env.notRunning(),
      failures: n - m.value.made.outs.attachedInstanceIds.length,
      extra: {
        label: "rotation, Running, stop-first",
        maxStoppedInstances,
        stoppedOnce: [...stops.values()].filter((c) => c === 1).length,
        stoppedMoreThanOnce: [...stops.values()].filter((c) => c > 1).length,
        oldDeleteBindingOrPowerCalls: m.value.deleteCalls,
        protocolCalls: (m.calls?.ListTagResources ?? 0) + (m.calls?.TagResources ?? 0) + (m.calls?.UntagResources ?? 0),
        downtimeMeanMs: stats.downtime.mean,
        downtimeP95Ms: stats.downtime.p95,
        downtimeMaxMs: stats.downtime.max,
      },
    });
  } finally {
    await env.close();
  }
  return rows;
}

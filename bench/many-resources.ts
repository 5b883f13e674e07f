/**
 * Scenario 4: one provider process serves every resource of a stack at once. 50 attachments of 20 instances are
 * created, then all 50 updated together (each swaps 10 of its 20 instances: one Detach and one Attach call), as
 * 50 concurrent provider.update calls. They must share one budget: with the emulated quota equal to the
 * provider's default rate, nothing should be throttled.
 */
import { provider } from "../provider";
import { BenchOptions, benchEnv, callBound, ids, Row, sum } from "./lib";
import { QUOTA } from "./scale";

export async function manyResources(o: BenchOptions): Promise<Row[]> {
  const resources = 50;
  const size = 20;
  const swap = 10;
  const latencyMs = 50;
  o.log(`many resources: ${resources} x ${size} instances, updated concurrently`);
  // Instances 1..1000 are bound first; resource r then trades its first 10 for 10 fresh ones from 1001 on.
  const env = await benchEnv({ instances: resources * (size + swap), latencyMs, quotaPerSecond: QUOTA }, {});
  try {
    const before = ids(1, resources * size);
    const created = await Promise.all(
      Array.from({ length: resources }, (_, r) => provider.create(env.inputs(before.slice(r * size, (r + 1) * size)))),
    );
    const m = await env.measure(() =>
      Promise.all(
        created.map((c, r) => {
          const fresh = ids(resources * size + 1 + r * swap, swap);
          const news = env.inputs([...c.outs.instanceIds.slice(swap), ...fresh]);
          return provider.update(c.id, c.outs, news);
        }),
      ),
    );
    const bound = m.value.reduce((a, u) => a + u.outs.attachedInstanceIds.length, 0);
    const { maxConcurrentCalls, callsPerSecond } = env.settings();
    return [
      {
        scenario: "4 many-resources",
        variant: "ours",
        n: resources * size,
        latencyMs,
        calls: m.calls,
        retries: m.retries,
        wallMs: m.wallMs,
        lowerBoundMs: callBound(2 * resources, latencyMs, maxConcurrentCalls, QUOTA),
        callsBoundMs: callBound(sum(m.calls), latencyMs, maxConcurrentCalls, QUOTA),
        failures: resources * size - bound,
        extra: {
          resources,
          instancesPerResource: size,
          swappedPerResource: swap,
          quotaPerSecond: QUOTA,
          budgetPerSecond: callsPerSecond ?? 0,
          budgetConcurrent: maxConcurrentCalls,
          throttledAttempts: env.emu.journal().filter((j) => j.code === "Throttling.User").length,
          expectedAttach: resources,
          expectedDetach: resources,
        },
      },
    ];
  } finally {
    await env.close();
  }
}

/**
 * Scenario 3: ENS's quota below what the provider sends. The emulator allows 20 calls a second; the provider keeps
 * its default budget (16 in flight, 50 a second), so it gets throttled and must retry its way through. A second
 * row sets ENS_CALLS_PER_SECOND to the quota, to show what the throttling itself costs.
 */
import { provider } from "../provider";
import { batches, BenchOptions, benchEnv, callBound, ids, Row, sum } from "./lib";

export const THROTTLED_QUOTA = 20;

export async function throttled(o: BenchOptions): Promise<Row[]> {
  const n = o.quick ? 1500 : 3000;
  const latencyMs = 50;
  const rows: Row[] = [];
  for (const perSecond of [undefined, THROTTLED_QUOTA]) {
    o.log(`throttled n=${n}, emulated quota ${THROTTLED_QUOTA}/s, provider budget ${perSecond ? `${perSecond}/s` : "at defaults"}`);
    const env = await benchEnv({ instances: n, latencyMs, quotaPerSecond: THROTTLED_QUOTA }, { perSecond });
    try {
      const { maxConcurrentCalls, callsPerSecond } = env.settings();
      let failed = 0;
      const m = await env.measure(async () => {
        try {
          const created = await provider.create(env.inputs(ids(1, n)));
          failed += n - created.outs.attachedInstanceIds.length;
          await provider.delete(created.id, created.outs);
        } catch (e) {
          failed += (e as any).reasons?.length ?? n;
          o.log(`throttled: failed: ${String((e as Error).message).split("\n")[0]}`);
        }
      });
      rows.push({
        scenario: "3 throttled",
        variant: "ours",
        n,
        latencyMs,
        calls: m.calls,
        retries: m.retries,
        wallMs: m.wallMs,
        lowerBoundMs: 2 * callBound(batches(n), latencyMs, maxConcurrentCalls, THROTTLED_QUOTA),
        callsBoundMs: callBound(sum(m.calls), latencyMs, maxConcurrentCalls, THROTTLED_QUOTA),
        failures: failed,
        extra: {
          label: `budget ${callsPerSecond}/s`,
          quotaPerSecond: THROTTLED_QUOTA,
          budgetPerSecond: callsPerSecond ?? 0,
          budgetConcurrent: maxConcurrentCalls,
          throttledAttempts: env.emu.journal().filter((j) => j.code === "Throttling.User").length,
          expectedAttach: batches(n),
          expectedDetach: batches(n),
        },
      });
    } finally {
      await env.close();
    }
  }
  return rows;
}

/**
 * Scenario 3: ENS's quota below what the provider sends. The emulator allows 20 calls a second; the provider keeps
 * its defaults (16 in flight, at most 50 a second, adaptive), so it must learn the quota from ENS's throttling answers.
 * Against it: the same run with a fixed budget of 50/s (the provider before the adaptive rate: it retries its way
 * through), and with ENS_CALLS_PER_SECOND set to the quota (what the throttling itself costs).
 * Then the same n with no quota at all, provider at its defaults and with the fixed budget: adapting must cost nothing
 * when ENS never throttles.
 */
import { createBudget, provider } from "../provider";
import { batches, BenchEnv, BenchOptions, benchEnv, callBound, ids, Row, sum, Variant } from "./lib";

export const THROTTLED_QUOTA = 20;

export async function throttled(o: BenchOptions): Promise<Row[]> {
  const n = o.quick ? 1500 : 3000;
  const latencyMs = 50;
  const rows: Row[] = [];
  const runs: { quota?: number; perSecond?: number; variant: Variant }[] = [
    { quota: THROTTLED_QUOTA, variant: "ours" },
    { quota: THROTTLED_QUOTA, variant: "fixed-budget" },
    { quota: THROTTLED_QUOTA, perSecond: THROTTLED_QUOTA, variant: "ours" },
    { variant: "ours" },
    { variant: "fixed-budget" },
  ];
  for (const { quota, perSecond, variant } of runs) {
    const what = `${quota ? `emulated quota ${quota}/s` : "no quota"}, provider ${variant === "fixed-budget" ? "fixed budget" : "budget"} ${perSecond ? `${perSecond}/s` : "at defaults"}`;
    o.log(`throttled n=${n}, ${what}`);
    const env = await benchEnv({ instances: n, latencyMs, ...(quota ? { quotaPerSecond: quota } : {}) }, { perSecond });
    try {
      const { maxConcurrentCalls, callsPerSecond } = env.settings();
      let failed = 0;
      const m = await withBudget(env, variant, () =>
        env.measure(async () => {
          try {
            const created = await provider.create(env.inputs(ids(1, n)));
            failed += n - created.outs.attachedInstanceIds.length;
            await provider.delete(created.id, created.outs);
          } catch (e) {
            failed += (e as any).reasons?.length ?? n;
            o.log(`throttled: failed: ${String((e as Error).message).split("\n")[0]}`);
          }
        }),
      );
      const throttledAt = env.emu.journal().filter((j) => j.code === "Throttling.User").map((j) => Date.parse(j.at));
      // Without a quota the provider's ceiling (callsPerSecond) is the only rate limit.
      const rate = quota ?? callsPerSecond ?? Infinity;
      rows.push({
        scenario: quota ? "3 throttled" : "3 no quota",
        variant,
        n,
        latencyMs,
        calls: m.calls,
        retries: m.retries,
        wallMs: m.wallMs,
        lowerBoundMs: 2 * callBound(batches(n), latencyMs, maxConcurrentCalls, rate),
        callsBoundMs: callBound(sum(m.calls), latencyMs, maxConcurrentCalls, rate),
        failures: failed,
        extra: {
          label: `${variant === "fixed-budget" ? "fixed " : ""}budget ${callsPerSecond}/s`,
          ...(quota ? { quotaPerSecond: quota } : {}),
          budgetPerSecond: callsPerSecond ?? 0,
          budgetConcurrent: maxConcurrentCalls,
          adaptive: variant === "ours",
          throttledAttempts: throttledAt.length,
          // Sent before any rate was learnt, or in the rest of the quota second the first excess exhausted.
          throttledFirstSecond: throttledAt.filter((at) => at < throttledAt[0] + 1000).length,
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

/**
 * "fixed-budget": the provider's process-wide client runs under a budget that never adapts (16 in flight, at most
 * callsPerSecond), i.e. the provider as it was before the adaptive rate; bench-only, the client is put back after.
 */
async function withBudget<T>(env: BenchEnv, variant: Variant, fn: () => Promise<T>): Promise<T> {
  if (variant !== "fixed-budget") return fn();
  const client = env.client() as any;
  const s = env.settings();
  const own = client.budget;
  client.budget = createBudget({ maxConcurrent: s.maxConcurrentCalls, perSecond: s.callsPerSecond, adaptive: false });
  try {
    return await fn();
  } finally {
    client.budget = own;
  }
}

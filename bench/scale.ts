/**
 * Scenario 1: attach then detach n instances. Ours (provider create then delete) against two baselines in the
 * same process, on the same emulator: one AttachKeyPair/DetachKeyPair per instance in sequence, and batches of
 * 30 in sequence. Every variant sends through the same call budget (ENS_CALLS_PER_SECOND = the emulated quota).
 */
import { createBudget, EnsClient, provider } from "../provider";
import { batches, BATCH, BenchOptions, benchEnv, BenchEnv, callBound, ids, Row, sum } from "./lib";

export const QUOTA = 50; // emulated ENS quota per second = DEFAULT_BUDGET.perSecond, and the provider's budget
export const CONCURRENCY = 16; // DEFAULT_BUDGET.maxConcurrent

export async function scale(o: BenchOptions): Promise<Row[]> {
  const ns = o.quick ? [30, 300] : [30, 300, 3000];
  const rows: Row[] = [];
  for (const latencyMs of [0, 50]) {
    const env = await benchEnv({ instances: Math.max(...ns), latencyMs, quotaPerSecond: QUOTA }, { maxConcurrent: CONCURRENCY, perSecond: QUOTA });
    try {
      // Warm-up (not reported): JIT, the process-wide client, keep-alive sockets.
      await ours(env, ids(1, 60));
      await script(env, ids(1, 60), BATCH);
      for (const n of ns) {
        const bound = 2 * callBound(batches(n), latencyMs, CONCURRENCY, QUOTA);
        const row = (variant: Row["variant"], m: { wallMs: number; calls: Record<string, number>; retries: number }): Row => ({
          scenario: "1 scale",
          variant,
          n,
          latencyMs,
          calls: m.calls,
          retries: m.retries,
          wallMs: m.wallMs,
          lowerBoundMs: bound,
          callsBoundMs: callBound(sum(m.calls), latencyMs, variant === "ours" ? CONCURRENCY : 1, QUOTA),
          ...(variant === "ours" ? { extra: { expectedAttach: batches(n), expectedDetach: batches(n) } } : {}),
        });
        o.log(`scale n=${n} latency=${latencyMs}ms: ours`);
        rows.push(row("ours", await ours(env, ids(1, n))));
        o.log(`scale n=${n} latency=${latencyMs}ms: sequential batches of ${BATCH}`);
        rows.push(row("sequential-batches", await script(env, ids(1, n), BATCH)));
        const small = ns[ns.length - 2];
        if (n === Math.max(...ns) && !o.fullBaseline) {
          // One call per instance is linear in n: scale the measured run at the next smaller n (said in the output).
          const from = rows.find((r) => r.variant === "per-instance" && r.n === small && r.latencyMs === latencyMs)!;
          const k = n / small;
          const calls = Object.fromEntries(Object.entries(from.calls!).map(([a, c]) => [a, c * k]));
          rows.push({ ...row("per-instance", { wallMs: Math.round(from.wallMs * k), calls, retries: from.retries! * k }), extrapolatedFromN: small });
        } else {
          o.log(`scale n=${n} latency=${latencyMs}ms: one call per instance`);
          rows.push(row("per-instance", await script(env, ids(1, n), 1)));
        }
      }
    } finally {
      await env.close();
    }
  }
  return rows;
}

/** The provider as the engine drives it: create, then delete, through the process-wide client. */
async function ours(env: BenchEnv, instanceIds: string[]) {
  const m = await env.measure(async () => {
    const created = await provider.create(env.inputs(instanceIds));
    if (created.outs.attachedInstanceIds.length !== instanceIds.length) throw new Error("create did not attach every instance");
    await provider.delete(created.id, created.outs);
  });
  assertNoneBound(env);
  return m;
}

/** What a hand-written script does: AttachKeyPair then DetachKeyPair, `size` IDs per call, one call at a time. */
async function script(env: BenchEnv, instanceIds: string[], size: number) {
  const s = env.settings();
  const client = new EnsClient({ endpoint: s.endpoint, credentials: s.credentials, budget: createBudget({ maxConcurrent: s.maxConcurrentCalls, perSecond: s.callsPerSecond }) });
  const key = { keyPairId: env.keyPairId };
  const m = await env.measure(async () => {
    for (let i = 0; i < instanceIds.length; i += size) await client.attachKeyPair(key, instanceIds.slice(i, i + size));
    for (let i = 0; i < instanceIds.length; i += size) await client.detachKeyPair(key, instanceIds.slice(i, i + size));
  }, () => client.stats.retries);
  assertNoneBound(env);
  return m;
}

function assertNoneBound(env: BenchEnv) {
  const left = env.emu.state().instances.filter((i) => i.keyPairName).length;
  if (left) throw new Error(`${left} instance(s) still carry a key pair after detach`);
}

/**
 * Load at the provider, with the provider's default call budget (50 calls/s, 16 in flight) against an emulator that
 * enforces a per-second request quota: one resource of 3,000 instances, and 50 resources updated concurrently in one
 * process (as the engine does in one stack: one provider process serves them all). Nothing may fail from throttling and
 * nothing may be lost. Quota slightly above the budget: no throttling at all; slightly below: throttled calls retried.
 */
import { JournalEntry } from "../../emulator";
import { DEFAULT_BUDGET } from "../../provider";
import { checked } from "../helpers/provider-env";
import { boundTo, ids } from "../helpers/rel-emu";
import { observe, relProvider, RelEnv } from "../helpers/rel-provider";
import { summarizeScans } from "../helpers/rel-secrets";
import { summarize } from "../helpers/rel-summary";

jest.setTimeout(240_000);

const PROVIDER_DEFAULTS = { ENS_CALLS_PER_SECOND: undefined, ENS_MAX_CONCURRENT_CALLS: undefined };
const QUOTAS = [DEFAULT_BUDGET.perSecond! + 10, DEFAULT_BUDGET.perSecond! - 5];

/** The most calls that arrived within one of the emulator's one-second quota windows. */
const peakPerSecond = (entries: JournalEntry[]) => {
  const perSecond = new Map<number, number>();
  for (const e of entries) {
    const s = Math.floor(Date.parse(e.at) / 1000);
    perSecond.set(s, (perSecond.get(s) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
};

afterAll(() => summarizeScans("load"));

describe.each(QUOTAS)("emulator quota %i calls/s, provider budget at its default", (quota) => {
  let env: RelEnv;
  beforeAll(async () => {
    const keyPairs = Array.from({ length: 51 }, (_, i) => ({ keyPairName: `load-key-${i}` }));
    env = await relProvider({ instances: 4000, quotaPerSecond: quota, seed: { keyPairs } }, PROVIDER_DEFAULTS);
  });
  afterAll(() => env.close());
  const keyId = (i: number) => env.emu.state().keyPairs.find((k) => k.keyPairName === `load-key-${i}`)!.keyPairId;

  it("one resource of 3,000 instances: create and delete, nothing lost, no failure from throttling", async () => {
    const all = ids(1, 3000);
    const inputs = await checked(env, { keyPairId: keyId(50), instanceIds: all });
    const created = await observe(env, () => env.provider.create(inputs));
    const createdPeak = peakPerSecond(env.cursor.entries());
    summarize("load", { case: "1 x 3000 create", quota, outcome: created.ok ? "converged" : "error", wallMs: created.ms, calls: created.calls, throttled: created.faults["Throttling.User"] ?? 0, retries: created.retries, peakCallsInOneSecond: createdPeak });
    expect(created.error).toBeUndefined();
    expect(created.value!.outs.attachedInstanceIds).toHaveLength(3000);
    expect(boundTo(env.emu, "load-key-50")).toEqual(all);
    expect(env.cursor.batches("AttachKeyPair")).toHaveLength(100);

    const deleted = await observe(env, () => env.provider.delete(created.value!.id, created.value!.outs));
    summarize("load", { case: "1 x 3000 delete", quota, outcome: deleted.ok ? "done" : "error", wallMs: deleted.ms, calls: deleted.calls, throttled: deleted.faults["Throttling.User"] ?? 0, retries: deleted.retries, peakCallsInOneSecond: peakPerSecond(env.cursor.entries()) });
    expect(deleted.error).toBeUndefined();
    expect(boundTo(env.emu, "load-key-50")).toEqual([]);
    if (quota > DEFAULT_BUDGET.perSecond!) expect(created.faults["Throttling.User"] ?? 0).toBe(0);
  });

  it("50 resources created, then updated, concurrently in one provider process: every one converges, nothing lost", async () => {
    const R = 50;
    const before = (r: number) => ids(1 + r * 60, 60);
    const after = (r: number) => [...before(r).slice(20), ...ids(3001 + r * 20, 20)];
    const createInputs = await Promise.all(Array.from({ length: R }, (_, r) => checked(env, { keyPairId: keyId(r), instanceIds: before(r) })));
    const created = await observe(env, () => Promise.all(createInputs.map((i) => env.provider.create(i))));
    summarize("load", { case: "50 x 60 concurrent create", quota, outcome: created.ok ? "converged" : "error", wallMs: created.ms, calls: created.calls, throttled: created.faults["Throttling.User"] ?? 0, retries: created.retries, peakCallsInOneSecond: peakPerSecond(env.cursor.entries()) });
    expect(created.error).toBeUndefined();

    const updateInputs = await Promise.all(Array.from({ length: R }, (_, r) => checked(env, { keyPairId: keyId(r), instanceIds: after(r) }, createInputs[r])));
    const updated = await observe(env, () => Promise.all(created.value!.map((c, r) => env.provider.update(c.id, c.outs, updateInputs[r]))));
    summarize("load", { case: "50 x (20 out, 20 in) concurrent update", quota, outcome: updated.ok ? "converged" : "error", wallMs: updated.ms, calls: updated.calls, throttled: updated.faults["Throttling.User"] ?? 0, retries: updated.retries, peakCallsInOneSecond: peakPerSecond(env.cursor.entries()) });
    expect(updated.error).toBeUndefined();
    for (let r = 0; r < R; r++) {
      expect(updated.value![r].outs.attachedInstanceIds).toEqual([...after(r)].sort());
      expect(boundTo(env.emu, `load-key-${r}`)).toEqual([...after(r)].sort());
    }
    expect(env.cursor.touched("DetachKeyPair")).toHaveLength(R * 20);
    expect(env.cursor.touched("AttachKeyPair")).toHaveLength(R * 20);
    if (quota > DEFAULT_BUDGET.perSecond!) expect(updated.faults["Throttling.User"] ?? 0).toBe(0);

    await Promise.all(updated.value!.map((u, r) => env.provider.delete(created.value![r].id, u.outs)));
  });
});

/**
 * Fault matrix at the provider: create, update and delete of 300 instances under each fault. Every operation must end
 * either converged or with a clear error, and what it reports must be what ENS (the emulator) really has; once the
 * fault is gone a re-run converges with calls for what is missing only. Figures go to the reliability summary.
 */
import { Faults } from "../../emulator";
import { boundTo, ids, keyPairIdOf, latencySpikes, notRunning, sumValues, waitUntil } from "../helpers/rel-emu";
import { checked } from "../helpers/provider-env";
import { failedIds, observe, Outcome, relProvider, RelEnv, stateAfter } from "../helpers/rel-provider";
import { summarizeScans } from "../helpers/rel-secrets";
import { summarize } from "../helpers/rel-summary";

// Under 30% random throttling the learnt rate settles near 1.5 calls/s, and a stop-first run of 300 takes the
// protocol's tag reads around every step (provider/protocol): measured 105-261 s per operation.
jest.setTimeout(480_000);

const N = 300;
const SHIFT = 100; // the update drops the first 100 and adds 100 new ones
const MAX_STOPPED = 100;
const KEY = "rel-key";
const SPIKE_MS = 1200;

interface Case {
  name: string;
  faults?: Faults;
  spikes?: boolean;
  /** Per-instance failures on these offsets of the operation's instances (create: of A, update: of the changed ones). */
  instanceFailures?: number;
  stopFirst?: boolean;
  /** Every operation must converge (transient faults alone, whose retries cannot plausibly run out). */
  mustConverge: boolean;
}

const CASES: Case[] = [
  { name: "throttling 30%", faults: { throttleRate: 0.3 }, mustConverge: true },
  { name: "server errors 10%", faults: { errorRate: 0.1 }, mustConverge: true },
  { name: "dropped connections 5%", faults: { dropRate: 0.05 }, mustConverge: true },
  { name: "latency spikes (1.2 s)", faults: { latencyMs: 5 }, spikes: true, mustConverge: true },
  { name: "all of the above", faults: { throttleRate: 0.3, errorRate: 0.1, dropRate: 0.05 }, spikes: true, mustConverge: false },
  { name: "per-instance failures", instanceFailures: 7, mustConverge: false },
  { name: "all faults, stop-first", faults: { throttleRate: 0.3, errorRate: 0.1, dropRate: 0.05 }, stopFirst: true, mustConverge: false },
];

let env: RelEnv;
let keyPairId: string;

beforeAll(async () => {
  env = await relProvider({ instances: (CASES.length + 2) * (N + SHIFT), stopDelayMs: 20, startDelayMs: 20, randomSeed: "rel-fault-matrix", seed: { keyPairs: [{ keyPairName: KEY }] } });
  keyPairId = keyPairIdOf(env.emu, KEY);
});
afterAll(async () => {
  summarizeScans("fault-matrix");
  await env?.close();
});

const totals = { operations: 0, faultsInjected: 0, retries: 0, converged: 0, clearErrors: 0 };

/** Runs `op` under the case's faults, then lifts them. */
async function underFaults<T>(c: Case, failing: string[], op: () => Promise<T>): Promise<Outcome<T>> {
  const instanceFailures = Object.fromEntries(failing.map((id, i) => [id, { code: i % 2 ? "NoPermission" : "Instance.Locked", message: `injected failure ${i}` }]));
  env.emu.setFaults({ ...(c.faults ?? {}), ...(failing.length ? { instanceFailures } : {}) });
  const stopSpikes = c.spikes ? latencySpikes(env.emu, { periodMs: 250, lengthMs: 60, spikeMs: SPIKE_MS }) : undefined;
  try {
    const o = await observe(env, op);
    // At least one call was held up by a spike (the first one starts with the operation).
    if (c.spikes) expect(o.ms).toBeGreaterThanOrEqual(SPIKE_MS);
    return o;
  } finally {
    stopSpikes?.();
    env.emu.setFaults({});
  }
}

function record(c: Case, op: string, o: Outcome<unknown>, rerunCalls?: number) {
  totals.operations++;
  totals.faultsInjected += sumValues(o.faults);
  totals.retries += o.retries;
  if (o.ok) totals.converged++;
  else totals.clearErrors++;
  summarize("fault-matrix", { case: c.name, op, outcome: o.ok ? "converged" : "error", wallMs: o.ms, calls: o.calls, retries: o.retries, faults: o.faults, failedInstances: o.ok ? 0 : failedIds(o.error).length, rerunBindingCalls: rerunCalls ?? "-" });
}

/** A failed operation's error: one line per instance, each naming the instance, the action, the code and a message. */
function expectClearError(error: any) {
  expect(error).toBeInstanceOf(Error);
  expect(error.message).toMatch(/instance operation\(s\) failed|could not detach key pair/);
  for (const line of error.reasons ?? error.message.split("\n").slice(1)) {
    expect(line).toMatch(/^i-[A-Za-z0-9]+: ((AttachKeyPair|DetachKeyPair|StopInstances|StartInstances) failed: [\w.]+: .+|stopped by this operation but not Running again .+)$/);
  }
}

/** The stop-first promises: nothing left stopped, the bound never exceeded. */
function expectPowerRestored(c: Case, scope: string[]) {
  if (!c.stopFirst) return;
  expect(notRunning(env.emu, scope)).toEqual([]);
  expect(env.emu.stats().peakStopped).toBeLessThanOrEqual(MAX_STOPPED);
}

describe.each(CASES.map((c, i) => [c.name, c, i] as const))("%s", (_name, c, index) => {
  const all = ids(1 + index * (N + SHIFT), N + SHIFT);
  const A = all.slice(0, N);
  const B = all.slice(SHIFT);
  const inScope = () => boundTo(env.emu, KEY).filter((id) => all.includes(id));
  const opts = c.stopFirst ? { stopInstances: true, maxStoppedInstances: MAX_STOPPED } : {};
  let id: string;
  let state: Record<string, any>;

  beforeAll(() => {
    if (c.stopFirst) for (const i of all) env.emu.world.setInstanceStatus(i, "Running");
  });

  it("create: converged or a clear error with the true state; the re-run attaches only what is missing", async () => {
    const inputs = await checked(env, { keyPairId, instanceIds: A, ...opts });
    const failing = c.instanceFailures ? [A[3], A[77], A[150], A[151], A[200], A[298], A[299]] : [];
    const o = await underFaults(c, failing, () => env.provider.create(inputs));
    if (c.mustConverge) expect(o.error).toBeUndefined();
    if (failing.length) expect(failedIds(o.error)).toEqual([...failing].sort());
    if (!o.ok) {
      expectClearError(o.error);
      expect(o.error.id).toMatch(/^ssh-[0-9a-f]+:att-[0-9a-f]{8}$/);
    }
    id = o.ok ? o.value!.id : o.error.id;
    state = stateAfter(o, {});
    expect(state.attachedInstanceIds).toEqual(inScope());
    expect([...inScope(), ...(o.ok ? [] : failedIds(o.error))].sort()).toEqual([...A].sort());
    expectPowerRestored(c, all);

    const missing = A.filter((i) => !inScope().includes(i)).sort();
    const rerun = await observe(env, () => env.provider.update(id, state, inputs));
    record(c, "create", o, env.cursor.batches("AttachKeyPair").length);
    expect(rerun.error).toBeUndefined();
    expect(env.cursor.touched("AttachKeyPair")).toEqual(missing);
    expect(env.cursor.touched("DetachKeyPair")).toEqual([]);
    state = rerun.value!.outs;
    expect(state.attachedInstanceIds).toEqual([...A].sort());
    expect(inScope()).toEqual([...A].sort());
  });

  it("update (100 out, 100 in): converged or a clear error with the true state; the re-run changes only what is missing", async () => {
    const inputs = await checked(env, { keyPairId, instanceIds: B, ...opts }, state);
    const failing = c.instanceFailures ? [A[0], A[50], A[99], B[B.length - 1], B[B.length - 50], B[B.length - 51], B[B.length - 100]] : [];
    const o = await underFaults(c, failing, () => env.provider.update(id, state, inputs));
    if (c.mustConverge) expect(o.error).toBeUndefined();
    if (failing.length) expect(failedIds(o.error)).toEqual([...failing].sort());
    if (!o.ok) expectClearError(o.error);
    state = stateAfter(o, state);
    expect(state.attachedInstanceIds).toEqual(inScope());
    expectPowerRestored(c, all);

    const bound = inScope();
    const rerun = await observe(env, () => env.provider.update(id, state, inputs));
    record(c, "update", o, env.cursor.batches("AttachKeyPair").length + env.cursor.batches("DetachKeyPair").length);
    expect(rerun.error).toBeUndefined();
    expect(env.cursor.touched("AttachKeyPair")).toEqual(B.filter((i) => !bound.includes(i)).sort());
    expect(env.cursor.touched("DetachKeyPair")).toEqual(bound.filter((i) => !B.includes(i)).sort());
    state = rerun.value!.outs;
    expect(inScope()).toEqual([...B].sort());
  });

  it("delete: done or a clear error naming exactly what is still bound; the re-run detaches only that", async () => {
    const failing = c.instanceFailures ? [B[1], B[2], B[100], B[101], B[102], B[250], B[299]] : [];
    const o = await underFaults(c, failing, () => env.provider.delete(id, state));
    if (c.mustConverge) expect(o.error).toBeUndefined();
    const stillBound = inScope();
    if (o.ok) expect(stillBound).toEqual([]);
    else {
      expectClearError(o.error);
      const named = [...o.error.message.matchAll(/^(i-[A-Za-z0-9]+): DetachKeyPair failed/gm)].map((m: RegExpMatchArray) => m[1]).sort();
      expect(named).toEqual(stillBound);
      if (failing.length) expect(named).toEqual([...failing].sort());
    }
    expectPowerRestored(c, all);

    const rerun = await observe(env, () => env.provider.delete(id, state));
    record(c, "delete", o, env.cursor.batches("DetachKeyPair").length);
    expect(rerun.error).toBeUndefined();
    expect(env.cursor.touched("DetachKeyPair")).toEqual(stillBound);
    expect(env.cursor.touched("AttachKeyPair")).toEqual([]);
    expect(inScope()).toEqual([]);
    expectPowerRestored(c, all);
  });
});

describe("key pair deleted behind our back", () => {
  const base = CASES.length * (N + SHIFT);
  const A = ids(1 + base, N);
  const B = ids(1 + base + SHIFT, N);
  const inScope = () => boundTo(env.emu, KEY).filter((id) => A.includes(id) || B.includes(id));
  const restoreKey = () => env.emu.world.addKeyPair({ keyPairName: KEY, keyPairId });

  it("before create or update: one clear error naming keyPairId and the fix, no change at all; after it is back, the re-run converges", async () => {
    env.emu.world.deleteKeyPair(KEY);
    const inputsA = { stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300, keyPairId, instanceIds: A };
    const created = await observe(env, () => env.provider.create(inputsA));
    record({ name: "key pair deleted before", mustConverge: false }, "create", created);
    expect(created.error?.message).toMatch(new RegExp(`^keyPairId: ENS has no key pair "${keyPairId}".*create or import it first, or fix keyPairId\\. Nothing was changed\\.$`));
    expect(env.cursor.mutating()).toEqual([]);
    restoreKey();
    const { id, outs } = await env.provider.create(inputsA);
    expect(inScope()).toEqual([...A].sort());

    env.emu.world.deleteKeyPair(KEY);
    const inputsB = { ...inputsA, instanceIds: B };
    const updated = await observe(env, () => env.provider.update(id, outs, inputsB));
    record({ name: "key pair deleted before", mustConverge: false }, "update", updated);
    expect(updated.error?.message).toMatch(/^keyPairId: ENS has no key pair .*Nothing was changed\.$/);
    expect(env.cursor.mutating()).toEqual([]);
    expect(inScope()).toEqual([...A].sort());
    restoreKey();
    const rerun = await observe(env, () => env.provider.update(id, outs, inputsB));
    expect(env.cursor.touched("AttachKeyPair")).toEqual(B.filter((i) => !A.includes(i)).sort());
    expect(env.cursor.touched("DetachKeyPair")).toEqual(A.filter((i) => !B.includes(i)).sort());
    expect(rerun.value?.outs.attachedInstanceIds).toEqual([...B].sort());

    // Delete with the key pair gone but its name still on the instances (ENS allows deleting a bound key pair):
    // not "nothing is bound". The provider tries DetachKeyPair by name; the emulator cannot resolve a deleted name
    // (its choice), so the delete fails naming every instance, and the resource stays.
    env.emu.world.deleteKeyPair(KEY);
    const refused = await observe(env, () => env.provider.delete(id, rerun.value!.outs));
    record({ name: "key pair deleted before", mustConverge: false }, "delete", refused);
    expectClearError(refused.error);
    expect([...refused.error.message.matchAll(/^(i-[A-Za-z0-9]+): DetachKeyPair failed/gm)].map((m: RegExpMatchArray) => m[1]).sort()).toEqual([...B].sort());
    expect(inScope()).toEqual([...B].sort());
    // Once no instance carries the name, the delete is done without a call.
    for (const i of B) env.emu.world.setInstanceKey(i, undefined);
    const deleted = await observe(env, () => env.provider.delete(id, rerun.value!.outs));
    expect(deleted.error).toBeUndefined();
    // No binding call; only the resource's owner tags go (a claim left behind would hold the instances).
    expect(env.cursor.mutating().map((j: { action: string }) => j.action).filter((a: string) => a !== "UntagResources")).toEqual([]);
    expect(env.emu.state().instances.filter((i) => B.includes(i.instanceId) && i.tags["pulumi-ens-keypair:owner"])).toEqual([]);
    expect(env.logs.some((l) => l.includes(`key pair ${keyPairId} no longer exists in ENS and none of the ${B.length} instance(s) carries its name`))).toBe(true);
    restoreKey();
  });

  it("during create: the instances done before it went are reported as attached, the rest fail by name; after it is back, the re-run attaches only the rest", async () => {
    env.emu.setFaults({ latencyMs: 15 });
    const inputs = await checked(env, { keyPairId, instanceIds: A });
    env.cursor.mark();
    const pending = observe(env, () => env.provider.create(inputs));
    await waitUntil(() => env.cursor.batches("AttachKeyPair").length >= 1, 30_000, "the first AttachKeyPair", 1);
    env.emu.world.deleteKeyPair(KEY);
    const o = await pending;
    env.emu.setFaults({});
    record({ name: "key pair deleted during", mustConverge: false }, "create", o);
    expect(o.ok).toBe(false);
    expectClearError(o.error);
    expect(o.error.reasons.every((r: string) => r.includes("InvalidKeyPair.NotFound"))).toBe(true);
    const carrying = inScope(); // instances keep the (dangling) name of the deleted key pair
    expect(carrying.length).toBeGreaterThan(0);
    expect(o.error.properties.attachedInstanceIds).toEqual(carrying);
    expect([...carrying, ...failedIds(o.error)].sort()).toEqual([...A].sort());

    restoreKey();
    const rerun = await observe(env, () => env.provider.update(o.error.id, o.error.properties, inputs));
    expect(rerun.error).toBeUndefined();
    expect(env.cursor.touched("AttachKeyPair")).toEqual(failedIds(o.error));
    expect(inScope()).toEqual([...A].sort());
    await env.provider.delete(o.error.id, rerun.value!.outs);
  });
});

afterAll(() => summarize("fault-matrix-totals", totals));

/**
 * The main fault cases through the real `pulumi up` / `pulumi destroy` (slow: run by `npm run test:reliability`).
 * 300 instances created, updated (100 out, 100 in) and destroyed under each fault; each run ends converged or with a
 * clear error, the exported stack state agrees with ENS, and a re-run without the fault touches only what is missing.
 * Plus one `pulumi up` of 50 resources against a request quota.
 */
import { Faults } from "../../../emulator";
import { boundTo, ids, JournalCursor, latencySpikes, sumValues } from "../../helpers/rel-emu";
import { summarizeScans } from "../../helpers/rel-secrets";
import { MANY_PROGRAM, relStack, RelE2E } from "../../helpers/rel-stack";
import { summarize } from "../../helpers/rel-summary";

jest.setTimeout(600_000);

const A = ids(1, 300);
const B = ids(101, 300);

const CASES: [string, Faults, boolean][] = [
  ["throttling 30%, server errors 10%, dropped connections 5%, latency spikes", { throttleRate: 0.3, errorRate: 0.1, dropRate: 0.05 }, true],
  ["per-instance failures", { instanceFailures: Object.fromEntries([A[5], A[150], B[299], A[0]].map((id) => [id, { code: "NoPermission", message: "Permission denied." }])) }, false],
];

afterAll(() => summarizeScans("e2e-faults"));

describe.each(CASES)("%s", (name, faults, spikes) => {
  let t: RelE2E;
  beforeAll(async () => {
    t = await relStack({ instances: 420, randomSeed: `e2e-${name}` });
  });
  afterAll(async () => {
    t.stack.scanFiles();
    await t.close();
  });

  /** One CLI run under the faults; then the faults are lifted. */
  async function underFaults(args: string[]) {
    const cursor = new JournalCursor(t.emu);
    t.emu.setFaults(faults);
    const stop = spikes ? latencySpikes(t.emu, { periodMs: 2000, lengthMs: 150, spikeMs: 1500 }) : undefined;
    const t0 = Date.now();
    const r = await t.stack.run(args, { allowFailure: true });
    stop?.();
    t.emu.setFaults({});
    return { r, ms: Date.now() - t0, faults: cursor.faults(), calls: cursor.calls() };
  }

  /** The exported state's view of what is bound (none when the resource is not in the state). */
  const exported = async () => (await t.stack.exportResources()).resources[0]?.outputs?.attachedInstanceIds ?? [];

  async function step(op: string, args: string[], wanted: string[]) {
    const o = await underFaults(args);
    const shown = o.r.stdout + o.r.stderr;
    const bound = boundTo(t.emu, "rel-key");
    if (o.r.code !== 0) {
      // A clear error: every failed instance by name, action and code.
      expect(shown).toMatch(/i-emu\d+: (AttachKeyPair|DetachKeyPair|StopInstances) failed: [\w.]+: /);
    }
    if (o.r.code !== 0 && args[0] === "destroy") {
      // A failed delete cannot hand the engine a partial state: the resource stays as it was (so that the next
      // destroy runs), and the error names exactly the instances still bound.
      expect((await exported()).length).toBeGreaterThan(0);
      const named = [...shown.matchAll(/(i-emu\d+): DetachKeyPair failed/g)].map((m) => m[1]);
      expect([...new Set(named)].sort()).toEqual(bound);
    } else expect(await exported()).toEqual(bound);
    const cursor = new JournalCursor(t.emu);
    const rerun = await t.stack.run(args);
    summarize("e2e-faults", { case: name, op, exit: o.r.code, wallMs: o.ms, calls: o.calls, faults: o.faults, faultsInjected: sumValues(o.faults), rerunMs: t.stack.runs.at(-1)!.ms });
    expect(rerun.code).toBe(0);
    expect(cursor.touched("AttachKeyPair")).toEqual(wanted.filter((i) => !bound.includes(i)).sort());
    expect(cursor.touched("DetachKeyPair")).toEqual(bound.filter((i) => !wanted.includes(i)).sort());
    expect(boundTo(t.emu, "rel-key")).toEqual([...wanted].sort());
  }

  it("pulumi up (create 300)", async () => {
    t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: A });
    await step("up: create", ["up", "--yes", "--skip-preview"], A);
  });

  it("pulumi up (update: 100 out, 100 in)", async () => {
    t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: B });
    await step("up: update", ["up", "--yes", "--skip-preview"], B);
  });

  it("pulumi destroy", async () => {
    await step("destroy", ["destroy", "--yes", "--skip-preview"], []);
    expect((await t.stack.exportResources()).resources).toEqual([]);
  });
});

describe("one pulumi up of 50 resources against a request quota", () => {
  it.each([60, 45])("quota %i calls/s (provider budget 50/s): every resource converges, none fails from throttling", async (quota) => {
    const keyPairs = Array.from({ length: 50 }, (_, i) => ({ keyPairName: `many-${i}` }));
    const t = await relStack({ program: MANY_PROGRAM, instances: 3000, quotaPerSecond: quota, seed: { keyPairs } });
    try {
      const keyId = (i: number) => t.emu.state().keyPairs.find((k) => k.keyPairName === `many-${i}`)!.keyPairId;
      const resources = Array.from({ length: 50 }, (_, r) => ({ keyPairId: keyId(r), instanceIds: ids(1 + r * 60, 60) }));
      t.stack.writeConfig({ resources });
      const cursor = new JournalCursor(t.emu);
      const up = await t.stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
      summarize("e2e-load", { case: "pulumi up, 50 resources x 60", quota, exit: up.code, wallMs: t.stack.runs.at(-1)!.ms, calls: cursor.calls(), throttled: cursor.faults()["Throttling.User"] ?? 0 });
      expect(up.code).toBe(0);
      for (let r = 0; r < 50; r++) expect(boundTo(t.emu, `many-${r}`)).toEqual(resources[r].instanceIds);
      const exported = (await t.stack.exportResources()).resources;
      expect(exported).toHaveLength(50);
      const destroy = await t.stack.run(["destroy", "--yes", "--skip-preview"]);
      expect(destroy.code).toBe(0);
      expect(t.emu.state().instances.filter((i) => i.keyPairName)).toEqual([]);
      t.stack.scanFiles();
    } finally {
      await t.close();
    }
  });
});

import { boundTo, E2E, e2eStack } from "../helpers/e2e-env";

/** The real engine (pulumi CLI built from Go modules) driving the package installed from npm pack. */
jest.setTimeout(300000);

describe("pulumi up / preview / update / refresh / destroy", () => {
  let t: E2E;
  beforeAll(async () => {
    t = await e2eStack();
  });
  afterAll(() => t.close());

  it("up binds 95 instances with 4 AttachKeyPair calls and records them in the state", async () => {
    const ids = t.ids(1, 95);
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids });
    t.mark();
    await t.stack.run(["up", "--yes"]);
    expect(t.calls("AttachKeyPair").map((b) => b.length).sort((a, b) => b - a)).toEqual([30, 30, 30, 5]);
    expect(boundTo(t.emu, "e2e-key")).toEqual(ids);
    const out = await t.stack.outputs();
    expect(out).toMatchObject({ keyPairName: "e2e-key", attachedCount: 95 });
    const { resource } = await t.stack.exportState();
    expect(resource.id).toMatch(new RegExp(`^${t.keyPairId}:att-[0-9a-f]{8}$`));
    expect(resource.outputs.attachedInstanceIds).toEqual(ids);
    expect(Buffer.byteLength(resource.inputs.__provider)).toBeLessThan(1024);
  });

  it("a second up with nothing changed makes no key pair call", async () => {
    t.mark();
    const r = await t.stack.run(["up", "--yes"]);
    expect(t.calls("AttachKeyPair")).toHaveLength(0);
    expect(r.stdout).toMatch(/2 unchanged/);
    expect(r.stdout).not.toMatch(/to update|to create|to replace/);
  });

  it("preview of a changed instance set shows an in-place update and changes nothing", async () => {
    await t.stack.config({ instanceIds: [...t.ids(46, 50), ...t.ids(101, 10)] });
    t.mark();
    const r = await t.stack.run(["preview", "--diff"]);
    expect(r.stdout).toMatch(/~ .*pulumi-nodejs:dynamic\/ens:KeyPairAttachment|1 to update/);
    expect(r.stdout).toContain("1 to update");
    expect(r.stdout).not.toMatch(/to replace|\+- /);
    expect(t.calls("AttachKeyPair")).toHaveLength(0);
    expect(t.calls("DetachKeyPair")).toHaveLength(0);
  });

  it("up of that change detaches the 45 removed (2 calls) and attaches the 10 added (1 call)", async () => {
    t.mark();
    await t.stack.run(["up", "--yes"]);
    expect(t.calls("DetachKeyPair").map((b) => b.length).sort((a, b) => b - a)).toEqual([30, 15]);
    expect(t.calls("DetachKeyPair").flat().sort()).toEqual(t.ids(1, 45));
    expect(t.calls("AttachKeyPair")).toEqual([t.ids(101, 10)]);
    expect(boundTo(t.emu, "e2e-key")).toEqual([...t.ids(46, 50), ...t.ids(101, 10)].sort());
  });

  it("refresh notices an instance detached behind our back, and the next up re-attaches only it", async () => {
    const [victim] = t.ids(50, 1);
    t.emu.world.setInstanceKey(victim, undefined);
    const refreshed = await t.stack.run(["refresh", "--yes"]);
    // A refresh binds nothing: no "plan: attach 1" (issue 18, item 4); it says what it found.
    expect(refreshed.stdout).not.toMatch(/plan: /);
    expect(refreshed.stdout).toContain(`KeyPairAttachment 'fleet': refresh records what ENS has; the next pulumi up would: attach 1 (${victim}) in 1 call(s); 59 unchanged`);
    const { resource } = await t.stack.exportState();
    expect(resource.outputs.attachedInstanceIds).not.toContain(victim);
    expect(resource.outputs.attachedInstanceIds).toHaveLength(59);
    t.mark();
    await t.stack.run(["up", "--yes"]);
    expect(t.calls("AttachKeyPair")).toEqual([[victim]]);
    expect((await t.stack.outputs()).attachedCount).toBe(60);
  });

  it("destroy detaches everything with ceil(60/30) = 2 DetachKeyPair calls", async () => {
    t.mark();
    await t.stack.run(["destroy", "--yes"]);
    expect(t.calls("DetachKeyPair").map((b) => b.length)).toEqual([30, 30]);
    expect(boundTo(t.emu, "e2e-key")).toEqual([]);
    const { resource } = await t.stack.exportState();
    expect(resource).toBeUndefined();
  });
});

describe("stop first", () => {
  it("stops at most maxStoppedInstances at once and leaves every instance running", async () => {
    const t = await e2eStack({ initialStatus: "Running" });
    try {
      const ids = t.ids(1, 45);
      await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 20 });
      await t.stack.run(["up", "--yes"]);
      expect(t.emu.stats().peakStopped).toBeGreaterThan(0);
      expect(t.emu.stats().peakStopped).toBeLessThanOrEqual(20);
      expect(t.emu.state().instances.filter((i) => ids.includes(i.instanceId)).every((i) => i.status === "Running")).toBe(true);
      expect(boundTo(t.emu, "e2e-key")).toEqual(ids);
      await t.stack.run(["destroy", "--yes"]);
      expect(t.emu.state().instances.every((i) => i.status === "Running")).toBe(true);
    } finally {
      await t.close();
    }
  });

  it("without stopInstances, running instances fail the preview-free up before any change, naming stopInstances", async () => {
    const t = await e2eStack({ initialStatus: "Running" });
    try {
      await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 3) });
      const r = await t.stack.run(["up", "--yes"], { allowFailure: true });
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain("stopInstances: true");
      expect(t.calls("AttachKeyPair")).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});

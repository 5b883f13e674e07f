import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";

let env: ProviderEnv;
let key: { keyPairId: string; keyPairName: string };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 1200, seed: { keyPairs: [{ keyPairName: "fleet-key" }, { keyPairName: "other-key" }] } });
  key = keyOf(env.emu, "fleet-key");
});
afterAll(() => env.close());
beforeEach(() => env.clearJournal());

const boundTo = (name: string) => env.emu.state().instances.filter((i) => i.keyPairName === name).map((i) => i.instanceId).sort();
const batchSizes = (action: string) => env.calls(action).map((c) => JSON.parse(c.params.InstanceIds).length);

describe("create and delete at every batch boundary", () => {
  it.each([1, 30, 31, 95, 1000])("binds %i instances with ceil(n/30) AttachKeyPair calls and unbinds them with ceil(n/30) DetachKeyPair calls", async (n) => {
    const ids = instanceIds(1, n);
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: ids });
    const { id, outs } = await env.provider.create(inputs);

    expect(id).toMatch(new RegExp(`^${key.keyPairId}:att-[0-9a-f]{8}$`));
    expect(batchSizes("AttachKeyPair").sort((a, b) => b - a)).toEqual(expectedSizes(n));
    expect(env.calls("AttachKeyPair").every((c) => c.params.KeyPairId === key.keyPairId)).toBe(true);
    expect(outs).toMatchObject({ keyPairId: key.keyPairId, keyPairName: "fleet-key", stopInstances: false, maxStoppedInstances: 30 });
    expect(outs.attachedInstanceIds).toEqual([...ids].sort());
    expect(boundTo("fleet-key")).toEqual([...ids].sort());

    env.clearJournal();
    await env.provider.delete(id, { ...outs, __provider: "x" });
    expect(batchSizes("DetachKeyPair").sort((a, b) => b - a)).toEqual(expectedSizes(n));
    expect(env.calls("AttachKeyPair")).toHaveLength(0);
    expect(boundTo("fleet-key")).toEqual([]);
  });
});

function expectedSizes(n: number): number[] {
  return Array.from({ length: Math.ceil(n / 30) }, (_, i) => Math.min(30, n - i * 30));
}

describe("update", () => {
  it("detaches the 45 removed, attaches the 10 added, and touches nothing else", async () => {
    const before = instanceIds(1, 95);
    const created = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: before }));
    env.clearJournal();

    const after = [...before.slice(45), ...instanceIds(1001, 10)];
    const news = await checked(env, { keyPairId: key.keyPairId, instanceIds: after }, created.outs);
    const d = await env.provider.diff(created.id, created.outs, news);
    expect(d).toMatchObject({ changes: true, replaces: [] });

    const { outs } = await env.provider.update(created.id, created.outs, news);
    expect(batchSizes("DetachKeyPair").sort((a, b) => b - a)).toEqual([30, 15]);
    expect(env.calls("DetachKeyPair").flatMap((c) => JSON.parse(c.params.InstanceIds)).sort()).toEqual(before.slice(0, 45).sort());
    expect(env.calls("AttachKeyPair").map((c) => JSON.parse(c.params.InstanceIds))).toEqual([instanceIds(1001, 10)]);
    expect(outs.attachedInstanceIds).toEqual([...after].sort());
    expect(boundTo("fleet-key")).toEqual([...after].sort());
    await env.provider.delete(created.id, outs);
  });

  it("diff: same set in another order is no change; another key pair is a replacement; drift is a change", async () => {
    const ids = instanceIds(1, 3);
    for (const id of ids) env.emu.world.setInstanceKey(id, "fleet-key");
    const outs = { keyPairId: key.keyPairId, keyPairName: "fleet-key", instanceIds: ids, attachedInstanceIds: ids, stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };
    const same = await checked(env, { keyPairId: key.keyPairId, instanceIds: [...ids].reverse() }, outs);
    expect(await env.provider.diff("x", outs, same)).toMatchObject({ changes: false, replaces: [] });

    const byName = await checked(env, { keyPairName: "fleet-key", instanceIds: ids }, outs);
    expect(await env.provider.diff("x", outs, byName)).toMatchObject({ changes: false, replaces: [] });

    const other = await checked(env, { keyPairId: keyOf(env.emu, "other-key").keyPairId, instanceIds: ids }, outs);
    expect(await env.provider.diff("x", outs, other)).toMatchObject({ changes: true, replaces: ["keyPairId"] });

    const drifted = { ...outs, attachedInstanceIds: ids.slice(1) };
    expect(await env.provider.diff("x", drifted, same)).toMatchObject({ changes: true, replaces: [] });
    for (const id of ids) env.emu.world.setInstanceKey(id, undefined);
  });
});

describe("adoption, conflicts and idempotence", () => {
  it("adopts instances that already carry the key pair without any AttachKeyPair call", async () => {
    const ids = instanceIds(1101, 40);
    for (const id of ids) env.emu.world.setInstanceKey(id, "fleet-key");
    env.clearJournal();
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    expect(env.calls("AttachKeyPair")).toHaveLength(0);
    expect(outs.attachedInstanceIds).toEqual([...ids].sort());
    expect(env.logs.some((l) => l.includes("adopting 40 instance(s) that already carry fleet-key and have no owner"))).toBe(true);
    await env.provider.delete(id, outs);
  });

  it("warns when attaching replaces another key pair on an instance", async () => {
    const [inst] = instanceIds(1150, 1);
    env.emu.world.setInstanceKey(inst, "other-key");
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: [inst] }));
    expect(env.logs).toContainEqual(`warning: 1 instance(s) carry another key pair (other-key); attaching fleet-key replaces it (an ENS instance holds one key pair): ${inst}`);
    expect(boundTo("fleet-key")).toContain(inst);
    await env.provider.delete(id, outs);
  });

  it("delete is idempotent: instances already detached or gone count as done", async () => {
    const ids = instanceIds(1160, 5);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    env.emu.world.setInstanceKey(ids[0], undefined);
    await env.provider.delete(id, outs);
    await env.provider.delete(id, outs);
    expect(boundTo("fleet-key").filter((i) => ids.includes(i))).toEqual([]);
  });

  it("delete with the key pair deleted behind our back: done without calls once no instance carries its name", async () => {
    const ids = instanceIds(1170, 2);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairName: "other-key", instanceIds: ids }));
    env.emu.world.deleteKeyPair("other-key");
    for (const i of ids) env.emu.world.setInstanceKey(i, undefined);
    env.clearJournal();
    await env.provider.delete(id, outs);
    expect(env.calls("DetachKeyPair")).toHaveLength(0);
    env.emu.world.addKeyPair({ keyPairName: "other-key" });
  });

  it("delete with the key pair deleted while bound: the instances still carry its name, so it is not called done", async () => {
    const ids = instanceIds(1175, 2);
    env.emu.world.addKeyPair({ keyPairName: "doomed-key" });
    const { id, outs } = await env.provider.create(await checked(env, { keyPairName: "doomed-key", instanceIds: ids }));
    env.emu.world.deleteKeyPair("doomed-key"); // ENS allows it; the instances keep the dangling name
    env.clearJournal();
    const err = await env.provider.delete(id, outs).then(() => undefined, (e: Error) => e);
    // The emulator (its choice, emulator/CONFORMANCE.md) cannot resolve a deleted key pair's name: DetachKeyPair by
    // name fails, so the resource stays in the stack, and the error names each instance.
    expect(env.calls("DetachKeyPair").map((c) => c.params.KeyPairName)).toEqual(["doomed-key"]);
    expect(err?.message).toContain("could not detach key pair doomed-key from 2 instance(s)");
    for (const i of ids) expect(err?.message).toContain(`${i}: DetachKeyPair failed: InvalidKeyPair.NotFound`);
    expect(env.emu.state().instances.filter((i) => ids.includes(i.instanceId)).map((i) => i.keyPairName)).toEqual(["doomed-key", "doomed-key"]);
    expect(env.logs).toContainEqual(expect.stringContaining("was deleted in ENS while bound: 2 instance(s) still carry its name doomed-key"));
    for (const i of ids) env.emu.world.setInstanceKey(i, undefined);
  });
});

describe("read (refresh)", () => {
  it("reports what ENS really has bound, so drift shows up in attachedInstanceIds", async () => {
    const ids = instanceIds(1180, 4);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    env.emu.world.setInstanceKey(ids[2], undefined);
    const r = await env.provider.read(id, outs);
    expect(r.id).toBe(id);
    expect(r.props.attachedInstanceIds).toEqual([ids[0], ids[1], ids[3]]);
    expect(r.props.instanceIds).toEqual(ids);
    const d = await env.provider.diff(id, r.props, await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }, outs));
    expect(d.changes).toBe(true);

    env.clearJournal();
    const { outs: fixed } = await env.provider.update(id, r.props, await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }, outs));
    expect(env.calls("AttachKeyPair").map((c) => JSON.parse(c.params.InstanceIds))).toEqual([[ids[2]]]);
    expect(fixed.attachedInstanceIds).toEqual([...ids].sort());
    await env.provider.delete(id, fixed);
  });

  it("reads an import ID <keyPairId>:<instanceIds> into inputs and outputs", async () => {
    const ids = instanceIds(1190, 3);
    for (const i of ids) env.emu.world.setInstanceKey(i, "fleet-key");
    const r = await env.provider.read(`${key.keyPairId}:${ids.join(",")}`, {});
    expect(r.id).toMatch(new RegExp(`^${key.keyPairId}:att-`));
    expect(r.props).toMatchObject({ keyPairId: key.keyPairId, keyPairName: "fleet-key", instanceIds: ids, attachedInstanceIds: ids });
    expect(r.inputs).toMatchObject({ keyPairId: key.keyPairId, instanceIds: ids });
    for (const i of ids) env.emu.world.setInstanceKey(i, undefined);
  });

  it("a deleted key pair means the resource is gone", async () => {
    const tmp = env.emu.world.addKeyPair({ keyPairName: "short-lived" });
    env.emu.world.deleteKeyPair(tmp);
    const r = await env.provider.read(`${tmp}:att-00000000`, { keyPairId: tmp, instanceIds: instanceIds(1, 1), attachedInstanceIds: [] });
    expect(r.id).toBe("");
  });
});

import { EnsClient } from "../../provider/ens";
import { LEASE_TAG as STOP_MARK, leaseValue } from "../../provider/protocol";
import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";

let env: ProviderEnv;
let key: { keyPairId: string; keyPairName: string };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 400, seed: { keyPairs: [{ keyPairName: "ops-key" }] } });
  key = keyOf(env.emu, "ops-key");
});
afterAll(() => env.close());
beforeEach(() => {
  env.clearJournal();
  env.logs.length = 0;
});

const statusOf = (ids: string[]) => env.emu.state().instances.filter((i) => ids.includes(i.instanceId)).map((i) => i.status);

describe("per-instance failures", () => {
  it("create records the partial result with __provider and one reason per failed instance; the next update retries only those", async () => {
    const ids = instanceIds(1, 95);
    const failing = [ids[3], ids[64]];
    env.emu.setFaults({ instanceFailures: { [failing[0]]: { code: "NoPermission", message: "Permission denied." }, [failing[1]]: { code: "InternalError.Busy", message: "Try later." } } });
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: ids });

    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    expect(err).toBeDefined();
    expect(err.id).toMatch(/^ssh-.*:att-/);
    expect(err.reasons).toEqual([
      `${failing[0]}: AttachKeyPair failed: NoPermission: Permission denied.`,
      `${failing[1]}: AttachKeyPair failed: InternalError.Busy: Try later.`,
    ]);
    expect(err.message).toContain("2 instance operation(s) failed");
    expect(err.properties.__provider).toBe("PROVIDER-TEXT");
    expect(err.properties.attachedInstanceIds).toEqual(ids.filter((i) => !failing.includes(i)).sort());
    expect(err.properties.instanceIds).toEqual(ids);
    expect(env.calls("AttachKeyPair")).toHaveLength(4);

    env.emu.setFaults({});
    env.clearJournal();
    expect((await env.provider.diff(err.id, err.properties, inputs)).changes).toBe(true);
    const { outs } = await env.provider.update(err.id, err.properties, inputs);
    expect(env.calls("AttachKeyPair").map((c) => JSON.parse(c.params.InstanceIds).sort())).toEqual([[...failing].sort()]);
    expect(outs.attachedInstanceIds).toEqual([...ids].sort());
    await env.provider.delete(err.id, outs);
  });

  it("delete that fails for some instances throws listing each one and leaves them attached", async () => {
    const ids = instanceIds(101, 10);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    env.emu.setFaults({ instanceFailures: { [ids[7]]: { code: "NoPermission", message: "Permission denied." } } });
    const err = await env.provider.delete(id, outs).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(`${ids[7]}: DetachKeyPair failed: NoPermission: Permission denied.`);
    expect(err?.message).toContain("run pulumi destroy again");
    env.emu.setFaults({});
    await env.provider.delete(id, outs);
    expect(env.emu.state().instances.filter((i) => i.keyPairName === "ops-key")).toEqual([]);
  });

  it("survives throttling, server errors and dropped connections by retrying", async () => {
    const ids = instanceIds(121, 60);
    env.emu.setFaults({ throttleRate: 0.3, errorRate: 0.1, dropRate: 0.05 });
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    expect(outs.attachedInstanceIds).toHaveLength(60);
    const failedCalls = env.emu.journal().filter((j) => j.httpStatus !== 200);
    env.emu.setFaults({});
    await env.provider.delete(id, outs);
    // With 30% + 10% + 5% fault rates over a dozen calls, some must have failed and been retried.
    expect(failedCalls.length).toBeGreaterThan(0);
  });
});

describe("refusals before any change", () => {
  it("running instances without stopInstances: check (so preview) fails naming them and stopInstances; create refuses too, no AttachKeyPair", async () => {
    const ids = instanceIds(201, 3);
    env.emu.world.setInstanceStatus(ids[1], "Running");
    const checkedRunning = await env.provider.check({}, { __provider: "P", keyPairId: key.keyPairId, instanceIds: ids });
    expect(checkedRunning.failures).toEqual([{ property: "stopInstances", reason: expect.stringContaining(`1 instance(s) to bind or unbind are Running (${ids[1]})`) }]);
    expect(checkedRunning.failures[0].reason).toContain("set stopInstances: true");
    const err = await env.provider.create(checkedRunning.inputs).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(`1 instance(s) are Running`);
    expect(err?.message).toContain(ids[1]);
    expect(err?.message).toContain("stopInstances: true");
    expect(err?.message).toContain("Nothing was changed.");
    expect((err as any).id).toBeUndefined();
    expect(env.calls("AttachKeyPair")).toHaveLength(0);
    env.emu.world.setInstanceStatus(ids[1], "Stopped");
  });

  it("unknown instances and unknown key pairs: check (so preview) names the field, and create refuses them too", async () => {
    const badInstance = await env.provider.check({}, { keyPairId: key.keyPairId, instanceIds: [...instanceIds(1, 2), "i-doesnotexist1"] });
    expect(badInstance.failures).toEqual([{ property: "", reason: expect.stringMatching(/^instanceIds: ENS has no instance i-doesnotexist1 at http:\/\/127\.0\.0\.1:\d+: remove it from instanceIds/) }]);
    const badKey = await env.provider.check({}, { keyPairId: "ssh-nosuchkey", instanceIds: instanceIds(1, 1) });
    expect(badKey.failures).toEqual([{ property: "keyPairId", reason: expect.stringMatching(/^ENS has no key pair "ssh-nosuchkey"/) }]);

    const defaults = { stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };
    const unknownInstance = await env.provider.create({ ...defaults, keyPairId: key.keyPairId, instanceIds: ["i-doesnotexist1"] }).then(() => undefined, (e: Error) => e);
    expect(unknownInstance?.message).toMatch(/^instanceIds: ENS has no instance i-doesnotexist1/);
    const unknownKey = await env.provider.create({ ...defaults, keyPairId: "ssh-nosuchkey", instanceIds: instanceIds(1, 1) }).then(() => undefined, (e: Error) => e);
    expect(unknownKey?.message).toMatch(/^keyPairId: ENS has no key pair "ssh-nosuchkey"/);
    expect(env.calls("AttachKeyPair")).toHaveLength(0);
  });

  it("check looks up only what changed: an unchanged input set costs no call", async () => {
    const news = { keyPairId: key.keyPairId, instanceIds: instanceIds(1, 50) };
    const first = await env.provider.check({}, news);
    expect(first.failures).toEqual([]);
    expect(env.calls("DescribeKeyPairs")).toHaveLength(1);
    expect(env.calls("DescribeInstances")).toHaveLength(1);
    env.clearJournal();
    await env.provider.check(first.inputs, news);
    expect(env.emu.journal()).toHaveLength(0);
    await env.provider.check(first.inputs, { ...news, instanceIds: instanceIds(1, 51) });
    expect(env.calls("DescribeInstances").map((c) => JSON.parse(c.params.InstanceIds))).toEqual([instanceIds(51, 1)]);
    expect(env.calls("DescribeKeyPairs")).toHaveLength(0);
  });
});

describe("stop first", () => {
  const running = instanceIds(301, 95);
  beforeEach(() => {
    for (const id of running) env.emu.world.setInstanceStatus(id, "Running");
  });

  it("never stops more than maxStoppedInstances at once and starts every stopped instance again", async () => {
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: running, stopInstances: true, maxStoppedInstances: 30 });
    const { id, outs } = await env.provider.create(inputs);
    expect(outs.attachedInstanceIds).toHaveLength(95);
    expect(env.emu.stats().peakStopped).toBeGreaterThan(0);
    expect(env.emu.stats().peakStopped).toBeLessThanOrEqual(30);
    expect(statusOf(running).every((s) => s === "Running")).toBe(true);
    expect(env.calls("AttachKeyPair")).toHaveLength(4);
    // Polling asks for 100 IDs per DescribeInstances, never one call per instance.
    expect(env.calls("DescribeInstances").every((c) => JSON.parse(c.params.InstanceIds).length <= 100)).toBe(true);
    expect(env.calls("StopInstance")).toHaveLength(0);

    env.clearJournal();
    await env.provider.delete(id, { ...outs, maxStoppedInstances: 50 });
    expect(env.emu.stats().peakStopped).toBeLessThanOrEqual(50);
    expect(statusOf(running).every((s) => s === "Running")).toBe(true);
  });

  it("starts the stopped instances again even when the key pair call fails", async () => {
    env.emu.setFaults({ instanceFailures: { [running[5]]: { code: "NoPermission", message: "Permission denied." } } });
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: running.slice(0, 20), stopInstances: true, maxStoppedInstances: 10 });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    expect(err.reasons).toEqual([`${running[5]}: AttachKeyPair failed: NoPermission: Permission denied.`]);
    expect(env.emu.stats().peakStopped).toBeLessThanOrEqual(10);
    expect(statusOf(running.slice(0, 20)).every((s) => s === "Running")).toBe(true);
    env.emu.setFaults({});
    await env.provider.delete(err.id, { ...err.properties, stopInstances: true });
  });

  it("starts the stopped instances again even when ENS rejects every key pair call", async () => {
    const ids = running.slice(0, 5);
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true });
    // Stops and starts work; every AttachKeyPair answers 503 until the bounded retries are spent.
    env.emu.setFaults({ errorRate: 1, actions: ["AttachKeyPair"] });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    env.emu.setFaults({});
    expect(err.reasons).toEqual(ids.map((id) => expect.stringMatching(new RegExp(`^${id}: AttachKeyPair failed: ServiceUnavailable: `))));
    expect(err.properties.attachedInstanceIds).toEqual([]);
    expect(env.calls("StopInstances")).toHaveLength(1);
    expect(env.calls("AttachKeyPair").length).toBeGreaterThan(1);
    expect(statusOf(ids).every((s) => s === "Running")).toBe(true);
  }, 120000);
});

describe("a fault mid-way loses nothing", () => {
  it("when ENS refuses every tag call, nothing is bound or stopped (claims come first), each instance is named, and the state records nothing", async () => {
    // 30 stopped instances fill one batch that needs no stop; the 10 running ones go through the rolling window.
    const stopped = instanceIds(371, 30);
    const runningOnes = instanceIds(341, 10);
    for (const id of stopped) env.emu.world.setInstanceStatus(id, "Stopped");
    for (const id of runningOnes) env.emu.world.setInstanceStatus(id, "Running");
    const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: [...stopped, ...runningOnes], stopInstances: true });
    // Marking before the stop fails every time: the window cannot stop anything.
    env.emu.setFaults({ errorRate: 1, actions: ["TagResources"] });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    env.emu.setFaults({});
    expect(err.properties.attachedInstanceIds).toEqual([]);
    expect(err.reasons).toHaveLength(stopped.length + runningOnes.length);
    expect(err.reasons.every((r: string) => /: AttachKeyPair failed: ServiceUnavailable: .*(owner tag|take the tags)/.test(r))).toBe(true);
    expect(env.calls("StopInstances")).toHaveLength(0);
    expect(env.calls("AttachKeyPair")).toHaveLength(0);
    expect(statusOf(runningOnes).every((s) => s === "Running")).toBe(true);
    await env.provider.delete(err.id, err.properties);
  }, 120000);
});

describe("crash marks", () => {
  it("tags instances before stopping them and leaves no tag behind", async () => {
    const ids = instanceIds(351, 4);
    for (const id of ids) env.emu.world.setInstanceStatus(id, "Running");
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true }));
    const marking = env.calls("TagResources").filter((c) => c.params["Tag.1.Key"] === STOP_MARK);
    const tagged = marking.flatMap((c) => Object.entries(c.params).filter(([k]) => k.startsWith("ResourceId.")).map(([, v]) => v));
    expect(tagged.sort()).toEqual([...ids].sort());
    const journal = env.emu.journal();
    expect(journal.findIndex((j) => j.action === "TagResources" && j.params["Tag.1.Key"] === STOP_MARK)).toBeLessThan(journal.findIndex((j) => j.action === "StopInstances"));
    expect(env.emu.state().instances.filter((i) => ids.includes(i.instanceId)).every((i) => !(STOP_MARK in i.tags))).toBe(true);
    await env.provider.delete(id, outs);
  });

  it("the next operation starts instances that a killed run left stopped", async () => {
    const ids = instanceIds(361, 6);
    // What a run killed between StopInstances and StartInstances leaves behind: marked, stopped instances.
    const client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
    // The lease of a run of this resource (same owner name) that is over: a killed create had another resource ID.
    await client.tagResources(ids, [{ Key: STOP_MARK, Value: leaseValue("0000dead", "proj/dev/crashy", Date.now() + 600_000) }]);
    for (const id of ids) env.emu.world.setInstanceStatus(id, "Stopped");
    const { id, outs } = await env.provider.create(await checked(env, { __owner: "proj/dev/crashy", keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true }));
    expect(outs.attachedInstanceIds).toHaveLength(6);
    expect(statusOf(ids).every((s) => s === "Running")).toBe(true);
    expect(env.emu.state().instances.filter((i) => ids.includes(i.instanceId)).every((i) => !(STOP_MARK in i.tags))).toBe(true);
    expect(env.logs.some((l) => l.includes("6 instance(s) an interrupted run of this resource left stopped"))).toBe(true);
    await env.provider.delete(id, { ...outs });
  });

  it("diff asks for an update when an interrupted run of this resource left marks, even with unchanged inputs", async () => {
    const ids = instanceIds(371, 3);
    for (const i of ids) env.emu.world.setInstanceKey(i, "ops-key");
    const outs = { keyPairId: key.keyPairId, keyPairName: "ops-key", instanceIds: ids, attachedInstanceIds: ids, stopInstances: true, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };
    const news = { ...outs, attachedInstanceIds: undefined };
    const id = `${key.keyPairId}:att-0badf00d`;
    expect((await env.provider.diff(id, outs, news)).changes).toBe(false);
    const client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
    // Marked by this resource, on an instance it no longer names (the user reverted a change after the crash).
    await client.tagResources(instanceIds(380, 1), [{ Key: STOP_MARK, Value: id }]);
    expect((await env.provider.diff(id, outs, news)).changes).toBe(true);
    await client.untagResources(instanceIds(380, 1), [STOP_MARK]);
    for (const i of ids) env.emu.world.setInstanceKey(i, undefined);
  });
});

describe("check", () => {
  const table: [string, Record<string, unknown>, string, RegExp][] = [
    ["no key reference", { instanceIds: ["i-a1"] }, "keyPairId", /a key pair is required/],
    ["both key references", { keyPairId: "ssh-a", keyPairName: "kp", instanceIds: ["i-a1"] }, "keyPairId", /not both/],
    ["malformed key id", { keyPairId: "key-1", instanceIds: ["i-a1"] }, "keyPairId", /must look like "ssh-xxxx"/],
    ["malformed key name", { keyPairName: "1kp", instanceIds: ["i-a1"] }, "keyPairName", /start with a letter/],
    ["empty list", { keyPairId: "ssh-a", instanceIds: [] }, "", /is empty/],
    ["not a list", { keyPairId: "ssh-a", instanceIds: "i-a1" }, "", /must be a list/],
    ["malformed IDs", { keyPairId: "ssh-a", instanceIds: ["i-a1", "web-1", ""] }, "", /2 value\(s\) that are not ENS instance IDs/],
    ["wrong element type", { keyPairId: "ssh-a", instanceIds: [42] }, "", /not ENS instance IDs/],
    ["huge list", { keyPairId: "ssh-a", instanceIds: Array.from({ length: 10001 }, (_, i) => `i-h${i}`) }, "", /at most 10000/],
    ["stopInstances not boolean", { keyPairId: "ssh-a", instanceIds: ["i-a1"], stopInstances: "yes" }, "stopInstances", /true or false/],
    ["zero bound", { keyPairId: "ssh-a", instanceIds: ["i-a1"], maxStoppedInstances: 0 }, "maxStoppedInstances", /whole number from 1/],
    ["negative bound", { keyPairId: "ssh-a", instanceIds: ["i-a1"], maxStoppedInstances: -5 }, "maxStoppedInstances", /whole number from 1/],
    ["fractional bound", { keyPairId: "ssh-a", instanceIds: ["i-a1"], maxStoppedInstances: 2.5 }, "maxStoppedInstances", /whole number/],
    ["timeout too long", { keyPairId: "ssh-a", instanceIds: ["i-a1"], stopTimeoutSeconds: 99999 }, "stopTimeoutSeconds", /1 to 3600/],
  ];
  it.each(table)("%s fails on %s with a message naming the fix", async (_label, news, property, reason) => {
    const { failures } = await env.provider.check({}, news);
    expect(failures).toContainEqual({ property, reason: expect.stringMatching(reason) });
  });

  it("removes duplicates with a warning, applies defaults, and accepts unknown values in preview", async () => {
    const [a, b] = instanceIds(1, 2);
    const { inputs, failures } = await env.provider.check({}, { keyPairId: key.keyPairId, instanceIds: [a, a, b] });
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ instanceIds: [a, b], stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 });
    expect(env.logs).toContainEqual(expect.stringContaining(`1 duplicate(s), ignored: ${a}`));
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect((await env.provider.check({}, { keyPairId: unknown, instanceIds: unknown })).failures).toEqual([]);
  });
});

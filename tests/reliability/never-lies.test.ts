import { EnsClient } from "../../provider/ens";
import { LEASE_TAG as STOP_MARK } from "../../provider/protocol";
import { OWNER_TAG, parseOwnerTag } from "../../provider/protocol";
import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";
import { summarize } from "../helpers/rel-summary";
import { startWireProxy } from "../helpers/wire-proxy";

/**
 * The stack state never lies: it records what ENS shows, whatever shape the answers take, when they are lost, when
 * the world races, when another resource owns a binding, when the endpoint is the wrong one. Each case prints a
 * summary line: the calls it took, and how many of them were looks (DescribeInstances) to settle the truth.
 */

let env: ProviderEnv;
let key: { keyPairId: string; keyPairName: string };
let client: EnsClient;

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 600, seed: { keyPairs: [{ keyPairName: "truth-key" }, { keyPairName: "rival-key" }] } });
  key = keyOf(env.emu, "truth-key");
  client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
});
afterAll(() => env.close());
afterEach(() => {
  const journal = env.emu.journal();
  const count = (a: string) => journal.filter((j) => j.action === a).length;
  summarize("never-lies", { case: expect.getState().currentTestName, calls: journal.length, describeInstances: count("DescribeInstances"), attach: count("AttachKeyPair"), detach: count("DetachKeyPair"), tagCalls: count("TagResources") + count("UntagResources") + count("ListTagResources") });
});
beforeEach(() => {
  env.clearJournal();
  env.logs.length = 0;
  env.emu.setResultCodes("number");
});

const world = () => env.emu.state().instances;
const boundTo = (name: string, ids: string[]) => world().filter((i) => ids.includes(i.instanceId) && i.keyPairName === name).map((i) => i.instanceId).sort();
const running = (ids: string[]) => ids.forEach((id) => env.emu.world.setInstanceStatus(id, "Running"));
const allRunning = (ids: string[]) => world().filter((i) => ids.includes(i.instanceId)).every((i) => i.status === "Running");
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: any) => e);

/** Points the provider at a wire proxy for the duration of `fn`. */
async function viaProxy<T>(hooks: Parameters<typeof startWireProxy>[1], fn: () => Promise<T>): Promise<T> {
  const proxy = await startWireProxy(env.emu.url, hooks);
  const saved = process.env.ENS_ENDPOINT;
  process.env.ENS_ENDPOINT = proxy.url;
  try {
    return await fn();
  } finally {
    process.env.ENS_ENDPOINT = saved;
    await proxy.close();
  }
}

describe.each(["number", "string"] as const)("per-instance codes as a %s", (style) => {
  it("a failure is named and kept out of the state; a detach that lost a race with a detach by hand converges", async () => {
    env.emu.setResultCodes(style);
    const ids = instanceIds(style === "number" ? 1 : 41, 40);
    env.emu.setFaults({ instanceFailures: { [ids[5]]: { code: "NoPermission", message: "Permission denied." } } });
    const err = await failure(env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids })));
    env.emu.setFaults({});
    expect(err.reasons).toEqual([`${ids[5]}: AttachKeyPair failed: NoPermission: Permission denied.`]);
    expect(err.properties.attachedInstanceIds).toEqual(ids.filter((i) => i !== ids[5]).sort());
    expect(boundTo("truth-key", ids)).toEqual(err.properties.attachedInstanceIds);

    // Someone detaches one instance by hand after the provider looked, just before its DetachKeyPair lands.
    const outs = err.properties;
    await viaProxy({ before: (a) => (a === "DetachKeyPair" ? env.emu.world.setInstanceKey(ids[0], undefined) : undefined) }, () => env.provider.delete(err.id, outs));
    expect(boundTo("truth-key", ids)).toEqual([]);
  });
});

it("answers whose codes name nothing (a bare number, a vague message) are judged by what ENS shows", async () => {
  const ids = instanceIds(101, 10);
  const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
  env.emu.world.setInstanceKey(ids[3], undefined); // detached by hand: the call will fail for it
  const vague = (a: string, _n: number, body: any) => (a === "DetachKeyPair" ? { ...body, Results: body.Results.map((r: any) => (r.Success ? r : { ...r, Code: 400, Message: "Operation failed." })) } : body);
  // The plan sees ids[3] as detached already; make a second instance fail with a vague answer while really detached.
  await viaProxy(
    { before: (a) => (a === "DetachKeyPair" ? env.emu.world.setInstanceKey(ids[4], undefined) : undefined), answer: vague },
    () => env.provider.delete(id, outs),
  );
  expect(boundTo("truth-key", ids)).toEqual([]);
  expect(env.calls("DescribeInstances").length).toBeGreaterThan(0);
});

describe("stopping and starting", () => {
  it("forceStop stops through StopInstance with ForceStop=true, one call per instance; StopInstances never carries ForceStop", async () => {
    const ids = instanceIds(151, 4);
    running(ids);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true, forceStop: true }));
    const stops = env.calls("StopInstance");
    expect(stops.map((c) => c.params.InstanceId).sort()).toEqual([...ids].sort());
    expect(stops.every((c) => c.params.ForceStop === "true")).toBe(true);
    expect(env.calls("StopInstances")).toEqual([]);
    expect(outs.attachedInstanceIds).toEqual([...ids].sort());
    expect(allRunning(ids)).toBe(true);
    env.clearJournal();
    await env.provider.delete(id, { ...outs, forceStop: false, stopInstances: true });
    expect(env.calls("StopInstances").every((c) => !("ForceStop" in c.params))).toBe(true);
    expect(env.calls("StopInstance")).toEqual([]);
  });

  it("a StopInstances refused as a whole call falls back to StopInstance per instance; the bad one is reported, its neighbours bound", async () => {
    const ids = instanceIds(161, 6);
    running(ids);
    env.emu.setFaults({ wholeCallPowerFailure: true });
    const err = await viaProxy(
      { before: (a, n) => (a === "StopInstances" && n === 1 ? env.emu.world.removeInstance(ids[2]) : undefined) },
      () => failure(env.provider.create(checkedSync(ids))),
    );
    env.emu.setFaults({});
    expect(env.calls("StopInstance").map((c) => c.params.InstanceId).sort()).toEqual(ids.filter((i) => i !== ids[2]).sort());
    expect(err.reasons).toHaveLength(1);
    expect(err.reasons[0]).toMatch(new RegExp(`^${ids[2]}: StopInstances failed: .*no longer exists`));
    expect(err.properties.attachedInstanceIds).toEqual(ids.filter((i) => i !== ids[2]).sort());
    expect(allRunning(ids.filter((i) => i !== ids[2]))).toBe(true);
  });

  it.each(["StopInstances", "StartInstances"])("an answer of %s lost after ENS applied it is not a failure: the retry's refusal is checked against ENS", async (lost) => {
    const ids = instanceIds(lost === "StopInstances" ? 171 : 181, 5);
    running(ids);
    const { id, outs } = await viaProxy({ answer: (a, n, body) => (a === lost && n === 1 ? "lose" : body) }, async () =>
      env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true })),
    );
    expect(env.calls(lost).length).toBeGreaterThanOrEqual(2); // the lost one and its retry
    expect(outs.attachedInstanceIds).toEqual([...ids].sort());
    expect(allRunning(ids)).toBe(true);
    expect(world().filter((i) => ids.includes(i.instanceId)).every((i) => !(STOP_MARK in i.tags))).toBe(true);
    await env.provider.delete(id, outs);
  });
});

// Inputs for a create, checked synchronously enough for use inside the proxy window.
function checkedSync(ids: string[]) {
  return { __provider: "PROVIDER-TEXT", keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };
}

describe("ownership", () => {
  it("a binding owned by another resource is refused in check and create, taken over only with takeOwnership, and never detached by the old owner", async () => {
    const ids = instanceIds(201, 3);
    const first = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    expect(world().filter((i) => ids.includes(i.instanceId)).map((i) => parseOwnerTag(i.tags[OWNER_TAG]).owner)).toEqual(ids.map(() => first.id));

    const second = { keyPairId: key.keyPairId, instanceIds: [ids[0], ...instanceIds(211, 2)] };
    const checkedSecond = await env.provider.check({}, second);
    expect(checkedSecond.failures).toEqual([{ property: "", reason: expect.stringContaining(`${ids[0]} (owner ${first.id})`) }]);
    expect(checkedSecond.failures[0].reason).toMatch(/^instanceIds: 1 instance\(s\) are bound and owned by another resource/);
    expect(checkedSecond.failures[0].reason).toContain("takeOwnership: true");
    env.clearJournal();
    const refused = await failure(env.provider.create({ ...checkedSecond.inputs, __provider: "P" }));
    expect(refused.message).toContain("owned by another resource");
    expect(refused.message).toContain("Nothing was changed.");
    expect(env.calls("AttachKeyPair")).toEqual([]);

    const taking = await env.provider.check({}, { ...second, takeOwnership: true });
    expect(taking.failures).toEqual([]);
    const took = await env.provider.create({ ...taking.inputs, __provider: "P" });
    expect(env.logs).toContainEqual(expect.stringContaining(`taking over 1 instance(s) owned by another resource`));
    expect(parseOwnerTag(world().find((i) => i.instanceId === ids[0])!.tags[OWNER_TAG] ?? "").owner).toBe(took.id);

    env.clearJournal();
    await env.provider.delete(first.id, first.outs);
    const detached = env.calls("DetachKeyPair").flatMap((c) => JSON.parse(c.params.InstanceIds));
    expect(detached.sort()).toEqual([ids[1], ids[2]].sort());
    expect(boundTo("truth-key", [ids[0]])).toEqual([ids[0]]);
    await env.provider.delete(took.id, took.outs);
    expect(boundTo("truth-key", [...ids, ...instanceIds(211, 2)])).toEqual([]);
    expect(world().filter((i) => ids.includes(i.instanceId)).every((i) => !(OWNER_TAG in i.tags))).toBe(true);
  });

  it("an unowned existing binding is adopted with one warning and claimed; a binding made before ownership existed is still detached", async () => {
    const ids = instanceIds(221, 4);
    for (const id of ids) env.emu.world.setInstanceKey(id, "truth-key");
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    expect(env.logs.filter((l) => l.startsWith("warning: adopting"))).toEqual([`warning: adopting 4 instance(s) that already carry truth-key and have no owner: ${ids.join(", ")}; this resource owns them from now on`]);
    expect(world().filter((i) => ids.includes(i.instanceId)).every((i) => parseOwnerTag(i.tags[OWNER_TAG] ?? "").owner === id)).toBe(true);
    // A state written before owner tags: the tags are not there, the binding is still this resource's.
    await client.untagResources(ids, [OWNER_TAG]);
    await env.provider.delete(id, outs);
    expect(boundTo("truth-key", ids)).toEqual([]);
  });
});

describe("drift and wrong places", () => {
  it("a delete that failed half-way and was then undone in the program: diff sees the drift (2 reads for 110 instances) and the update re-binds", async () => {
    const ids = instanceIds(301, 110);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    env.emu.setFaults({ instanceFailures: { [ids[9]]: { code: "NoPermission", message: "Permission denied." } } });
    expect((await failure(env.provider.delete(id, outs))).message).toContain(`${ids[9]}: DetachKeyPair failed: NoPermission`);
    env.emu.setFaults({});
    expect(boundTo("truth-key", ids)).toEqual([ids[9]]);

    env.clearJournal();
    const news = await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }, outs);
    expect((await env.provider.diff(id, outs, news)).changes).toBe(true);
    expect(env.calls("DescribeInstances")).toHaveLength(2);
    expect(env.logs).toContainEqual(expect.stringContaining("drift: 109 instance(s) the state lists as bound do not carry truth-key in ENS"));

    process.env.ENS_DRIFT_CHECK = "false";
    try {
      expect((await env.provider.diff(id, outs, news)).changes).toBe(false);
    } finally {
      delete process.env.ENS_DRIFT_CHECK;
    }
    const { outs: fixed } = await env.provider.update(id, outs, news);
    expect(boundTo("truth-key", ids)).toEqual([...ids].sort());
    await env.provider.delete(id, fixed);
  });

  it("delete and read against an ENS that knows neither the key pair nor any instance fail, naming the endpoint and pulumi state delete", async () => {
    const props = { keyPairId: "ssh-realfleet01", keyPairName: "prod-key", instanceIds: ["i-realfleet01", "i-realfleet02"], attachedInstanceIds: ["i-realfleet01", "i-realfleet02"], stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };
    const del = await failure(env.provider.delete("ssh-realfleet01:att-00000001", props));
    expect(del.message).toContain(`ENS at ${env.emu.url} knows neither key pair ssh-realfleet01 nor any of the 2 instance(s)`);
    expect(del.message).toContain("pulumi state delete");
    const rd = await failure(env.provider.read("ssh-realfleet01:att-00000001", props));
    expect(rd.message).toContain("knows neither key pair");
  });

  it("a destroy blocked by running instances says what to run, since it uses the stored inputs", async () => {
    const ids = instanceIds(451, 2);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    running(ids);
    const err = await failure(env.provider.delete(id, outs));
    expect(err.message).toContain("A destroy uses the inputs stored at the last update");
    expect(err.message).toContain("run pulumi up, then pulumi destroy");
    ids.forEach((i) => env.emu.world.setInstanceStatus(i, "Stopped"));
    await env.provider.delete(id, outs);
  });
});

describe("orphaned crash marks", () => {
  it("an expired mark of a resource that never reached the state is started by any run; a fresh one of another run is left alone with a warning", async () => {
    const orphan = instanceIds(501, 2);
    const fresh = instanceIds(511, 1);
    for (const i of [...orphan, ...fresh]) env.emu.world.setInstanceStatus(i, "Stopped");
    const past = Math.floor(Date.now() / 1000) - 60;
    const future = Math.floor(Date.now() / 1000) + 3600;
    await client.tagResources(orphan, [{ Key: STOP_MARK, Value: `${key.keyPairId}:att-dead0001@${past}` }]);
    await client.tagResources(fresh, [{ Key: STOP_MARK, Value: `${key.keyPairId}:att-live0001@${future}` }]);

    const ids = instanceIds(521, 2);
    const { id, outs } = await env.provider.create(await checked(env, { keyPairId: key.keyPairId, instanceIds: ids }));
    // Expired: started without waiting; a later pass (here the delete) removes the lease once it runs.
    expect(env.logs).toContainEqual(expect.stringContaining(`2 instance(s) stopped by an interrupted run (expired lease): starting them again`));
    await env.provider.delete(id, outs);
    expect(allRunning(orphan)).toBe(true);
    expect(world().filter((i) => orphan.includes(i.instanceId)).every((i) => !(STOP_MARK in i.tags))).toBe(true);
    // Fresh, of another run, not in this resource's way: left alone, and nothing said about it.
    expect(world().find((i) => i.instanceId === fresh[0])!.status).toBe("Stopped");
    expect(STOP_MARK in world().find((i) => i.instanceId === fresh[0])!.tags).toBe(true);
    await client.untagResources(fresh, [STOP_MARK]);
  });
});

/** Stop-first as a rolling window, against the emulator: bounds (global and per region), marks, the engine going away. */
import { EnsClient, EnsError } from "../../provider/ens";
import { executePlan, ExecuteOptions } from "../../provider/execute";
import { LEASE_TAG as STOP_MARK } from "../../provider/protocol";
import { LiveInstance, planBinding } from "../../provider/plan";
import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";

let env: ProviderEnv;
let key: { keyPairId: string; keyPairName: string };
let client: EnsClient;

beforeAll(async () => {
  // 120 Running instances in 6 regions, 20 each, grouped by region in ID order; stops and starts take 30-150 ms.
  env = await providerOnEmulator({ instances: 120, regions: 6, initialStatus: "Running", stopDelayMs: "30-150", startDelayMs: "30-150", randomSeed: "rolling", seed: { keyPairs: [{ keyPairName: "roll-key" }] } });
  key = keyOf(env.emu, "roll-key");
  client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
});
afterAll(() => env.close());
beforeEach(() => {
  env.clearJournal();
  env.logs.length = 0;
});

const state = (ids: string[]) => env.emu.state().instances.filter((i) => ids.includes(i.instanceId));
const listed = (params: Record<string, string>) =>
  params.InstanceIds?.startsWith("[") ? (JSON.parse(params.InstanceIds) as string[]) : (params.InstanceIds?.split(",") ?? Object.entries(params).filter(([k]) => k.startsWith("ResourceId.")).map(([, v]) => v));
const opts = (more: Partial<ExecuteOptions> = {}): ExecuteOptions => ({ lease: { run: "0000beef", me: { owner: "test/stack/roll", keyPairId: "ssh-x" } }, expectedOwner: () => undefined, claimFreshMs: 60_000, forceStop: false, stopTimeoutMs: 10_000, pollIntervalMs: 20, log: () => {}, ...more });
/** A plan for `ids`, all Running, as converge builds it (regions from what ENS says). */
const planFor = (ids: string[], maxStoppedInstances: number, maxStoppedPerRegion?: number) => {
  const regions = new Map(env.emu.state().instances.map((i) => [i.instanceId, i.ensRegionId]));
  const live = new Map<string, LiveInstance>(ids.map((id) => [id, { status: "Running", region: regions.get(id) }]));
  return planBinding({ desired: ids, attached: [], live, keyPairName: key.keyPairName, stopInstances: true, maxStoppedInstances, maxStoppedPerRegion });
};

it("create: never more than maxStoppedInstances down, nor maxStoppedPerRegion of one region; all bound and running again, no mark left", async () => {
  const ids = instanceIds(1, 60); // regions 1-3, 20 each
  const inputs = await checked(env, { keyPairId: key.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 6, maxStoppedPerRegion: 2 });
  // Preview (check of a create) says how the work will roll.
  expect(env.logs.join("\n")).toMatch(/stop 60 Running instance\(s\) first, rolling at most 6 at once: 2 per region x 3 region\(s\) \(cn-hangzhou-telecom 20, cn-beijing-unicom 20, cn-shanghai-mobile 20\); each is bound as it stops/);
  env.clearJournal();
  const { id, outs } = await env.provider.create(inputs);
  expect(outs.attachedInstanceIds).toHaveLength(60);
  expect((outs as any).maxStoppedPerRegion).toBe(2);
  const stats = env.emu.stats();
  expect(stats.peakStopped).toBe(6);
  expect(Object.values(stats.peakStoppedByRegion)).toEqual([2, 2, 2]);
  expect(stats.downtime.count).toBe(60);
  expect(state(ids).every((i) => i.status === "Running" && i.keyPairName === "roll-key" && !(STOP_MARK in i.tags))).toBe(true);
  // The closing line counts the instances stopped and started again, beside the bindings.
  expect(env.logs.join("\n")).toMatch(/done in [\d.]+ s with \d+ ENS call\(s\): attached 60, detached 0, adopted 0, stopped and started again 60/);
  // Calls of at most 30, each instance bound once; polls of at most 100 IDs.
  const attach = env.calls("AttachKeyPair").map((c) => listed(c.params));
  expect(attach.every((a) => a.length >= 1 && a.length <= 30)).toBe(true);
  expect(attach.flat().sort()).toEqual([...ids].sort());
  expect(env.calls("DescribeInstances").every((c) => listed(c.params).length <= 100)).toBe(true);
  // Each instance is marked before it is stopped.
  const journal = env.emu.journal();
  for (const i of ids) {
    const marked = journal.findIndex((j) => j.action === "TagResources" && j.params["Tag.1.Key"] === STOP_MARK && listed(j.params).includes(i));
    const stopped = journal.findIndex((j) => j.action === "StopInstances" && listed(j.params).includes(i));
    expect(marked).toBeGreaterThanOrEqual(0);
    expect(marked).toBeLessThan(stopped);
  }
  expect(env.logs.filter((l) => / instances (bound|unbound)/.test(l)).every((l) => / instances bound, /.test(l))).toBe(true);
  env.logs.length = 0;
  process.env.ENS_PROGRESS_EVERY_MS = "1";
  await env.provider.delete(id, outs).finally(() => delete process.env.ENS_PROGRESS_EVERY_MS);
  expect(env.emu.stats().peakStoppedByRegion).toEqual(expect.objectContaining({ "cn-hangzhou-telecom": 2 }));
  // A destroy's progress says what it does (issue 18, item 4: it said "4/20 instances bound").
  const progress = env.logs.filter((l) => /\/60 instances/.test(l));
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.every((l) => /^\d+\/60 instances unbound, \d+ stopped now/.test(l))).toBe(true);
});

it("once the engine is gone no new instance is stopped; what is in flight is bound and started again, the rest is not attempted", async () => {
  const ids = instanceIds(61, 20);
  let asks = 0;
  // The first two questions (before the work, before the first stops) find the engine; then it is gone.
  const result = await executePlan(client, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, planFor(ids, 5), opts({ stillWanted: async () => ++asks <= 2 }));
  const stopped = env.calls("StopInstances").flatMap((c) => listed(c.params));
  expect(stopped).toHaveLength(5);
  expect([...result.succeeded].sort()).toEqual([...stopped].sort());
  expect(result.failures).toHaveLength(15);
  expect(result.failures.every((f) => f.code === "NotAttempted" && /the Pulumi engine is gone/.test(f.message))).toBe(true);
  expect(result.leftStopped).toEqual([]);
  expect(state(ids).every((i) => i.status === "Running" && !(STOP_MARK in i.tags))).toBe(true);
  for (const i of stopped) env.emu.world.setInstanceKey(i, undefined);
});

it("an instance stuck in Stopping is reported and held in its slot; the others go on through the window", async () => {
  const ids = instanceIds(81, 6);
  env.emu.world.setInstanceStatus(ids[0], "Stopping"); // out of band: it never gets to Stopped
  const result = await executePlan(client, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, planFor(ids, 2), opts({ stopTimeoutMs: 600 }));
  expect([...result.succeeded].sort()).toEqual(ids.slice(1));
  expect(result.failures).toEqual([{ instanceId: ids[0], action: "StopInstances", code: "WaitTimeout", message: expect.stringMatching(/^still Stopping after 1s waiting for Stopped/) }]);
  expect(result.leftStopped.map((f) => f.instanceId)).toEqual([ids[0]]);
  // Held, it counted against the bound of 2: the others went one at a time.
  expect(env.emu.stats().peakStopped).toBe(1);
  expect(state(ids.slice(1)).every((i) => i.status === "Running" && !(STOP_MARK in i.tags))).toBe(true);
  // Its mark stays, so that the next run starts it again.
  expect(STOP_MARK in state([ids[0]])[0].tags).toBe(true);
  env.emu.world.setInstanceStatus(ids[0], "Running");
  await client.untagResources([ids[0]], [STOP_MARK]);
  for (const i of ids) env.emu.world.setInstanceKey(i, undefined);
});

it("an instance released before its turn fails alone (not found); the others are marked again and bound", async () => {
  const ids = instanceIds(90, 10);
  const plan = planFor(ids, 3);
  env.emu.world.removeInstance(ids[0]); // the whole TagResources call of its group fails
  const result = await executePlan(client, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, plan, opts());
  expect(result.failures).toEqual([{ instanceId: ids[0], action: "StopInstances", code: "InvalidInstanceId.NotFound", message: "the instance no longer exists" }]);
  expect([...result.succeeded].sort()).toEqual(ids.slice(1));
  expect(result.leftStopped).toEqual([]);
  expect(state(ids).every((i) => i.status === "Running" && !(STOP_MARK in i.tags))).toBe(true);
});

it("a polling round that fails for good: nothing new is stopped, what was stopped is started again in the finally", async () => {
  const ids = instanceIds(101, 10);
  const flaky = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
  const read = flaky.describeInstancesById.bind(flaky);
  let reads = 0;
  // The first read is the first polling round (the stops before it need none); every later read works.
  flaky.describeInstancesById = async (list) => {
    if (++reads === 1) throw new EnsError("InternalError.Gone", "DescribeInstances: InternalError.Gone: the read failed", "DescribeInstances");
    return read(list);
  };
  const result = await executePlan(flaky, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, planFor(ids, 5), opts());
  const stopped = env.calls("StopInstances").flatMap((c) => listed(c.params));
  expect(stopped).toHaveLength(5);
  expect(result.succeeded.size).toBe(0);
  expect(result.failures.filter((f) => f.code === "InternalError.Gone").map((f) => f.instanceId).sort()).toEqual([...stopped].sort());
  expect(result.failures.filter((f) => f.code === "NotAttempted")).toHaveLength(5);
  expect(result.leftStopped).toEqual([]);
  expect(env.calls("AttachKeyPair")).toHaveLength(0);
  expect(state(ids).every((i) => i.status === "Running" && !(STOP_MARK in i.tags) && !i.keyPairName)).toBe(true);
});

/** executePlan, or a failure after `ms`: a run that never ends fails the test instead of hanging it. */
const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms).unref())]);
const wire = () => new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });

it("an instance that does not start again holds its slot; once lost ones hold every slot, the run ends and says why", async () => {
  const ids = instanceIds(111, 4);
  const bad = ids[0];
  const flaky = wire();
  const refuse = (id: string) => new EnsError("IncorrectInstanceStatus", `StartInstances: IncorrectInstanceStatus: ${id} cannot be started`, "StartInstances");
  const startMany = flaky.startInstances.bind(flaky);
  const startOne = flaky.startInstance.bind(flaky);
  flaky.startInstances = async (list) => {
    if (list.includes(bad)) throw refuse(bad);
    return startMany(list);
  };
  flaky.startInstance = async (id) => {
    if (id === bad) throw refuse(id);
    return startOne(id);
  };
  const result = await within(20_000, executePlan(flaky, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, planFor(ids, 1), opts()));
  expect(result.succeeded).toEqual(new Set([bad]));
  expect(result.leftStopped.map((f) => [f.instanceId, f.code])).toEqual([[bad, "IncorrectInstanceStatus"]]);
  expect(result.failures.map((f) => f.instanceId).sort()).toEqual(ids.slice(1));
  expect(result.failures.every((f) => f.code === "NotAttempted" && /not Running again/.test(f.message))).toBe(true);
  expect(state(ids.slice(1)).every((i) => i.status === "Running" && !(STOP_MARK in i.tags) && !i.keyPairName)).toBe(true);
  // Its mark stays, so that the next run starts it again.
  expect(STOP_MARK in state([bad])[0].tags).toBe(true);
  await client.startInstances([bad]);
  await client.untagResources([bad], [STOP_MARK]);
  env.emu.world.setInstanceStatus(bad, "Running");
  env.emu.world.setInstanceKey(bad, undefined);
});

it("a stop whose outcome is unknown (answer lost, ENS unreadable right after) is looked at again and started, not dropped", async () => {
  const ids = instanceIds(115, 3);
  const flaky = wire();
  const stop = flaky.stopInstances.bind(flaky);
  const read = flaky.describeInstancesById.bind(flaky);
  let failNextRead = false;
  flaky.stopInstances = async (list) => {
    await stop(list); // ENS applied it; the answer is lost
    failNextRead = true;
    throw new EnsError("ServiceUnavailable", "StopInstances: ServiceUnavailable: the answer was lost", "StopInstances", 503, undefined, true);
  };
  flaky.describeInstancesById = async (list) => {
    if (failNextRead) {
      failNextRead = false;
      throw new EnsError("ServiceUnavailable", "DescribeInstances: ServiceUnavailable: unreadable", "DescribeInstances", 503, undefined, true);
    }
    return read(list);
  };
  const result = await within(20_000, executePlan(flaky, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, planFor(ids, 3), opts()));
  // Not bound (the stop could not be confirmed), reported per instance, and every one Running again, unmarked.
  expect(result.failures.map((f) => [f.instanceId, f.action]).sort()).toEqual(ids.map((i) => [i, "StopInstances"]));
  expect(result.leftStopped).toEqual([]);
  expect(result.restarted).toBe(3);
  expect(state(ids).every((i) => i.status === "Running" && !(STOP_MARK in i.tags) && !i.keyPairName)).toBe(true);
});

it("a detach whose instance was released before its turn counts as done, not as a failure", async () => {
  const ids = instanceIds(118, 3);
  for (const i of ids) env.emu.world.setInstanceKey(i, key.keyPairName);
  const live = new Map<string, LiveInstance>(ids.map((id) => [id, { status: "Running", keyPairName: key.keyPairName, region: "cn-hangzhou-telecom" }]));
  const plan = planBinding({ desired: [], attached: ids, live, keyPairName: key.keyPairName, stopInstances: true, maxStoppedInstances: 1 });
  env.emu.world.removeInstance(ids[2]);
  const result = await executePlan(client, { ref: { keyPairId: key.keyPairId }, name: key.keyPairName }, plan, opts());
  expect(result.failures).toEqual([]);
  expect(result.succeeded).toEqual(new Set(ids));
  expect(state(ids.slice(0, 2)).every((i) => i.status === "Running" && !i.keyPairName && !(STOP_MARK in i.tags))).toBe(true);
});

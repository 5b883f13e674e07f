import { EnsClient } from "../../provider/ens";
import { LEASE_TAG, leaseValue, OWNER_TAG, ownerTagValue, parseOwnerTag } from "../../provider/protocol";
import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";
import { startWireProxy } from "../helpers/wire-proxy";

/**
 * The multi-writer protocol (provider/protocol/index.ts), each rule through the provider as the engine drives it:
 * check, diff, create / update / delete, a replacement as create-before-delete. Each test failed on the provider
 * before the protocol (owner = resource ID, marks without runs, limits per resource).
 */

let env: ProviderEnv;
let client: EnsClient;
let keyA: { keyPairId: string; keyPairName: string };
let keyB: { keyPairId: string; keyPairName: string };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 400, stopDelayMs: 20, startDelayMs: 20, regions: 2 });
  env.emu.world.addKeyPair({ keyPairName: "key-a" });
  env.emu.world.addKeyPair({ keyPairName: "key-b" });
  keyA = keyOf(env.emu, "key-a");
  keyB = keyOf(env.emu, "key-b");
  client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
});
afterAll(() => env.close());
beforeEach(() => {
  env.clearJournal();
  env.logs.length = 0;
});

const world = (ids: string[]) => env.emu.state().instances.filter((i) => ids.includes(i.instanceId));
const ownerOf = (id: string) => {
  const v = world([id])[0].tags[OWNER_TAG];
  return v === undefined ? undefined : parseOwnerTag(v).owner;
};
const listed = (params: Record<string, string>): string[] =>
  params.InstanceIds?.startsWith("[") ? JSON.parse(params.InstanceIds) : params.InstanceIds?.split(",") ?? (params.InstanceId ? [params.InstanceId] : []);
const stopsOf = (id: string) => env.emu.journal().filter((j) => (j.action === "StopInstances" || j.action === "StopInstance") && listed(j.params).includes(id)).length;
const bindingOrPowerCalls = () => ["AttachKeyPair", "DetachKeyPair", "StopInstances", "StopInstance", "StartInstances", "StartInstance"].flatMap((a) => env.calls(a));
const running = (ids: string[]) => ids.forEach((id) => env.emu.world.setInstanceStatus(id, "Running"));

/** What the engine does for `pulumi up` of one resource: check, diff, then create or update (or a replacement). */
async function up(res: { id?: string; outs?: any }, news: Record<string, unknown>) {
  const inputs = await checked(env, news, res.outs ?? {});
  if (!res.id) return { ...(await env.provider.create(inputs)) };
  const d = await env.provider.diff(res.id, res.outs, inputs);
  if (d.replaces.length) {
    const made = await env.provider.create(inputs);
    await env.provider.delete(res.id, res.outs);
    return made;
  }
  if (!d.changes) return { id: res.id, outs: res.outs };
  const { outs } = await env.provider.update(res.id, res.outs, inputs);
  return { id: res.id, outs };
}

describe("rule 1: owner = the logical resource", () => {
  it("rotating keyPairId on a stop-first fleet: each instance stopped once, all on the new key and Running; the old resource's delete makes no binding or power call", async () => {
    const ids = instanceIds(1, 12);
    running(ids);
    const inputs = { __owner: "shop/prod/web", __attachmentName: "web", instanceIds: ids, stopInstances: true, maxStoppedInstances: 4 };
    const first = await up({}, { ...inputs, keyPairId: keyA.keyPairId });
    expect(ids.every((id) => ownerOf(id) === "shop/prod/web")).toBe(true);
    env.clearJournal();
    env.logs.length = 0;
    const news = await checked(env, { ...inputs, keyPairId: keyB.keyPairId }, first.outs);
    expect((await env.provider.diff(first.id, first.outs, news)).replaces).toEqual(["keyPairId"]);
    const made = await env.provider.create(news);
    const beforeDelete = env.emu.journal().length;
    await env.provider.delete(first.id, first.outs);
    const deleteCalls = env.emu.journal().slice(beforeDelete).map((j) => j.action);
    expect(deleteCalls.filter((a) => /KeyPair$|Instances?$/.test(a) && a !== "DescribeInstances" && a !== "DescribeKeyPairs")).toEqual([]);
    expect(ids.map(stopsOf)).toEqual(ids.map(() => 1));
    expect(made.outs.attachedInstanceIds).toEqual([...ids].sort());
    expect(world(ids).every((i) => i.keyPairName === "key-b" && i.status === "Running" && !(LEASE_TAG in i.tags))).toBe(true);
    expect(ids.every((id) => ownerOf(id) === "shop/prod/web")).toBe(true);
    expect(env.logs.find((l) => l.includes("done in"))).toMatch(/attached 12, detached 0, adopted 0/);
    await env.provider.delete(made.id, made.outs);
  });

  it("a state written with owner = resource ID keeps working: diff asks one update, which rewrites the tags with no binding call", async () => {
    const ids = instanceIds(21, 3);
    const old = await up({}, { keyPairId: keyA.keyPairId, instanceIds: ids });
    expect(ids.every((id) => ownerOf(id) === old.id)).toBe(true);
    const news = await checked(env, { __owner: "shop/prod/legacy", keyPairId: keyA.keyPairId, instanceIds: ids }, old.outs);
    expect((await env.provider.diff(old.id, old.outs, news)).changes).toBe(true);
    env.clearJournal();
    const { outs } = await env.provider.update(old.id, old.outs, news);
    expect(bindingOrPowerCalls()).toEqual([]);
    expect(ids.every((id) => ownerOf(id) === "shop/prod/legacy")).toBe(true);
    expect((await env.provider.diff(old.id, outs, await checked(env, { __owner: "shop/prod/legacy", keyPairId: keyA.keyPairId, instanceIds: ids }, outs))).changes).toBe(false);
    await env.provider.delete(old.id, outs);
  });
});

describe("rule 2: a takeover is final", () => {
  it.each([
    ["another key", () => keyB, 31],
    ["the same key", () => keyA, 36],
  ])("with %s: the old owner drops the instances with one line, and neither stack changes anything afterwards", async (_, takerKey, from) => {
    const ids = instanceIds(from as number, 5);
    const a = await up({}, { __owner: "p/a/web", __attachmentName: "a", keyPairId: keyA.keyPairId, instanceIds: ids });
    const b = await up({}, { __owner: "p/b/web", __attachmentName: "b", keyPairId: takerKey().keyPairId, instanceIds: ids.slice(0, 2), takeOwnership: true });
    expect(b.outs.attachedInstanceIds).toEqual(ids.slice(0, 2));
    env.clearJournal();
    env.logs.length = 0;
    const a2 = await up(a, { __owner: "p/a/web", __attachmentName: "a", keyPairId: keyA.keyPairId, instanceIds: ids });
    expect(bindingOrPowerCalls()).toEqual([]);
    expect(a2.outs.attachedInstanceIds).toEqual(ids.slice(2));
    expect(a2.outs.yieldedInstanceIds).toEqual(ids.slice(0, 2));
    expect(env.logs.filter((l) => l.includes("taken over by p/b/web"))).toHaveLength(2); // diff's line and the update's
    for (const [res, news] of [
      [a2, { __owner: "p/a/web", keyPairId: keyA.keyPairId, instanceIds: ids }],
      [b, { __owner: "p/b/web", keyPairId: takerKey().keyPairId, instanceIds: ids.slice(0, 2), takeOwnership: true }],
    ] as const) {
      expect((await env.provider.diff(res.id!, res.outs, await checked(env, news, res.outs))).changes).toBe(false);
    }
    expect(ids.slice(0, 2).every((id) => ownerOf(id) === "p/b/web")).toBe(true);
    await env.provider.delete(b.id!, b.outs);
    await env.provider.delete(a2.id!, a2.outs);
    expect(world(ids).every((i) => !i.keyPairName)).toBe(true);
  });

  it("an owner tag whose owner's key is no longer on the instance is stale: replaced with a warning, not a refusal", async () => {
    const ids = instanceIds(41, 2);
    await client.tagResources(ids, [{ Key: OWNER_TAG, Value: `${keyB.keyPairId}/p/dead/gone` }]);
    const made = await up({}, { __owner: "p/live/web", keyPairId: keyA.keyPairId, instanceIds: ids });
    expect(made.outs.attachedInstanceIds).toEqual(ids);
    expect(ids.every((id) => ownerOf(id) === "p/live/web")).toBe(true);
    await env.provider.delete(made.id, made.outs);
  });
});

describe("rule 3: claim before bind, check after", () => {
  it.each([
    ["different keys", () => keyB],
    ["the same key", () => keyA],
  ])("two stacks racing on overlapping sets (%s): one owner per instance, each state is exactly what ENS has for it, later runs change nothing", async (_, keyOfB) => {
    const a = instanceIds(51, 20);
    const b = instanceIds(61, 20);
    const run = (owner: string, kp: { keyPairId: string }, ids: string[]) =>
      checked(env, { __owner: owner, keyPairId: kp.keyPairId, instanceIds: ids }).then((i) => env.provider.create(i).then((r) => ({ id: r.id, outs: r.outs as any, err: undefined as any }), (err) => ({ id: err.id, outs: err.properties, err })));
    const [ra, rb] = await Promise.all([run("p/a/race", keyA, a), run("p/b/race", keyOfB(), b)]);
    const kb = keyOfB().keyPairName;
    for (const [r, ids, owner, key] of [[ra, a, "p/a/race", "key-a"], [rb, b, "p/b/race", kb]] as const) {
      const truth = world(ids).filter((i) => i.keyPairName === key && parseOwnerTag(i.tags[OWNER_TAG] ?? "").owner === owner).map((i) => i.instanceId).sort();
      expect(r.outs.attachedInstanceIds).toEqual(truth);
      // Every instance asked for and not recorded is named in the error.
      for (const id of ids.filter((i) => !truth.includes(i))) expect(r.err?.message ?? "").toContain(id);
    }
    const shared = a.filter((i) => b.includes(i));
    for (const id of shared) expect(ra.outs.attachedInstanceIds.includes(id) && rb.outs.attachedInstanceIds.includes(id)).toBe(false);
    env.clearJournal();
    const again = await Promise.all([
      up({ id: ra.id, outs: ra.outs }, { __owner: "p/a/race", keyPairId: keyA.keyPairId, instanceIds: a }),
      up({ id: rb.id, outs: rb.outs }, { __owner: "p/b/race", keyPairId: keyOfB().keyPairId, instanceIds: b }),
    ]);
    expect(bindingOrPowerCalls()).toEqual([]);
    await env.provider.delete(again[0].id!, again[0].outs);
    await env.provider.delete(again[1].id!, again[1].outs);
  });

  it("an instance another run claims between the claim and the read back is lost to it: reported naming the winner, left out of the state", async () => {
    const ids = instanceIds(81, 3);
    let claimed = false;
    let played = false;
    const proxy = await startWireProxy(env.emu.url, {
      before: async (action) => {
        // Right after this run's claim (its first TagResources), before it reads the claims back: another run writes its
        // own claim on the first instance.
        if (action === "TagResources") claimed = true;
        else if (action === "ListTagResources" && claimed && !played) {
          played = true;
          await client.tagResources([ids[0]], [{ Key: OWNER_TAG, Value: `${keyB.keyPairId}@${Math.ceil(Date.now() / 1000) + 600}/p/other/winner` }]);
        }
      },
    });
    process.env.ENS_ENDPOINT = proxy.url;
    try {
      const inputs = await checked(env, { __owner: "p/me/loser", keyPairId: keyA.keyPairId, instanceIds: ids });
      const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
      expect(err?.message).toContain(`${ids[0]}: AttachKeyPair failed: ClaimedByAnotherRun: p/other/winner claimed it`);
      expect(err.properties.attachedInstanceIds).toEqual(ids.slice(1));
      expect(world([ids[0]])[0].keyPairName).toBeUndefined();
      await env.provider.delete(err.id, err.properties);
    } finally {
      process.env.ENS_ENDPOINT = env.emu.url;
      await proxy.close();
    }
  });
});

describe("rule 4: leases are a run's", () => {
  it("a live lease of another run is left alone (never started); an expired one is started; an unrelated resource's diff does not change for either", async () => {
    const [live, expired] = [instanceIds(91, 1), instanceIds(92, 1)];
    for (const id of [...live, ...expired]) env.emu.world.setInstanceStatus(id, "Stopped");
    await client.tagResources(live, [{ Key: LEASE_TAG, Value: leaseValue("0000a11e", "p/other/live", Date.now() + 600_000) }]);
    await client.tagResources(expired, [{ Key: LEASE_TAG, Value: leaseValue("0000dead", "p/other/dead", Date.now() - 1000) }]);
    const ids = instanceIds(95, 2);
    const made = await up({}, { __owner: "p/me/web", keyPairId: keyA.keyPairId, instanceIds: ids });
    const news = await checked(env, { __owner: "p/me/web", keyPairId: keyA.keyPairId, instanceIds: ids }, made.outs);
    expect((await env.provider.diff(made.id, made.outs, news)).changes).toBe(false);
    expect(world(live)[0].status).toBe("Stopped");
    expect(world(live)[0].tags[LEASE_TAG]).toBeDefined();
    expect(["Starting", "Running"]).toContain(world(expired)[0].status);
    await client.untagResources(live, [LEASE_TAG]);
    await env.provider.delete(made.id, made.outs);
  });
});

describe("rule 4: a refused check", () => {
  it("names the instances an interrupted run of the resource left stopped (the operation that would start them does not run)", async () => {
    const [left, running1] = [instanceIds(231, 2), instanceIds(233, 1)];
    for (const id of left) env.emu.world.setInstanceStatus(id, "Stopped");
    running(running1);
    await client.tagResources(left, [{ Key: LEASE_TAG, Value: leaseValue("0000c0de", "p/me/crashed", Date.now() + 600_000) }]);
    try {
      const res = await env.provider.check({}, { __provider: "P", __owner: "p/me/crashed", keyPairId: keyA.keyPairId, instanceIds: [...left, ...running1] });
      expect(res.failures.map((f) => f.reason)).toEqual([
        expect.stringContaining(`1 instance(s) to bind or unbind are Running (${running1[0]})`),
        `2 instance(s) an interrupted run of this resource left Stopped (${left.join(", ")}) stay Stopped while this check fails: fix the above and run pulumi up (its first step starts them again), or start them yourself (StartInstances or the ENS console)`,
      ]);
      expect(world(left).map((i) => i.status)).toEqual(["Stopped", "Stopped"]);
    } finally {
      await client.untagResources(left, [LEASE_TAG]);
    }
  });
});

describe("F9: an owner whose run died and nothing ran since", () => {
  it("a create refused for instances another resource owns says when that owner's run died there (its lease expired beside its claim): takeOwnership takes them if it is gone", async () => {
    const ids = instanceIds(241, 2);
    for (const id of ids) env.emu.world.setInstanceKey(id, "key-a");
    await client.tagResources(ids, [
      { Key: OWNER_TAG, Value: ownerTagValue(keyA.keyPairId, "p/gone/web", Date.now() - 1000) },
      { Key: LEASE_TAG, Value: leaseValue("0000dead", "p/gone/web", Date.now() - 1000) },
    ]);
    try {
      const res = await env.provider.check({}, { __provider: "P", __owner: "p/new/web", keyPairId: keyB.keyPairId, instanceIds: ids, stopInstances: true });
      expect(res.failures.map((f) => f.reason)).toEqual([
        expect.stringMatching(/^instanceIds: 2 instance\(s\) are bound and owned by another resource: .*\. The run of the owner that bound them was interrupted and nothing has run since \(its stop lease expired\): if that resource no longer exists \(a pulumi destroy after a killed pulumi up never reaches the provider\), takeOwnership: true takes them over, or ens-keypair-recover --owner p\/gone\/web --release frees them$/),
      ]);
    } finally {
      await client.untagResources(ids, [OWNER_TAG, LEASE_TAG]);
    }
  });
});

describe("rule 5: stop limits hold for the fleet", () => {
  it("two attachments of one process, maxStoppedPerRegion 2 each, never put more than 2 of a region down together", async () => {
    const [a, b] = [instanceIds(101, 8), instanceIds(111, 8)];
    running([...a, ...b]);
    env.clearJournal();
    const go = (owner: string, ids: string[]) => checked(env, { __owner: owner, keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 10, maxStoppedPerRegion: 2 }).then((i) => env.provider.create(i));
    const made = await Promise.all([go("p/x/one", a), go("p/x/two", b)]);
    const peaks = Object.values(env.emu.stats().peakStoppedByRegion) as number[];
    expect(Math.max(...peaks)).toBeLessThanOrEqual(2);
    expect(world([...a, ...b]).every((i) => i.status === "Running" && i.keyPairName === "key-a")).toBe(true);
    for (const m of made) await env.provider.delete(m.id, m.outs);
  });

  it("preview states the effective concurrency: the resource's bounds over its regions, tightened by another run that holds instances down now", async () => {
    const ids = [...instanceIds(193, 4), ...instanceIds(321, 4)]; // two regions: 1-200 and 201-400
    running(ids);
    const news = { __owner: "p/x/three", keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 10, maxStoppedPerRegion: 3 };
    await checked(env, news);
    expect(env.logs.join("\n")).toMatch(/stop 8 Running instance\(s\) first, rolling at most 6 at once: 3 per region x 2 region\(s\) \(\S+ 4, \S+ 4\);/);
    // Another stack's run has two instances down under a lease of maxStoppedInstances 2, 1 per region.
    const other = instanceIds(311, 2);
    await client.tagResources(other, [{ Key: LEASE_TAG, Value: leaseValue("0000a11f", "p/other/run", Date.now() + 600_000, { maxStopped: 2, maxStoppedPerRegion: 1 }) }]);
    env.logs.length = 0;
    try {
      await checked(env, news);
      expect(env.logs.join("\n")).toMatch(/stop 8 Running instance\(s\) first, rolling at most 2 at once: 1 per region x 2 region\(s\), less the 2 other runs hold down now \(/);
    } finally {
      await client.untagResources(other, [LEASE_TAG]);
    }
  });
});

describe("rule 6: tag failures stay per instance", () => {
  it("an instance at ENS's tag limit fails alone in a stop-first run: not stopped, not bound, named; the others proceed", async () => {
    const ids = instanceIds(131, 6);
    running(ids);
    await client.tagResources([ids[2]], Array.from({ length: 20 }, (_, i) => ({ Key: `team:${i}`, Value: "x" })));
    env.clearJournal();
    const inputs = await checked(env, { __owner: "p/t/full", keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    expect(err?.message).toMatch(new RegExp(`${ids[2]}: AttachKeyPair failed: [^\\n]*could not take the tags`));
    expect(err.properties.attachedInstanceIds).toEqual(ids.filter((_, i) => i !== 2));
    expect(stopsOf(ids[2])).toBe(0);
    expect(world(ids).every((i) => i.status === "Running")).toBe(true);
    await env.provider.delete(err.id, err.properties);
  });
});

describe("rule 8: one answer is not evidence of absence", () => {
  it("an instance missing from one DescribeInstances answer is looked at again: still bound, never dropped from the state", async () => {
    const ids = instanceIds(141, 3);
    const made = await up({}, { __owner: "p/m/web", keyPairId: keyA.keyPairId, instanceIds: ids });
    let dropped = 0;
    const proxy = await startWireProxy(env.emu.url, {
      answer: (action, _n, body) => {
        if (action !== "DescribeInstances" || dropped) return body;
        dropped++;
        const list = body.Instances.Instance;
        return { ...body, Instances: { Instance: list.filter((i: any) => i.InstanceId !== ids[1]) }, TotalCount: list.length - 1 };
      },
    });
    process.env.ENS_ENDPOINT = proxy.url;
    try {
      const news = await checked(env, { __owner: "p/m/web", keyPairId: keyA.keyPairId, instanceIds: [ids[0]] }, made.outs);
      const { outs } = await env.provider.update(made.id, made.outs, news);
      expect(dropped).toBe(1);
      expect(outs.attachedInstanceIds).toEqual([ids[0]]);
      expect(world(ids.slice(1)).every((i) => !i.keyPairName)).toBe(true);
      await env.provider.delete(made.id, outs);
    } finally {
      process.env.ENS_ENDPOINT = env.emu.url;
      await proxy.close();
    }
  });

  it.each([
    ["ENS applied it", false, true],
    ["ENS did not apply it", true, false],
  ])("a per-instance Code 200 with Success false is decided by observation (%s): recorded as ENS shows it, a failure only if it is not bound", async (_, refuse, bound) => {
    const ids = instanceIds(331 + (refuse ? 5 : 0), 3);
    if (refuse) env.emu.setFaults({ instanceFailures: { [ids[1]]: { code: "InternalError", message: "The request processing has failed." } } });
    const proxy = await startWireProxy(env.emu.url, {
      answer: (action, _n, body) => {
        if (action !== "AttachKeyPair") return body;
        const results = body.Results.map((r: any) => (r.InstanceId === ids[1] ? { ...r, Code: 200, Success: false } : r));
        return { ...body, Results: results };
      },
    });
    process.env.ENS_ENDPOINT = proxy.url;
    try {
      const inputs = await checked(env, { __owner: "p/m/ok200", keyPairId: keyA.keyPairId, instanceIds: ids });
      const made = await env.provider.create(inputs).then((r) => ({ ...r, error: undefined as any }), (e) => ({ id: e.id, outs: e.properties, error: e }));
      expect(world([ids[1]])[0].keyPairName === "key-a").toBe(bound);
      expect(made.outs.attachedInstanceIds).toEqual(bound ? ids : [ids[0], ids[2]]);
      if (bound) expect(made.error).toBeUndefined();
      else expect(made.error.message).toContain(`${ids[1]}: AttachKeyPair failed`);
      process.env.ENS_ENDPOINT = env.emu.url;
      env.emu.setFaults({});
      await env.provider.delete(made.id, made.outs);
    } finally {
      process.env.ENS_ENDPOINT = env.emu.url;
      env.emu.setFaults({});
      await proxy.close();
    }
  });
});

/** A second provider process (its own module registry: no shared window registry), pointed at the same ENS. */
function otherProcess(): typeof env.provider {
  let mod: any;
  jest.isolateModules(() => {
    mod = require("../../provider");
  });
  mod.setLogger({ info: () => {}, warn: () => {} });
  return mod.provider;
}

describe("regressions found by the soak (tests/soak/FINDINGS.md)", () => {
  it("F1: two provider processes stopping at once count each other's instances (the leases carry their bounds)", async () => {
    const [a, b] = [instanceIds(151, 6), instanceIds(161, 6)];
    running([...a, ...b]);
    env.clearJournal();
    const other = otherProcess();
    const go = (p: typeof env.provider, owner: string, ids: string[], max: number) =>
      checked(env, { __owner: owner, keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: max }).then((i) => p.create(i));
    const made = await Promise.all([go(env.provider, "p/f1/one", a, 1), go(other, "p/f1/two", b, 4)]);
    // Each run counts the other's instances, and keeps the other's bound while the other holds any down: never 1 + 4.
    expect(env.emu.stats().peakStopped).toBeLessThanOrEqual(4);
    expect(world([...a, ...b]).every((i) => i.status === "Running" && i.keyPairName === "key-a" && !(LEASE_TAG in i.tags))).toBe(true);
    await env.provider.delete(made[0].id, made[0].outs);
    await other.delete(made[1].id, made[1].outs);
  }, 180_000);

  it("F3: an update refused for another reason still drops the instances another resource took over", async () => {
    const ids = instanceIds(171, 3);
    const a = await up({}, { __owner: "p/f3/a", keyPairId: keyA.keyPairId, instanceIds: ids });
    const b = await up({}, { __owner: "p/f3/b", keyPairId: keyB.keyPairId, instanceIds: [ids[0]], takeOwnership: true });
    const news = await checked(env, { __owner: "p/f3/a", keyPairId: keyA.keyPairId, instanceIds: [...ids, "i-emu00000399"] }, a.outs);
    env.emu.world.setInstanceStatus("i-emu00000399", "Running"); // refused: Running without stopInstances
    const err = await env.provider.update(a.id, a.outs, news).then(() => undefined, (e) => e);
    env.emu.world.setInstanceStatus("i-emu00000399", "Stopped");
    expect(err?.message).toContain(`were taken over by p/f3/b`);
    expect(err.properties.attachedInstanceIds).toEqual(ids.slice(1));
    expect(err.properties.yieldedInstanceIds).toEqual([ids[0]]);
    await env.provider.delete(b.id, b.outs);
    await env.provider.delete(a.id, err.properties);
  });

  it("F4: instances taken over that already carry the key are claimed before anything else and checked after", async () => {
    const ids = instanceIds(181, 3);
    const a = await up({}, { __owner: "p/f4/a", keyPairId: keyA.keyPairId, instanceIds: ids });
    env.clearJournal();
    const b = await up({}, { __owner: "p/f4/b", keyPairId: keyA.keyPairId, instanceIds: ids, takeOwnership: true });
    const journal = env.emu.journal();
    const firstClaim = journal.findIndex((j) => j.action === "TagResources" && Object.values(j.params).some((v) => String(v).includes("/p/f4/b")));
    const lastRead = journal.map((j) => j.action).lastIndexOf("ListTagResources");
    expect(firstClaim).toBeGreaterThanOrEqual(0);
    expect(lastRead).toBeGreaterThan(firstClaim); // read back (and checked after) once claimed
    expect(b.outs.attachedInstanceIds).toEqual(ids);
    expect(ids.every((id) => ownerOf(id) === "p/f4/b")).toBe(true);
    await env.provider.delete(b.id, b.outs);
    void a;
  });

  it.each([
    ["a plain create", false],
    ["a stop-first create (the rolling window)", true],
  ])("F10: %s whose attach failed on an instance takes its claim back: another resource binds it at once, without takeOwnership", async (_, stopFirst) => {
    const ids = stopFirst ? instanceIds(251, 4) : instanceIds(261, 4);
    if (stopFirst) running(ids);
    env.emu.setFaults({ instanceFailures: { [ids[1]]: { code: "NoPermission", message: "Permission denied." } } });
    const inputs = await checked(env, { __owner: "p/f10/a", keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: stopFirst });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    env.emu.setFaults({});
    expect(err?.message).toContain(`${ids[1]}: AttachKeyPair failed: NoPermission`);
    expect(err.properties.attachedInstanceIds).toEqual(ids.filter((i) => i !== ids[1]));
    // Bound: claimed. Not bound: no claim of this resource left behind to block other resources for minutes.
    expect(ids.map(ownerOf)).toEqual(ids.map((i) => (i === ids[1] ? undefined : "p/f10/a")));
    const b = await up({}, { __owner: "p/f10/b", keyPairId: keyB.keyPairId, instanceIds: [ids[1]], stopInstances: stopFirst });
    expect(b.outs.attachedInstanceIds).toEqual([ids[1]]);
    expect(ownerOf(ids[1])).toBe("p/f10/b");
    await env.provider.delete(b.id, b.outs);
    await env.provider.delete(err.id, err.properties);
  });

  it("F10: a takeover whose attach failed gives the instance back to its owner: the owner tag is the owner's again, and the owner's next run changes nothing", async () => {
    const ids = instanceIds(221, 2);
    const a = await up({}, { __owner: "p/f10/owner", keyPairId: keyA.keyPairId, instanceIds: ids });
    env.emu.setFaults({ instanceFailures: { [ids[0]]: { code: "NoPermission", message: "Permission denied." } } });
    const inputs = await checked(env, { __owner: "p/f10/taker", keyPairId: keyB.keyPairId, instanceIds: ids, takeOwnership: true });
    const err = await env.provider.create(inputs).then(() => undefined, (e) => e);
    env.emu.setFaults({});
    expect(err.properties.attachedInstanceIds).toEqual([ids[1]]);
    expect(ids.map(ownerOf)).toEqual(["p/f10/owner", "p/f10/taker"]);
    env.clearJournal();
    const again = await up(a, { __owner: "p/f10/owner", keyPairId: keyA.keyPairId, instanceIds: ids });
    expect(bindingOrPowerCalls()).toEqual([]);
    expect(again.outs.attachedInstanceIds).toEqual([ids[0]]);
    await env.provider.delete(err.id, err.properties);
    await env.provider.delete(again.id, again.outs);
  });

  it("F12: a window that waits on another run's lease while ENS stops answering the lease reads goes on once that lease has expired (it waited forever on its last view)", async () => {
    const ids = instanceIds(271, 2);
    const other = instanceIds(281, 1);
    running([...ids, ...other]);
    // Another run holds one instance down with maxStoppedInstances 1: no slot for anyone until its lease expires.
    env.emu.world.setInstanceTags(other[0], { [LEASE_TAG]: leaseValue("0000f12a", "p/f12/other", Date.now() + 3_000, { maxStopped: 1 }) });
    let [windowReads, failed] = [0, 0];
    const proxy = await startWireProxy(env.emu.url, {
      answer: (action, _n, body, _status, req) => {
        const byKey = action === "ListTagResources" && !req.url.includes("ResourceId") && decodeURIComponent(req.url).includes(LEASE_TAG);
        if (!byKey || !env.logs.some((l) => l.includes("stopping 2 Running instance(s) first"))) return body;
        // The window's first read is answered (it sees the other run's lease); the later ones fail.
        if (++windowReads <= 1) return body;
        failed++;
        return { __status: 400, body: { RequestId: "f12", Code: "InvalidParameter", Message: "refused by the test" } };
      },
    });
    process.env.ENS_ENDPOINT = proxy.url;
    try {
      const inputs = await checked(env, { __owner: "p/f12/web", keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 2, stopTimeoutSeconds: 60 });
      const made = await env.provider.create(inputs);
      expect(failed).toBeGreaterThan(0);
      expect(made.outs.attachedInstanceIds).toEqual(ids);
      expect(world(ids).every((i) => i.status === "Running" && i.keyPairName === "key-a")).toBe(true);
      process.env.ENS_ENDPOINT = env.emu.url;
      await env.provider.delete(made.id, made.outs);
    } finally {
      process.env.ENS_ENDPOINT = env.emu.url;
      env.emu.world.setInstanceTags(other[0], { [LEASE_TAG]: undefined });
      await proxy.close();
    }
  }, 60_000);

  it("F13: a destroy that fails names every instance its state lists that no longer carries its key (a failed delete cannot change the state)", async () => {
    const ids = instanceIds(291, 3);
    const a = await up({}, { __owner: "p/f13/a", keyPairId: keyA.keyPairId, instanceIds: ids });
    env.emu.world.setInstanceKey(ids[0], "key-b"); // re-keyed since (a rotation's new resource, a person)
    env.emu.setFaults({ instanceFailures: { [ids[1]]: { code: "NoPermission", message: "Permission denied." } } });
    const err = await env.provider.delete(a.id, a.outs).then(() => undefined, (e) => e as Error);
    env.emu.setFaults({});
    expect(err?.message).toContain(`${ids[1]}: DetachKeyPair failed: NoPermission`);
    expect(err?.message).toContain(`instance(s) the state lists no longer carry key-a: ${ids[0]}`);
    expect(err?.message).not.toContain(`${ids[2]}:`);
    await env.provider.delete(a.id, { ...a.outs, attachedInstanceIds: [ids[1]] });
    env.emu.world.setInstanceKey(ids[0], undefined);
  });

  it("F7: refresh reads the owner tags: an instance another resource took over is yielded, not attached", async () => {
    const ids = instanceIds(191, 2);
    const a = await up({}, { __owner: "p/f7/a", keyPairId: keyA.keyPairId, instanceIds: ids });
    const b = await up({}, { __owner: "p/f7/b", keyPairId: keyA.keyPairId, instanceIds: [ids[0]], takeOwnership: true });
    const refreshed = await env.provider.read(a.id, a.outs);
    expect(refreshed.props.attachedInstanceIds).toEqual([ids[1]]);
    expect(refreshed.props.yieldedInstanceIds).toEqual([ids[0]]);
    await env.provider.delete(b.id, b.outs);
    await env.provider.delete(a.id, refreshed.props);
  });
});

describe("rule 7: tag permissions", () => {
  it("a RAM user without the tag actions gets one sentence naming them, in preview and up, before any change", async () => {
    const ids = instanceIds(201, 2);
    const proxy = await startWireProxy(env.emu.url, {
      answer: (action, _n, body) =>
        action === "ListTagResources" ? { __status: 403, body: { RequestId: "R-1", Code: "Forbidden.RAM", Message: "User not authorized to operate on the specified resource." } } : body,
    });
    process.env.ENS_ENDPOINT = proxy.url;
    try {
      const checkedRes = await env.provider.check({}, { __provider: "P", __owner: "p/ram/web", keyPairId: keyA.keyPairId, instanceIds: ids });
      expect(checkedRes.failures).toEqual([{ property: "", reason: expect.stringContaining("grant ens:ListTagResources, ens:TagResources, ens:UntagResources") }]);
      env.clearJournal();
      const err = await env.provider.create(checkedRes.inputs).then(() => undefined, (e) => e);
      expect(err?.message).toMatch(/^ListTagResources: Forbidden\.RAM: the access key may not call ListTagResources\..*Nothing was changed\.$/);
      expect(bindingOrPowerCalls()).toEqual([]);
    } finally {
      process.env.ENS_ENDPOINT = env.emu.url;
      await proxy.close();
    }
  });

  it("with ens:ownershipTags false the same user runs: no tag action reaches ENS, each resource is told once what it goes without, and the rules still hold within the process", async () => {
    const ids = instanceIds(211, 4);
    running(ids);
    const denied = { __status: 403, body: { RequestId: "R-2", Code: "Forbidden.RAM", Message: "User not authorized to operate on the specified resource." } };
    const proxy = await startWireProxy(env.emu.url, { answer: (action, _n, body) => (/TagResources$/.test(action) ? denied : body) });
    process.env.ENS_ENDPOINT = proxy.url;
    process.env.ENS_OWNERSHIP_TAGS = "false";
    try {
      const web = await up({}, { __owner: "p/off/web", __attachmentName: "web", keyPairId: keyA.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 2 });
      expect(web.outs.attachedInstanceIds).toEqual(ids);
      expect(world(ids).map((i) => [i.keyPairName, i.status])).toEqual(ids.map(() => ["key-a", "Running"]));
      // Another resource of the same program may not re-key them without takeOwnership: the owners are known in the process.
      const other = await env.provider.check({}, { __provider: "P", __owner: "p/off/db", __attachmentName: "db", keyPairId: keyB.keyPairId, instanceIds: [ids[0]], stopInstances: true });
      expect(other.failures).toEqual([{ property: "", reason: expect.stringContaining(`${ids[0]} (owner p/off/web)`) }]);
      await up(web, { __owner: "p/off/web", __attachmentName: "web", keyPairId: keyA.keyPairId, instanceIds: ids.slice(1), stopInstances: true, maxStoppedInstances: 2 });
      expect(world([ids[0]]).map((i) => [i.keyPairName, i.status])).toEqual([[undefined, "Running"]]);
      expect(Object.keys(proxy.counts).filter((a) => /Tag/.test(a))).toEqual([]);
      const told = env.logs.filter((l) => l.includes("ownership tags are off (ens:ownershipTags false)"));
      expect(told.map((l) => l.replace(/:.*/s, ""))).toEqual(["warning", "warning"]);
      expect(told[0]).toContain("another stack or program can re-key these instances without takeOwnership".replace(/^a/, "A"));
    } finally {
      delete process.env.ENS_OWNERSHIP_TAGS;
      process.env.ENS_ENDPOINT = env.emu.url;
      await proxy.close();
    }
  });
});

import { EnsClient } from "../../provider/ens";
import { LEASE_TAG, leaseValue, OWNER_TAG, ownerTagValue, parseLease, parseOwnerTag } from "../../provider/protocol";
import { recoverOwner } from "../../provider/protocol/recover";
import { instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";
import { leftover as leftoverOf, recoverBin } from "../helpers/recover-env";

/**
 * ens-keypair-recover (provider/protocol/recover.ts, provider/recover-cli.ts) under a review of its first version
 * (5743bc9, helper-9): owner names (prefixes, shortened forms that differ between owner tag and lease), live runs
 * (a fresh claim without a lease, a takeover between two reads), deleted key pairs, per-instance failures, the refusal
 * hint that names the command, and the bin (secrets, a misspelt owner, ENS_OWNERSHIP_TAGS). Nine of these failed there.
 */

let env: ProviderEnv;
let client: EnsClient;
let key: { keyPairId: string; keyPairName: string };
const OWNER = "shop/prod/web";
const waits = { timeoutMs: 30_000, pollIntervalMs: 20 };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 120, stopDelayMs: 20, startDelayMs: 20 });
  env.emu.world.addKeyPair({ keyPairName: "key-a" });
  env.emu.world.addKeyPair({ keyPairName: "key-gone" });
  env.emu.world.addKeyPair({ keyPairName: "key-b" });
  key = keyOf(env.emu, "key-a");
  client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
});
afterAll(() => env.close());
beforeEach(() => {
  env.clearJournal();
  env.emu.setFaults({});
});

const world = (ids: string[]) => env.emu.state().instances.filter((i) => ids.includes(i.instanceId));
const one = (id: string) => world([id])[0];

const leftover = (bound: string[], stopped: string[], owner = OWNER, agoMs = 5_000, keyName = "key-a") => leftoverOf(env, bound, stopped, { owner, agoMs, keyName });

describe("owner names", () => {
  it("prefix: recovering shop/prod/web leaves shop/prod/web2 (leases, claims, keys) alone", async () => {
    const [mine, theirs] = [instanceIds(1, 2), instanceIds(3, 2)];
    leftover(mine, [], "shop/prod/web");
    leftover(theirs, [], "shop/prod/web2");
    const r = await recoverOwner(client, "shop/prod/web", { unbind: true, waits, log: () => undefined });
    expect(r.unbound.sort()).toEqual(mine);
    expect(world(theirs).every((i) => i.status === "Stopped" && i.keyPairName === "key-a" && OWNER_TAG in i.tags && LEASE_TAG in i.tags)).toBe(true);
  });

  it("two long owners sharing a head (shortened with ~digest): only the named one is recovered", async () => {
    const head = "proj/stack/" + "x".repeat(100);
    const [a, b] = [`${head}-a`, `${head}-b`];
    const [ia, ib] = [instanceIds(5, 2), instanceIds(7, 2)];
    leftover(ia, [], a);
    leftover(ib, [], b);
    const r = await recoverOwner(client, a, { unbind: true, waits, log: () => undefined });
    expect(r.unbound.sort()).toEqual(ia);
    expect(r.started.sort()).toEqual(ia);
    expect(world(ib).every((i) => i.status === "Stopped" && i.keyPairName === "key-a" && OWNER_TAG in i.tags && LEASE_TAG in i.tags)).toBe(true);
  });

  it("a long owner named as its owner tag shows it (the USAGE: `as its owner tag names it`): its expired leases are still found and started", async () => {
    const long = "proj/stack/" + "y".repeat(110);
    const ids = instanceIds(9, 3);
    leftover(ids, [], long);
    const asTagged = parseOwnerTag(one(ids[0]).tags[OWNER_TAG]).owner;
    expect(asTagged).toContain("~"); // shortened in the owner tag ...
    expect(parseLease(one(ids[0]).tags[LEASE_TAG]).owner).not.toBe(asTagged); // ... and differently in the lease
    const r = await recoverOwner(client, asTagged, { unbind: true, waits, log: () => undefined });
    expect(r.unbound.sort()).toEqual(ids); // the claims are found by the tag's form
    expect({ started: r.started.sort(), stillStopped: world(ids).filter((i) => i.status !== "Running").map((i) => i.instanceId), leases: world(ids).filter((i) => LEASE_TAG in i.tags).length }).toEqual({ started: ids, stillStopped: [], leases: 0 });
  });
});

describe("live runs", () => {
  it("a fresh claim of the owner without any lease (a live run binding already-Stopped instances, stopInstances false) is not detached by --unbind", async () => {
    const id = instanceIds(12, 1)[0];
    env.emu.world.setInstanceStatus(id, "Stopped");
    env.emu.world.setInstanceKey(id, "key-a");
    // Rule 3: claim (fresh for 2 x stopTimeout + lease lifetime) written before the binding call; no lease: nothing is stopped.
    env.emu.world.setInstanceTags(id, { [OWNER_TAG]: ownerTagValue(key.keyPairId, OWNER, Date.now() + 660_000) });
    const r = await recoverOwner(client, OWNER, { unbind: true, waits, log: () => undefined });
    expect({ key: one(id).keyPairName, claimed: OWNER_TAG in one(id).tags, unbound: r.unbound }).toEqual({ key: "key-a", claimed: true, unbound: [] });
  });

  it("the claim read back after the listing is another owner's (taken over meanwhile, same key pair): --unbind does not detach it and does not count it released", async () => {
    const [mine, taken] = instanceIds(14, 2);
    leftover([mine, taken], []);
    const other = ownerTagValue(key.keyPairId, "shop/prod/db", Date.now() + 600_000);
    // Between findOwnClaims' ListTagResources (by tag key) and readTags (by ID): shop/prod/db takes `taken` over.
    const racing = new Proxy(client, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== "listTagResources") return typeof v === "function" ? v.bind(target) : v;
        return async (req: { instanceIds?: string[]; tag?: { Key: string } }) => {
          const out = await target.listTagResources(req);
          if (req.tag?.Key === OWNER_TAG) env.emu.world.setInstanceTags(taken, { [OWNER_TAG]: other });
          return out;
        };
      },
    });
    const r = await recoverOwner(racing, OWNER, { unbind: true, waits, log: () => undefined });
    expect({ key: one(taken).keyPairName, owner: one(taken).tags[OWNER_TAG], unbound: r.unbound, released: r.released }).toEqual({ key: "key-a", owner: other, unbound: [mine], released: [mine] });
  });
});

describe("key pairs", () => {
  it("the claimed key pair was deleted (instances keep the dangling name): --unbind does not report a clean run while the instances still show it", async () => {
    const ids = instanceIds(20, 2);
    leftover(ids, [], "shop/prod/gone", 5_000, "key-gone");
    env.emu.world.deleteKeyPair("key-gone");
    const lines: string[] = [];
    const r = await recoverOwner(client, "shop/prod/gone", { unbind: true, waits, log: (l) => lines.push(l) });
    const after = world(ids).map((i) => ({ key: i.keyPairName, owner: OWNER_TAG in i.tags }));
    // Either it says so (a problem: exit 1), or it keeps the claim: never silence with the key still on them.
    expect({ after, unbound: r.unbound, released: r.released, problems: r.problems }).toEqual({ after, unbound: [], released: r.released, problems: [expect.anything(), expect.anything()] });
  });

  it("without a flag, a deleted key pair's instances are not described as carrying the owner tag `without its key pair`", async () => {
    const ids = instanceIds(22, 1);
    env.emu.world.addKeyPair({ keyPairName: "key-gone2" });
    leftover(ids, [], "shop/prod/gone2", 5_000, "key-gone2");
    env.emu.world.deleteKeyPair("key-gone2");
    const lines: string[] = [];
    await recoverOwner(client, "shop/prod/gone2", { waits, log: (l) => lines.push(l) });
    expect(one(ids[0]).keyPairName).toBe("key-gone2");
    expect(lines.join("\n")).not.toContain("owner tag without its key pair");
  });

  it("per-instance DetachKeyPair failure: named, claim kept, the others unbound and released", async () => {
    const ids = instanceIds(24, 3);
    leftover(ids, []);
    env.emu.setFaults({ instanceFailures: { [ids[1]]: { code: "IncorrectInstanceStatus", message: "busy" } }, actions: ["DetachKeyPair"] });
    const r = await recoverOwner(client, OWNER, { unbind: true, waits, log: () => undefined });
    env.emu.setFaults({});
    expect(r.unbound.sort()).toEqual([ids[0], ids[2]]);
    expect(r.problems.some((p) => p.startsWith(`${ids[1]}: DetachKeyPair failed`))).toBe(true);
    expect(one(ids[1]).keyPairName).toBe("key-a");
    expect(OWNER_TAG in one(ids[1]).tags).toBe(true);
    expect(r.bound).toEqual([ids[1]]);
    expect(r.released.sort()).toEqual([ids[0], ids[2]]);
  });
});

describe("the refusal hint that names the command (provider/check.ts)", () => {
  const refuse = async (ids: string[]) => {
    const res = await env.provider.check({}, { __provider: "P", __owner: "p/new/web", keyPairId: keyOf(env.emu, "key-b").keyPairId, instanceIds: ids, stopInstances: true });
    return res.failures.map((f) => f.reason).join("\n");
  };

  it("a long owner (shortened differently in claim and lease): the hint is given, and names an --owner the command recovers the leases with", async () => {
    const long = "p/gone/" + "z".repeat(110);
    const ids = instanceIds(40, 2);
    for (const id of ids) env.emu.world.setInstanceKey(id, "key-a");
    await client.tagResources(ids, [
      { Key: OWNER_TAG, Value: ownerTagValue(key.keyPairId, long, Date.now() - 1000) },
      { Key: LEASE_TAG, Value: leaseValue("0000dead", long, Date.now() - 1000) },
    ]);
    try {
      const said = await refuse(ids);
      expect(said).toContain("ens-keypair-recover --owner");
      const named = /ens-keypair-recover --owner (\S+) --release/.exec(said)?.[1] ?? "";
      const r = await recoverOwner(client, named, { waits, log: () => undefined });
      expect(r.started.sort()).toEqual(ids);
    } finally {
      await client.untagResources(ids, [OWNER_TAG, LEASE_TAG]);
    }
  });

  it("prefix: a standing claim of p/gone/web beside an expired lease of p/gone/web2 is not blamed on p/gone/web (whose --release would strip a live resource's claims)", async () => {
    const ids = instanceIds(43, 1);
    env.emu.world.setInstanceKey(ids[0], "key-a");
    await client.tagResources(ids, [
      { Key: OWNER_TAG, Value: ownerTagValue(key.keyPairId, "p/gone/web", Date.now() - 1000) },
      { Key: LEASE_TAG, Value: leaseValue("0000dead", "p/gone/web2", Date.now() - 1000) },
    ]);
    try {
      expect(await refuse(ids)).not.toContain("ens-keypair-recover --owner p/gone/web --release");
    } finally {
      await client.untagResources(ids, [OWNER_TAG, LEASE_TAG]);
    }
  });
});

describe("the bin", () => {
  const bin = (args: string[], extra: Record<string, string> = {}) => recoverBin(env, args, extra);

  it("a wrong secret: exit 1, the secret is not printed", async () => {
    const wrong = "Wr0ngSecretValue+/=";
    const r = await bin(["--owner", OWNER], { ALIBABA_CLOUD_ACCESS_KEY_SECRET: wrong });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(wrong));
  });

  it("an owner nothing in the account names (a typo): said, not silent (exit 0: a second run over a clean account finds nothing too)", async () => {
    const r = await bin(["--owner", "shop/prod/wbe"]);
    expect({ status: r.status, said: r.stdout }).toEqual({ status: 0, said: expect.stringContaining("no lease and no owner tag at this endpoint names shop/prod/wbe: nothing is left of it, or the name or endpoint is not the one") });
  });

  it("an owner with spaces around it: exit 2, naming the form, before any call", async () => {
    const r = await bin(["--owner", "shop/prod/web "]);
    expect({ status: r.status, said: r.stderr }).toEqual({ status: 2, said: expect.stringContaining("--owner must be <project>/<stack>/<resource name>") });
    expect(env.emu.journal()).toEqual([]);
  });

  it("ENS_OWNERSHIP_TAGS=false in the environment: not a silent exit 0 over an account with leftovers", async () => {
    const ids = instanceIds(30, 2);
    leftover(ids, [], "shop/prod/local");
    const r = await bin(["--owner", "shop/prod/local", "--unbind"], { ENS_OWNERSHIP_TAGS: "false" });
    expect({ status: r.status, stopped: world(ids).filter((i) => i.status === "Stopped").length }).not.toEqual({ status: 0, stopped: 2 });
  });
});

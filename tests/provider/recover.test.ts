import { EnsClient } from "../../provider/ens";
import { LEASE_TAG, OWNER_TAG } from "../../provider/protocol";
import { recoverOwner } from "../../provider/protocol/recover";
import { instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";
import { leftover as leftoverOf, recoverBin } from "../helpers/recover-env";

/**
 * F9's remedy by hand (provider/protocol/recover.ts, bin ens-keypair-recover): what a killed create left for an owner
 * no state holds, crafted as the CLI soak found it (tests/soak/repro-f9.ts): instances Stopped under the run's lease,
 * bound to its key under its owner tag. The real sequence through the CLI is in tests/reliability/crash.test.ts.
 */

let env: ProviderEnv;
let client: EnsClient;
let key: { keyPairId: string; keyPairName: string };
const OWNER = "shop/prod/web";
const waits = { timeoutMs: 30_000, pollIntervalMs: 20 };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 60, stopDelayMs: 20, startDelayMs: 20 });
  env.emu.world.addKeyPair({ keyPairName: "key-a" });
  key = keyOf(env.emu, "key-a");
  client = new EnsClient({ endpoint: env.emu.url, credentials: { accessKeyId: env.emu.accessKeyId, accessKeySecret: env.emu.accessKeySecret } });
});
afterAll(() => env.close());
beforeEach(() => env.clearJournal());

const world = (ids: string[]) => env.emu.state().instances.filter((i) => ids.includes(i.instanceId));
const powerOrBinding = () => env.emu.journal().filter((j) => /^(Attach|Detach)KeyPair$|^St(op|art)Instances?$/.test(j.action));

const leftover = (bound: string[], stopped: string[], agoMs = 5_000, owner = OWNER) => leftoverOf(env, bound, stopped, { owner, agoMs });

it("without a flag: starts what the owner's expired leases hold, lists its claims, unbinds nothing", async () => {
  const [bound, stopped] = [instanceIds(1, 35), instanceIds(36, 5)];
  leftover(bound, stopped);
  const lines: string[] = [];
  const r = await recoverOwner(client, OWNER, { waits, log: (l) => lines.push(l) });
  expect(r.started.sort()).toEqual([...bound, ...stopped].sort());
  expect(world([...bound, ...stopped]).every((i) => i.status === "Running" && !(LEASE_TAG in i.tags))).toBe(true);
  expect(r.bound).toEqual(bound);
  expect(world(bound).every((i) => i.keyPairName === "key-a" && OWNER_TAG in i.tags)).toBe(true);
  expect(lines.join("\n")).toContain(`35 instance(s) carry ${OWNER}'s key pair and owner tag`);
  expect(r.problems).toEqual([]);
});

it("--unbind: detaches the key pair from the Stopped ones (batches of 30) before starting them, removes their owner tags; Running ones are named and kept; a second run makes no call that changes anything", async () => {
  const ids = instanceIds(1, 35);
  leftover(ids, []);
  env.emu.world.setInstanceStatus(ids[0], "Running"); // started by someone since: ENS unbinds only stopped instances
  const r = await recoverOwner(client, OWNER, { unbind: true, waits, log: () => undefined });
  const actions = env.emu.journal().map((j) => j.action);
  expect(actions.filter((a) => a === "DetachKeyPair").length).toBe(2);
  expect(actions.lastIndexOf("DetachKeyPair")).toBeLessThan(actions.indexOf("StartInstances"));
  expect(r.unbound.sort()).toEqual(ids.slice(1).sort());
  expect(r.started.sort()).toEqual(ids.slice(1).sort());
  expect(world(ids).every((i) => i.status === "Running" && !(LEASE_TAG in i.tags))).toBe(true);
  expect(world(ids.slice(1)).every((i) => i.keyPairName === undefined && !(OWNER_TAG in i.tags))).toBe(true);
  expect(r.problems).toEqual([expect.stringMatching(new RegExp(`^${ids[0]}: Running, and ENS unbinds key pairs only from stopped instances: stop it and run this again`))]);
  expect(world([ids[0]])[0].keyPairName).toBe("key-a");
  env.emu.world.setInstanceStatus(ids[0], "Stopped"); // the user stops it, as told
  env.clearJournal();
  // Its claim is fresh and the lease that showed its run was over is gone (the first run removed it): --force, as told.
  expect(r.problems[0]).toContain("run this again with --force");
  expect((await recoverOwner(client, OWNER, { unbind: true, waits, log: () => undefined })).held).toEqual([ids[0]]);
  const again = await recoverOwner(client, OWNER, { unbind: true, force: true, waits, log: () => undefined });
  expect(again.unbound).toEqual([ids[0]]);
  env.clearJournal();
  const third = await recoverOwner(client, OWNER, { unbind: true, waits, log: () => undefined });
  expect(powerOrBinding()).toEqual([]);
  expect(third).toMatchObject({ started: [], unbound: [], released: [], bound: [], problems: [] });
});

it("a live lease of the owner (a run may be under way): its instances are left alone and named; --release removes the owner's other claims, keys stay bound; another owner's leases and claims are never touched", async () => {
  const [held, claimed, theirs] = [instanceIds(41, 3), instanceIds(47, 2), instanceIds(44, 3)];
  leftover(held, [], -60_000);
  leftover(claimed, [], 5_000);
  leftover(theirs, [], 5_000, "shop/prod/db");
  const r = await recoverOwner(client, OWNER, { release: true, waits, log: () => undefined });
  expect(r.held.sort()).toEqual(held);
  expect(r.problems[0]).toMatch(/^3 instance\(s\) are held by a live lease of shop\/prod\/web/);
  expect(world(held).every((i) => i.status === "Stopped" && LEASE_TAG in i.tags && OWNER_TAG in i.tags)).toBe(true);
  expect(r.released.sort()).toEqual(claimed);
  expect(world(claimed).every((i) => i.status === "Running" && i.keyPairName === "key-a" && !(OWNER_TAG in i.tags))).toBe(true);
  expect(world(theirs).every((i) => i.status === "Stopped" && OWNER_TAG in i.tags && LEASE_TAG in i.tags)).toBe(true);
  expect(powerOrBinding().map((j) => j.action)).toEqual(["StartInstances"]);
});

describe("the bin (dist/provider/recover-cli.js)", () => {
  const bin = (args: string[]) => recoverBin(env, args);

  it.each([
    [[], "--owner is required"],
    [["--owner", OWNER, "--unbind", "--release"], "--unbind and --release exclude each other"],
    [["--owner", OWNER, "--stop-timeout", "5m"], `--stop-timeout must be whole seconds, got "5m"`],
    [["--owner", OWNER, "--all"], "Unknown option '--all'"],
  ])("bad arguments %j: exit 2 naming the fix, before any call", async (args, said) => {
    env.clearJournal();
    const r = await bin(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(said);
    expect(r.stderr).toContain("Usage: ens-keypair-recover");
    expect(env.emu.journal()).toEqual([]);
  });

  it("--unbind over a leftover: exit 0, one closing line with the counts, no secret in what it prints", async () => {
    const ids = instanceIds(51, 4);
    leftover(ids, [], 5_000, "shop/prod/cli");
    const r = await bin(["--owner", "shop/prod/cli", "--unbind"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`shop/prod/cli at ${env.emu.url}: started again 4, unbound 4, released 4, still bound 0, held by a live run 0`);
    expect(r.stdout + r.stderr).not.toContain(env.emu.accessKeySecret);
    expect(world(ids).every((i) => i.status === "Running" && i.keyPairName === undefined && Object.keys(i.tags).length === 0)).toBe(true);
  });
});

/**
 * Crash safety through the real CLI: `pulumi up` is killed with SIGKILL in the middle of a stop-first update, while
 * the provider has instances stopped. Afterwards the documented recovery (pulumi cancel, refresh, up) must converge
 * and no instance the provider stopped may stay stopped.
 */
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { LEASE_TAG, OWNER_TAG, parseLease, parseOwnerTag } from "../../provider/protocol";
import { programFolder } from "../helpers/installed-package";
import { boundTo, ids, JournalCursor, keyPairIdOf, marked, MUTATING_ACTIONS, notRunning, waitUntil } from "../helpers/rel-emu";
import { alive, commandOf, killAll, processTree } from "../helpers/rel-process";
import { scanArtifact, summarizeScans } from "../helpers/rel-secrets";
import { E2E_PROGRAM, relStack, RelE2E, RelStack } from "../helpers/rel-stack";
import { summarize } from "../helpers/rel-summary";

jest.setTimeout(420_000);

const ALL = ids(1, 160);
const BEFORE = ids(1, 30);
const AFTER = ids(1, 120);

interface Crash {
  t: RelE2E;
  tree: number[];
  killedAt: number;
  stoppedAtKill: string[];
  output: () => string;
}

/** A stack with 30 instances bound, then an update to 120 running ones, stop-first by 20, killed mid-way. */
async function crashMidStopFirstUpdate(how: "whole tree" | "process group"): Promise<Crash> {
  const t = await relStack({ instances: ALL.length, stopDelayMs: 150, startDelayMs: 150 });
  t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: BEFORE });
  await t.stack.run(["up", "--yes", "--skip-preview"]);
  for (const i of AFTER) t.emu.world.setInstanceStatus(i, "Running");
  t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: AFTER, stopInstances: true, maxStoppedInstances: 20 });

  const cursor = new JournalCursor(t.emu);
  const child: ChildProcess = t.stack.spawnRaw(["up", "--yes", "--skip-preview"]);
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  // Mid-way: a first batch has attached, and instances are stopped by the provider right now.
  await waitUntil(() => cursor.batches("AttachKeyPair").length >= 1 && t.emu.stats().stoppedNow > 0, 120_000, "a stop-first window in progress");
  const tree = processTree(child.pid!);
  if (how === "whole tree") killAll(tree);
  else process.kill(-child.pid!, "SIGKILL");
  const killedAt = Date.now();
  const stoppedAtKill = notRunning(t.emu, AFTER); // all of AFTER were Running before this update
  await new Promise((r) => child.once("close", r));
  return { t, tree, killedAt, stoppedAtKill, output: () => output };
}

/** cancel (the lock of the dead update), refresh, up: each must succeed; returns what the CLI said first. */
async function recover(c: Crash): Promise<string> {
  const blocked = await c.t.stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
  await c.t.stack.run(["cancel", "--yes"]);
  await c.t.stack.run(["refresh", "--yes", "--skip-preview"]);
  await c.t.stack.run(["up", "--yes", "--skip-preview"]);
  return blocked.stdout + blocked.stderr;
}

afterAll(() => summarizeScans("crash"));

it("SIGKILL of pulumi and its plugins mid-way: cancel, refresh and up converge, and every instance stopped by the provider runs again", async () => {
  const c = await crashMidStopFirstUpdate("whole tree");
  try {
    scanArtifact("killed pulumi up output", c.output());
    await new Promise((r) => setTimeout(r, 1000));
    expect(c.tree.filter(alive)).toEqual([]);
    expect(c.stoppedAtKill.length).toBeGreaterThan(0);
    expect(marked(c.t.emu)).toEqual(expect.arrayContaining(c.stoppedAtKill));

    const said = await recover(c);
    // What the CLI tells the user first: the dead update's lock, and the command that clears it.
    expect(said).toContain("pulumi cancel");

    const leftStopped = notRunning(c.t.emu, AFTER);
    const { resources, pending } = await c.t.stack.exportResources();
    c.t.stack.scanFiles();
    summarize("crash", { kill: "whole tree", stoppedAtKill: c.stoppedAtKill.length, leftStoppedAfterRecovery: leftStopped.length, marksLeft: marked(c.t.emu).length, bound: boundTo(c.t.emu, "rel-key").length });
    expect(leftStopped).toEqual([]);
    expect(marked(c.t.emu)).toEqual([]);
    expect(boundTo(c.t.emu, "rel-key")).toEqual(AFTER);
    expect(pending).toEqual([]);
    expect(resources).toHaveLength(1);
    expect(resources[0].outputs.attachedInstanceIds).toEqual(AFTER);
  } finally {
    killAll(c.tree);
    await c.t.close();
  }
});

it("SIGKILL mid-way, then the user reverts the change: refresh and up still start every instance the killed run stopped", async () => {
  const c = await crashMidStopFirstUpdate("whole tree");
  try {
    expect(c.stoppedAtKill.length).toBeGreaterThan(0);
    c.t.stack.writeConfig({ keyPairId: c.t.keyPairId, instanceIds: BEFORE });
    await recover(c);
    const leftStopped = notRunning(c.t.emu, AFTER);
    summarize("crash", { kill: "whole tree, change reverted", stoppedAtKill: c.stoppedAtKill.length, leftStoppedAfterRecovery: leftStopped.length, marksLeft: marked(c.t.emu).length });
    // The killed run's marks name these instances; nothing else will ever start them.
    expect(leftStopped).toEqual([]);
  } finally {
    killAll(c.tree);
    await c.t.close();
  }
});

it("SIGKILL of the pulumi process group (what CI runners and the brief do): recovery converges, and the orphaned provider starts no new work and exits", async () => {
  const c = await crashMidStopFirstUpdate("process group");
  try {
    const provider = c.tree.filter((p) => /dynamic-provider/.test(commandOf(p)));
    expect(provider).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 5000));
    // Calls begun more than a second after the engine died: each changes ENS with nobody left to record it.
    const late = c.t.emu.journal().filter((j) => Date.parse(j.at) > c.killedAt + 1000 && MUTATING_ACTIONS.includes(j.action) && !["StartInstances", "UntagResources"].includes(j.action));
    const orphans = c.tree.filter(alive).map((p) => `${p} ${commandOf(p)}`);
    const stopped5sLater = notRunning(c.t.emu, AFTER).length;

    await recover(c);
    const leftStopped = notRunning(c.t.emu, AFTER);
    summarize("crash", { kill: "process group", stoppedAtKill: c.stoppedAtKill.length, newWorkAfterKill: late.length, orphansAlive5sLater: orphans.length, stopped5sLater, leftStoppedAfterRecovery: leftStopped.length });
    expect(leftStopped).toEqual([]);
    expect(boundTo(c.t.emu, "rel-key")).toEqual(AFTER);
    // The engine's plugins run in process groups of their own: the provider host outlives the CLI.
    expect({ newWorkAfterKill: late.map((j) => `${j.action}@${j.at}`), orphans }).toEqual({ newWorkAfterKill: [], orphans: [] });
  } finally {
    killAll(c.tree);
    await c.t.close();
  }
});

it("SIGKILL mid-way, then another stack takes over part of the set with another key, then the crashed stack: its recovery runs though the up is refused naming the owner, none left Stopped, one owner per instance, both states true, later runs change nothing", async () => {
  const c = await crashMidStopFirstUpdate("whole tree");
  const { t } = c;
  try {
    expect(c.stoppedAtKill.length).toBeGreaterThan(0);
    // Another team's stack (a backend, a stack name and a key pair of its own) takes 91-130 over while A's leases live.
    t.emu.world.addKeyPair({ keyPairName: "rel-key-b" });
    const TAKEN = ids(91, 40);
    for (const i of TAKEN) if (!AFTER.includes(i)) t.emu.world.setInstanceStatus(i, "Running");
    const b = new RelStack(programFolder(E2E_PROGRAM), t.stack.env);
    await b.init("other");
    b.writeConfig({ keyPairId: keyPairIdOf(t.emu, "rel-key-b"), instanceIds: TAKEN, stopInstances: true, maxStoppedInstances: 10, takeOwnership: true }, "other");
    const first = await b.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
    // Instances under the killed run's live leases are left alone and named.
    if (first.code !== 0) expect(first.stdout + first.stderr).toMatch(/HeldByAnotherRun|held by a run of/);

    // The crashed stack: its program still asks for 91-120, which another resource owns now.
    await t.stack.run(["cancel", "--yes"]);
    await t.stack.run(["refresh", "--yes", "--skip-preview"]);
    const refused = await t.stack.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
    const said = refused.stdout + refused.stderr;
    expect(refused.code).not.toBe(0);
    expect(said).toMatch(/instance\(s\) are bound and owned by another resource: i-emu00000091 \(owner [^)]*\/other\/fleet\)/);
    // ... and yet what its killed run left stopped runs again, and the refusal says that this is all it changed.
    expect(notRunning(t.emu, AFTER)).toEqual([]);
    expect(marked(t.emu).filter((i) => AFTER.includes(i) && !TAKEN.includes(i))).toEqual([]);
    expect(said).toMatch(/No binding was changed; only the \d+ instance\(s\) interrupted runs had left stopped were started again\./);
    // The user leaves them to the other stack; B's next run takes whatever A's leases held.
    t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: ids(1, 90), stopInstances: true, maxStoppedInstances: 20 });
    await t.stack.run(["up", "--yes", "--skip-preview"]);
    await b.run(["up", "--yes", "--skip-preview"]);

    const scope = [...new Set([...AFTER, ...TAKEN])];
    const world = t.emu.state().instances.filter((i) => scope.includes(i.instanceId));
    const ownerOf = (i: (typeof world)[number]) => (i.tags[OWNER_TAG] ? parseOwnerTag(i.tags[OWNER_TAG]).owner : undefined);
    const [stateA, stateB] = [(await t.stack.exportResources()).resources, (await b.exportResources("other")).resources];
    summarize("crash", { kill: "whole tree, then another stack takes over", stoppedAtKill: c.stoppedAtKill.length, leftStopped: notRunning(t.emu, scope).length, bFirstExit: first.code });
    expect(notRunning(t.emu, scope)).toEqual([]);
    expect(marked(t.emu)).toEqual([]);
    expect(boundTo(t.emu, "rel-key-b")).toEqual(TAKEN);
    expect(world.filter((i) => TAKEN.includes(i.instanceId)).every((i) => ownerOf(i)?.endsWith("/other/fleet"))).toBe(true);
    expect(boundTo(t.emu, "rel-key")).toEqual(ids(1, 90));
    expect(world.filter((i) => i.keyPairName === "rel-key").every((i) => ownerOf(i)?.endsWith("/e2e/fleet"))).toBe(true);
    expect(stateA[0].outputs.attachedInstanceIds).toEqual(ids(1, 90));
    expect(stateB[0].outputs.attachedInstanceIds).toEqual(TAKEN);
    // Later runs of both make no binding or power call.
    const cursor = new JournalCursor(t.emu);
    await t.stack.run(["up", "--yes", "--skip-preview"]);
    await b.run(["up", "--yes", "--skip-preview"]);
    expect(cursor.entries().filter((j) => /^(Attach|Detach)KeyPair$|^St(op|art)Instances?$/.test(j.action)).map((j) => j.action)).toEqual([]);
    await t.stack.run(["preview", "--expect-no-changes"]);
    await b.run(["preview", "--expect-no-changes"]);
  } finally {
    killAll(c.tree);
    await t.close();
  }
});

it("F9: SIGKILL while a stop-first create runs, then pulumi destroy: the destroy cannot reach the provider (instances stay Stopped, bound, owned); ens-keypair-recover --owner ... --unbind from the installed package starts them, unbinds and untags them, and a second run changes nothing", async () => {
  const SET = ids(1, 40);
  // A short lease lifetime for the provider of the killed run (the bin then finds its leases expired sooner).
  const t = await relStack({ instances: 60, stopDelayMs: 150, startDelayMs: 150, env: { ENS_LEASE_SECONDS: "10" } });
  let tree: number[] = [];
  try {
    for (const i of SET) t.emu.world.setInstanceStatus(i, "Running");
    // A fresh stack: the resource does not exist yet, so this `up` creates it, stop-first.
    // Up to 35 down at once: more bound instances than one binding call takes (30), so the bin's detaches are chunked.
    t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: SET, stopInstances: true, maxStoppedInstances: 35 });
    // StartInstances is throttled until the kill: the instances the run stopped and bound are still Stopped when it dies
    // (without this the start follows the attach within milliseconds and the kill lands before or after that gap).
    t.emu.setFaults({ throttleRate: 1, actions: ["StartInstances"] });
    const cursor = new JournalCursor(t.emu);
    const child: ChildProcess = t.stack.spawnRaw(["up", "--yes", "--skip-preview"]);
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    // Mid-way: more than one binding call's worth has attached, its start was tried, and instances are stopped right now.
    const down = () => t.emu.state().instances.filter((i) => SET.includes(i.instanceId) && (i.status === "Stopped" || i.status === "Stopping"));
    await waitUntil(() => cursor.touched("AttachKeyPair").length > 30 && cursor.entries().some((j) => j.action === "StartInstances") && down().length > 0, 120_000, "a stop-first create's window in progress");
    tree = processTree(child.pid!);
    killAll(tree);
    await new Promise((r) => child.once("close", r));
    t.emu.setFaults({});
    scanArtifact("killed pulumi up output", output);

    await t.stack.run(["cancel", "--yes"]);
    const destroyed = await t.stack.run(["destroy", "--yes", "--skip-preview"]);
    expect(destroyed.code).toBe(0);
    // Let Stopping instances settle to Stopped.
    await new Promise((r) => setTimeout(r, 1000));

    // The engine limit (F9): the destroy never called the provider; what the killed run stopped and bound stays so.
    const world = () => t.emu.state().instances.filter((i) => SET.includes(i.instanceId));
    const stoppedAfterDestroy = notRunning(t.emu, SET);
    const boundAfterDestroy = boundTo(t.emu, "rel-key").filter((i) => SET.includes(i));
    const ownedAndBound = world().filter((i) => i.keyPairName === "rel-key" && i.tags[OWNER_TAG]);
    expect(stoppedAfterDestroy.length).toBeGreaterThan(0);
    expect(marked(t.emu)).toEqual(expect.arrayContaining(stoppedAfterDestroy));
    expect(ownedAndBound.length).toBeGreaterThan(0);
    expect(ownedAndBound.filter((i) => i.status !== "Stopped").map((i) => i.instanceId)).toEqual([]);
    const owner = parseOwnerTag(ownedAndBound[0].tags[OWNER_TAG]).owner;
    expect(owner.endsWith("/fleet")).toBe(true);
    expect(owner).toBe(`${t.stack.project}/e2e/fleet`);
    expect((await t.stack.exportResources()).resources).toEqual([]);

    // Wait until the killed run's leases expired (ENS_LEASE_SECONDS=10 above).
    const expiries = world().filter((i) => LEASE_TAG in i.tags).map((i) => parseLease(i.tags[LEASE_TAG]).expiresAtMs ?? 0);
    const wait = Math.max(0, ...expiries) + 1500 - Date.now();
    expect(wait).toBeLessThan(15_000);
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));

    // The bin as the installed package ships it, with the emulator's endpoint and keys.
    const bin = path.join(t.stack.dir, "node_modules/.bin/ens-keypair-recover");
    expect(fs.existsSync(bin)).toBe(true);
    const recoverEnv = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ENS_ENDPOINT: t.stack.env.ENS_ENDPOINT,
      ENS_POLL_INTERVAL_MS: "50",
      ALIBABA_CLOUD_ACCESS_KEY_ID: t.stack.env.ALIBABA_CLOUD_ACCESS_KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: t.stack.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    };
    const recoverOnce = (): Promise<{ code: number; out: string }> =>
      new Promise((resolve, reject) => {
        const p = spawn(bin, ["--owner", owner, "--unbind"], { cwd: t.stack.dir, env: recoverEnv });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code: code ?? -1, out }));
      });
    const stoppedBeforeBin = notRunning(t.emu, SET);
    const boundBeforeBin = boundTo(t.emu, "rel-key").filter((i) => SET.includes(i));
    expect(boundBeforeBin).toEqual(boundAfterDestroy);
    const binCalls = new JournalCursor(t.emu);
    const first = await recoverOnce();
    scanArtifact("ens-keypair-recover output", first.out);
    const counts = /started again (\d+), unbound (\d+)/.exec(first.out);
    summarize("crash", { kill: "whole tree during a stop-first create, then destroy (F9)", stoppedAfterDestroy: stoppedAfterDestroy.length, stoppedBeforeBin: stoppedBeforeBin.length, boundAfterDestroy: boundAfterDestroy.length, recoverExit: first.code, recoverCounts: counts?.[0] ?? "none" });
    expect({ code: first.code, out: first.out }).toEqual({ code: 0, out: expect.stringContaining(`${owner} at `) });
    expect(counts).not.toBeNull();
    expect(Number(counts![1])).toBe(stoppedBeforeBin.length);
    expect(Number(counts![2])).toBe(boundBeforeBin.length);
    expect(notRunning(t.emu, SET)).toEqual([]);
    expect(boundTo(t.emu, "rel-key").filter((i) => SET.includes(i))).toEqual([]);
    expect(world().filter((i) => OWNER_TAG in i.tags || LEASE_TAG in i.tags).map((i) => i.instanceId)).toEqual([]);
    const detaches = binCalls.batches("DetachKeyPair");
    expect(detaches.flat().sort()).toEqual(boundAfterDestroy);
    expect(detaches.length).toBeGreaterThan(1);
    expect(detaches.every((b) => b.length <= 30)).toBe(true);
    expect(binCalls.entries().some((j) => j.action === "StartInstances" && j.httpStatus === 200)).toBe(true);

    // Nothing is left: a second run exits 0 and makes no binding or power call.
    binCalls.mark();
    const second = await recoverOnce();
    scanArtifact("ens-keypair-recover output", second.out);
    expect({ code: second.code, out: second.out }).toEqual({ code: 0, out: expect.stringMatching(/started again 0, unbound 0/) });
    expect(binCalls.entries().filter((j) => /^(Attach|Detach)KeyPair$|^St(op|art)Instances?$/.test(j.action)).map((j) => j.action)).toEqual([]);
  } finally {
    killAll(tree);
    await t.close();
  }
});

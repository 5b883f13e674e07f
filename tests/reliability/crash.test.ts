/**
 * Crash safety through the real CLI: `pulumi up` is killed with SIGKILL in the middle of a stop-first update, while
 * the provider has instances stopped. Afterwards the documented recovery (pulumi cancel, refresh, up) must converge
 * and no instance the provider stopped may stay stopped.
 */
import { ChildProcess } from "node:child_process";
import { OWNER_TAG, parseOwnerTag } from "../../provider/protocol";
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

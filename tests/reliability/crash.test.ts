/**
 * Crash safety through the real CLI: `pulumi up` is killed with SIGKILL in the middle of a stop-first update, while
 * the provider has instances stopped. Afterwards the documented recovery (pulumi cancel, refresh, up) must converge
 * and no instance the provider stopped may stay stopped.
 */
import { ChildProcess } from "node:child_process";
import { boundTo, ids, JournalCursor, marked, MUTATING_ACTIONS, notRunning, waitUntil } from "../helpers/rel-emu";
import { alive, commandOf, killAll, processTree } from "../helpers/rel-process";
import { scanArtifact, summarizeScans } from "../helpers/rel-secrets";
import { relStack, RelE2E } from "../helpers/rel-stack";
import { summarize } from "../helpers/rel-summary";

jest.setTimeout(300_000);

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

import { chunk, MAX_BINDING_BATCH } from "./batch";
import { goneFailure, InstanceFailure } from "./observe";
import { Batch, BindingAction } from "./plan";

/**
 * The rolling window's scheduler: a pure function of what is known now (where each instance of the window is, per
 * region, and the bounds) returning what to do next. The executor (roll.ts) calls it again whenever facts arrive
 * (after each polling round, after each action), as a Kubernetes rolling update controller does.
 */

/**
 * Where one instance of the window is.
 * - queued: Running, not touched yet
 * - stopping: marked and asked to stop, not seen Stopped yet
 * - stopped: seen Stopped, not bound yet
 * - bound: its Attach/Detach call is over (whatever the outcome): to start again
 * - starting: asked to start, not seen Running yet
 * - held: may be down and this run gave up on it (a stop that timed out, an error): started again at the end
 * - lost: not Running again and reported so (start refused or timed out): not retried
 * - done: Running again
 * - skipped: never stopped, or gone (stop refused, not found, not attempted)
 */
export type Phase = "queued" | "stopping" | "stopped" | "bound" | "starting" | "held" | "lost" | "done" | "skipped";

/** Phases in which an instance counts against the bounds: from the moment it is marked for a stop until seen Running. */
export const DOWN: ReadonlySet<Phase> = new Set<Phase>(["stopping", "stopped", "bound", "starting", "held", "lost"]);
/** Phases the executor polls (DescribeInstances) to learn what happened. */
export const POLLED: ReadonlySet<Phase> = new Set<Phase>(["stopping", "starting"]);

export interface WindowItem {
  instanceId: string;
  action: BindingAction;
  region: string;
  phase: Phase;
}

export interface Bounds {
  maxStopped: number;
  /** Unset: no limit per region. */
  maxStoppedPerRegion?: number;
}

export interface Step {
  /** Queued instances to mark and stop now, within both bounds. */
  stop: string[];
  /** Stopped instances to bind now: one call per action and 30 instances, everything stopped so far. */
  bind: Batch[];
  /** Bound instances to start again now. */
  start: string[];
}

export const isIdle = (s: Step): boolean => !s.stop.length && !s.bind.length && !s.start.length;

/**
 * The next actions. `elsewhere` (instance → region) is what other windows and other runs hold down now: it counts
 * against the bounds like this window's own. `mayStopMore` false (the engine is gone, or an earlier step failed as a whole) stops nothing new;
 * what is in flight still gets bound and started. Queued instances are taken in order (the plan interleaves
 * regions), skipping those whose region is at its bound, so a region with free slots is never held up by one without.
 */
export function nextStep(items: readonly WindowItem[], bounds: Bounds, mayStopMore: boolean, elsewhere: ReadonlyMap<string, string> = new Map()): Step {
  const down = new Map<string, number>();
  let total = 0;
  const count = (region: string) => {
    total++;
    down.set(region, (down.get(region) ?? 0) + 1);
  };
  for (const it of items) if (DOWN.has(it.phase)) count(it.region);
  // Down in other windows of this process and under other runs' live leases: the bounds hold for the fleet.
  for (const region of elsewhere.values()) count(region);
  const stop: string[] = [];
  const perRegion = bounds.maxStoppedPerRegion ?? Infinity;
  if (mayStopMore) {
    for (const it of items) {
      if (total >= bounds.maxStopped) break;
      if (it.phase !== "queued" || (down.get(it.region) ?? 0) >= perRegion) continue;
      stop.push(it.instanceId);
      total++;
      down.set(it.region, (down.get(it.region) ?? 0) + 1);
    }
  }
  const stopped = (action: BindingAction) => items.filter((it) => it.phase === "stopped" && it.action === action).map((it) => it.instanceId);
  const bind = (["DetachKeyPair", "AttachKeyPair"] as const).flatMap((action) => chunk(stopped(action), MAX_BINDING_BATCH).map((instanceIds) => ({ action, instanceIds })));
  const start = items.filter((it) => it.phase === "bound").map((it) => it.instanceId);
  return { stop, bind, start };
}

/** Where a polled instance goes: a stop that failed (`stopFailure`), or one stopped and not Running again (`notRunning`). */
export interface Transition {
  instanceId: string;
  to: Phase;
  stopFailure?: InstanceFailure;
  notRunning?: InstanceFailure;
}

/**
 * What one polling round means for the instances in flight, from the status DescribeInstances shows (undefined: ENS
 * does not know the instance) and how long each has waited in its phase: Stopping -> Stopped, Starting -> Running,
 * gone, or given up after `timeoutMs` (a stop that never ends is held, to be started again; a start, lost).
 */
export function afterPoll(polled: readonly WindowItem[], statusOf: (id: string) => string | undefined, waitedMs: (id: string) => number, timeoutMs: number): Transition[] {
  const limit = `${Math.round(timeoutMs / 1000)}s`;
  const out: Transition[] = [];
  for (const { instanceId, phase } of polled) {
    const status = statusOf(instanceId);
    const gone = goneFailure(instanceId);
    const late = (want: string) => ({ instanceId, code: "WaitTimeout", message: `still ${status} after ${limit} waiting for ${want} (raise stopTimeoutSeconds)` });
    const timedOut = waitedMs(instanceId) > timeoutMs;
    if (phase === "stopping") {
      if (status === "Stopped") out.push({ instanceId, to: "stopped" });
      else if (status === undefined) out.push({ instanceId, to: "skipped", stopFailure: gone });
      else if (timedOut) out.push({ instanceId, to: "held", stopFailure: late("Stopped") });
    } else if (phase === "starting") {
      if (status === "Running") out.push({ instanceId, to: "done" });
      else if (status === undefined) out.push({ instanceId, to: "skipped", notRunning: gone });
      else if (timedOut) out.push({ instanceId, to: "lost", notRunning: late("Running") });
    }
  }
  return out;
}

/** Instances down now (all, and per region) and instances not stopped yet: for progress lines and tests. */
export function windowCounts(items: readonly WindowItem[]): { down: number; downByRegion: Map<string, number>; queued: number } {
  const downByRegion = new Map<string, number>();
  let down = 0;
  let queued = 0;
  for (const it of items) {
    if (DOWN.has(it.phase)) {
      down++;
      downByRegion.set(it.region, (downByRegion.get(it.region) ?? 0) + 1);
    }
    if (it.phase === "queued") queued++;
  }
  return { down, downByRegion, queued };
}

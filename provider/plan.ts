import { chunk, MAX_BINDING_BATCH } from "./batch";

/**
 * Decide first, act second: a pure function from (state, desired inputs, live facts) to the calls to make.
 * The executor carries the plan out; tests check plans without any network.
 */

export type BindingAction = "AttachKeyPair" | "DetachKeyPair";

/** What ENS says about one instance right now. */
export interface LiveInstance {
  status: string;
  keyPairName?: string;
}

export interface PlanInput {
  /** Instances that should carry the key pair afterwards (empty for delete). */
  desired: readonly string[];
  /** Instances the state says carry it now. */
  attached: readonly string[];
  /** Live facts for every instance in desired ∪ attached; an absent entry means ENS does not know it. */
  live: ReadonlyMap<string, LiveInstance>;
  keyPairName: string;
  stopInstances: boolean;
  maxStoppedInstances: number;
  /**
   * Owner tags (resource ID) of the instances the plan would adopt, re-key or detach; absent = unowned. Without
   * `resourceId` ownership is not considered.
   */
  owners?: ReadonlyMap<string, string>;
  /** The resource planning; its own tag marks an instance as its own. */
  resourceId?: string;
  /** Take bindings owned by another resource (explicit input). */
  takeOwnership?: boolean;
}

export interface Batch {
  action: BindingAction;
  instanceIds: string[];
}

/** Instances stopped together, operated on, then started again before the next wave. */
export interface Wave {
  /** Running instances this wave stops first and starts again afterwards (at most maxStoppedInstances). */
  stop: string[];
  batches: Batch[];
}

export interface Plan {
  waves: Wave[];
  /** Desired instances that already carry this key pair: adopted, no call. */
  alreadyAttached: string[];
  /** Instances to detach that no longer carry it (or no longer exist): nothing to do. */
  alreadyDetached: string[];
  /** Desired instances carrying another key pair, which attaching replaces. */
  replacesKey: { instanceId: string; keyPairName: string }[];
  /** Desired instances ENS does not know. */
  missing: string[];
  /** Running instances that need stopping while stopInstances is false. */
  blockedRunning: string[];
  /** Instances in a transitional or unusable state (Starting, Stopping, ...) that cannot be planned now. */
  unready: { instanceId: string; status: string }[];
  /** Desired instances bound and owned by another resource: refused without takeOwnership. */
  ownedElsewhere: { instanceId: string; owner: string }[];
  /** Desired instances owned by another resource that this plan takes over (takeOwnership). */
  takenOver: { instanceId: string; owner: string }[];
  /** Desired instances carrying this key without an owner: adopted (and claimed). */
  adoptedUnowned: string[];
  /** Instances to let go of that another resource owns now: not detached, only dropped from this resource. */
  leftToOwner: { instanceId: string; owner: string }[];
}

export function planBinding(input: PlanInput): Plan {
  const desired = new Set(input.desired);
  const attached = new Set(input.attached);
  const plan: Plan = {
    waves: [], alreadyAttached: [], alreadyDetached: [], replacesKey: [], missing: [], blockedRunning: [], unready: [],
    ownedElsewhere: [], takenOver: [], adoptedUnowned: [], leftToOwner: [],
  };
  // Another resource's tag on an instance that carries a key pair: that binding is not ours to change.
  const otherOwner = (id: string) => {
    const owner = input.resourceId === undefined ? undefined : input.owners?.get(id);
    return owner !== undefined && owner !== input.resourceId ? owner : undefined;
  };

  const toAttach: string[] = [];
  for (const id of desired) {
    const live = input.live.get(id);
    if (!live) {
      plan.missing.push(id);
      continue;
    }
    const owner = live.keyPairName ? otherOwner(id) : undefined;
    if (owner && !input.takeOwnership) {
      plan.ownedElsewhere.push({ instanceId: id, owner });
      continue;
    }
    if (owner) plan.takenOver.push({ instanceId: id, owner });
    if (live.keyPairName === input.keyPairName) {
      plan.alreadyAttached.push(id);
      if (!owner && !attached.has(id) && input.resourceId !== undefined && !input.owners?.has(id)) plan.adoptedUnowned.push(id);
    } else {
      if (live.keyPairName) plan.replacesKey.push({ instanceId: id, keyPairName: live.keyPairName });
      toAttach.push(id);
    }
  }
  const toDetach: string[] = [];
  for (const id of attached) {
    if (desired.has(id)) continue;
    const live = input.live.get(id);
    const owner = otherOwner(id);
    if (!live || live.keyPairName !== input.keyPairName) plan.alreadyDetached.push(id);
    else if (owner) plan.leftToOwner.push({ instanceId: id, owner });
    else toDetach.push(id);
  }

  const running = new Set<string>();
  for (const id of [...toDetach, ...toAttach]) {
    const status = input.live.get(id)!.status;
    if (status === "Running") running.add(id);
    else if (status !== "Stopped") plan.unready.push({ instanceId: id, status });
  }
  if (!input.stopInstances) plan.blockedRunning.push(...running);

  plan.waves = packWaves(
    [...batchesFor("DetachKeyPair", toDetach, running), ...batchesFor("AttachKeyPair", toAttach, running)],
    running,
    input.maxStoppedInstances,
  );
  return plan;
}

/** Stopped instances first so that batches holding no running instance need no stop at all. */
function batchesFor(action: BindingAction, ids: string[], running: Set<string>): Batch[] {
  const ordered = [...ids.filter((id) => !running.has(id)), ...ids.filter((id) => running.has(id))];
  return chunk(ordered, MAX_BINDING_BATCH).map((instanceIds) => ({ action, instanceIds }));
}

/**
 * Groups batches into waves whose running instances fit the stop bound. Batches with nothing to stop share
 * the first wave. A batch holding more running instances than the bound (bound < 30) is split.
 */
function packWaves(batches: Batch[], running: Set<string>, maxStopped: number): Wave[] {
  const free: Batch[] = [];
  const needStop: Batch[] = [];
  for (const b of batches) {
    const r = b.instanceIds.filter((id) => running.has(id)).length;
    if (r === 0) free.push(b);
    else if (r <= maxStopped) needStop.push(b);
    else {
      // Keep each piece's running count within the bound; the stopped ones ride along in the first piece.
      const stopped = b.instanceIds.filter((id) => !running.has(id));
      const pieces = chunk(b.instanceIds.filter((id) => running.has(id)), maxStopped);
      pieces[0] = [...stopped, ...pieces[0]];
      for (const p of pieces) needStop.push({ action: b.action, instanceIds: p });
    }
  }
  const waves: Wave[] = free.length ? [{ stop: [], batches: free }] : [];
  let current: Wave | undefined;
  for (const b of needStop) {
    const r = b.instanceIds.filter((id) => running.has(id));
    if (!current || current.stop.length + r.length > maxStopped) {
      current = { stop: [], batches: [] };
      waves.push(current);
    }
    current.stop.push(...r);
    current.batches.push(b);
  }
  return waves;
}

/** Every Attach/Detach call in the plan, in order. */
export function planBatches(plan: Plan): Batch[] {
  return plan.waves.flatMap((w) => w.batches);
}

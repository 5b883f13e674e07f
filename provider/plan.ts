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
  /** EnsRegionId: the edge region (one city and carrier) the instance lives in. */
  region?: string;
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
  /** Most instances of one EnsRegionId stopped at once; unset = no limit per region. */
  maxStoppedPerRegion?: number;
  /**
   * Instances on which another owner's claim stands (protocol rule 2): instance → owner. Without it (preview's plan
   * before tags are read) ownership is not considered.
   */
  owners?: ReadonlyMap<string, string>;
  /** Instances whose owner tag is this resource's: not adopted, already its own. */
  claimed?: ReadonlySet<string>;
  /** Instances with another owner's claim that no longer stands: replaced, with a warning. */
  stale?: readonly { instanceId: string; owner: string }[];
  /** Instances tagged as this resource's in a form to write anew (legacy resource ID, the old key of a rotation). */
  rewrite?: readonly string[];
  /** Instances another resource took over from this one before (state): still left to their owner while it holds them. */
  yielded?: readonly string[];
  /** Take bindings owned by another resource (explicit input), for instances this resource did not have. */
  takeOwnership?: boolean;
}

export interface Batch {
  action: BindingAction;
  instanceIds: string[];
}

/** A Running instance to stop, bind (or unbind) and start again. */
export interface RollItem {
  instanceId: string;
  action: BindingAction;
  /** Its EnsRegionId ("" when ENS did not say). */
  region: string;
}

/**
 * Running instances go through a rolling window (see schedule.ts): never more than `maxStopped` of them down at once,
 * nor more than `maxStoppedPerRegion` of one region; as they reach Stopped they are bound, started again at once, and
 * the next ones are stopped as slots free up. How many calls that takes depends on when each one stops.
 */
export interface Rolling {
  /** In the order the window takes them: regions interleaved (one of each region in turn), detaches first in each. */
  instances: RollItem[];
  maxStopped: number;
  maxStoppedPerRegion?: number;
  /** How many of `instances` each EnsRegionId holds, most first. */
  regions: { region: string; count: number }[];
}

export interface Plan {
  /** Calls for instances that need no stop (already Stopped): full batches of at most 30, all sent at once. */
  batches: Batch[];
  /** Running instances that need stopping first (refused in blockedRunning when stopInstances is false). */
  rolling: Rolling;
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
  /** Desired instances this resource had (bound or yielded) that another resource owns now: left to it (a takeover is final). */
  yielded: { instanceId: string; owner: string }[];
  /** Stale claims of other owners on instances this plan binds or keeps: replaced. */
  staleOwners: { instanceId: string; owner: string }[];
  /** This resource's own tags to write anew. */
  rewriteOwners: string[];
}

export function planBinding(input: PlanInput): Plan {
  const desired = new Set(input.desired);
  const attached = new Set(input.attached);
  const plan: Plan = {
    batches: [], rolling: { instances: [], maxStopped: input.maxStoppedInstances, maxStoppedPerRegion: input.maxStoppedPerRegion, regions: [] }, alreadyAttached: [], alreadyDetached: [], replacesKey: [], missing: [], blockedRunning: [], unready: [],
    ownedElsewhere: [], takenOver: [], adoptedUnowned: [], leftToOwner: [], yielded: [], staleOwners: [], rewriteOwners: [],
  };
  // Another resource's standing claim: that binding is not ours to change.
  const otherOwner = (id: string) => input.owners?.get(id);
  const hadBefore = new Set([...input.attached, ...(input.yielded ?? [])]);
  const stale = new Map((input.stale ?? []).map((s) => [s.instanceId, s.owner]));
  const rewrite = new Set(input.rewrite ?? []);

  const toAttach: string[] = [];
  for (const id of desired) {
    const live = input.live.get(id);
    if (!live) {
      plan.missing.push(id);
      continue;
    }
    const owner = otherOwner(id);
    if (owner && hadBefore.has(id)) {
      plan.yielded.push({ instanceId: id, owner });
      continue;
    }
    if (owner && !input.takeOwnership) {
      plan.ownedElsewhere.push({ instanceId: id, owner });
      continue;
    }
    if (owner) plan.takenOver.push({ instanceId: id, owner });
    if (stale.has(id)) plan.staleOwners.push({ instanceId: id, owner: stale.get(id)! });
    if (rewrite.has(id)) plan.rewriteOwners.push(id);
    if (live.keyPairName === input.keyPairName) {
      plan.alreadyAttached.push(id);
      if (!owner && !attached.has(id) && input.owners !== undefined && !input.claimed?.has(id)) plan.adoptedUnowned.push(id);
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

  plan.batches = [...batchesFor("DetachKeyPair", toDetach, running), ...batchesFor("AttachKeyPair", toAttach, running)];
  const item = (action: BindingAction) => (id: string): RollItem => ({ instanceId: id, action, region: input.live.get(id)!.region ?? "" });
  const rolled = [...toDetach.filter((id) => running.has(id)).map(item("DetachKeyPair")), ...toAttach.filter((id) => running.has(id)).map(item("AttachKeyPair"))];
  plan.rolling.instances = interleave(rolled);
  plan.rolling.regions = countRegions(rolled);
  return plan;
}

/** Full batches of the instances that need no stop: Stopped ones (running ones go through the window). */
function batchesFor(action: BindingAction, ids: string[], running: Set<string>): Batch[] {
  return chunk(ids.filter((id) => !running.has(id)), MAX_BINDING_BATCH).map((instanceIds) => ({ action, instanceIds }));
}

/**
 * One instance of each region in turn (regions in order of first appearance), so that a window of any size draws
 * on every region alike and no region is drained first, even when the IDs of one city come together.
 */
export function interleave(items: readonly RollItem[]): RollItem[] {
  const byRegion = new Map<string, RollItem[]>();
  for (const it of items) {
    const q = byRegion.get(it.region);
    if (q) q.push(it);
    else byRegion.set(it.region, [it]);
  }
  const queues = [...byRegion.values()];
  const out: RollItem[] = [];
  for (let i = 0; out.length < items.length; i++) for (const q of queues) if (i < q.length) out.push(q[i]);
  return out;
}

function countRegions(items: readonly RollItem[]): { region: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(it.region, (counts.get(it.region) ?? 0) + 1);
  return [...counts].map(([region, count]) => ({ region, count })).sort((a, b) => b.count - a.count);
}

/**
 * Every Attach/Detach the plan needs, at the fewest calls: ceil(n/30) per action, instances that need no stop first.
 * Without Running instances these are exactly the calls made (`plan.batches`); the rolling window binds together the
 * instances that reach Stopped in the same polling round, so it may need more (at most one per instance).
 */
export function planBatches(plan: Plan): Batch[] {
  return (["DetachKeyPair", "AttachKeyPair"] as const).flatMap((action) => {
    const ids = [...plan.batches.filter((b) => b.action === action).flatMap((b) => b.instanceIds), ...plan.rolling.instances.filter((i) => i.action === action).map((i) => i.instanceId)];
    return chunk(ids, MAX_BINDING_BATCH).map((instanceIds) => ({ action, instanceIds }));
  });
}

import { chunk, MAX_BINDING_BATCH, MAX_TAG_RESOURCES } from "./batch";
import { EnsClient, Instance } from "./ens";
import { engineAlive } from "./engine";
import { BindingKey, executePlan, ExecutionResult } from "./execute";
import { LiveInstance, Plan, planBatches, planBinding } from "./plan";
import { claimSettleMs, claimTag, describeLeases, findLeases, findOwnClaims, Identity, isMine, keyNames, leaseLifetimeMs, newRun, ownerNameTag, OWNER_TAG, readTags, recoverLeases, RunLease, sortLeases, sortOwners, tagEach, Tags, takeBackClaims, untagIf } from "./protocol";
import { list, Reporter } from "./report";
import { readSettings } from "./settings";
import { AttachmentInputs } from "./validate";

/**
 * Observe, plan, refuse bad plans before any change, execute under the multi-writer protocol (protocol/index.ts), and
 * work out the set that is really bound.
 */

export type Operation = "create" | "update" | "delete";

/** A plan refused before any change; `yielded`: instances it found taken over, which the state must drop all the same. */
export class Refusal extends Error {
  /** `stillBound`: of the state's bindings, those ENS still shows (what the state may keep). */
  constructor(message: string, readonly yielded: string[], readonly stillBound: string[]) {
    super(message);
  }
}

export interface Before {
  /** What the state says this resource has bound. */
  attached: readonly string[];
  /** What the state says another resource took over from this one. */
  yielded: readonly string[];
}

export interface Outcome {
  /** What ENS has bound for this resource now. */
  attached: string[];
  /** Instances asked for that another resource owns now: left to it. */
  yielded: string[];
  /** Per-instance reasons, empty when everything succeeded. */
  reasons: string[];
  /** What this run changed, for the closing line. */
  counts: { attached: number; detached: number; adopted: number; restarted: number };
}

interface Observed {
  plan: Plan;
  /** The state's view, with what earlier runs left claimed (creates and updates). */
  before: Before;
  tags: Map<string, Tags>;
  lease: RunLease;
}

export async function converge(client: EnsClient, key: BindingKey, inputs: AttachmentInputs, given: Before, me: Identity, op: Operation, out: Reporter): Promise<Outcome> {
  const { plan, tags, lease, before } = await observeAndPlan(client, key, inputs, given, me, op, out);
  const stopTimeoutMs = (inputs.stopTimeoutSeconds ?? 300) * 1000;
  const claimFreshMs = 2 * stopTimeoutMs + leaseLifetimeMs();
  const result: ExecutionResult = { succeeded: new Set(), failures: [], leftStopped: [], restarted: 0, lost: [], claims: new Map() };
  // Rule 3 for instances bound without a stop, and for those this run takes that carry its key already (adopted,
  // taken over, a stale claim): claimed, read back, then bound; the window does the same per stop.
  const early = plan.alreadyAttached.filter((i) => !isMine(tags.get(i)?.owner, me));
  const { plan: claimed, early: earlyOk } = await claimFirst(client, plan, early, tags, me, claimFreshMs, result);
  const executed = await executePlan(client, key, claimed, {
    lease,
    expectedOwner: (id) => (tags.get(id)?.owner && !isMine(tags.get(id)!.owner, me) ? tags.get(id)!.owner!.owner : undefined),
    claimFreshMs,
    stillWanted: () => engineAlive(),
    forceStop: inputs.forceStop ?? false,
    stopTimeoutMs,
    pollIntervalMs: readSettings().pollIntervalMs,
    log: out.log,
  });
  merge(result, executed);
  // Start from what ENS had bound when we looked (own bindings + about to be detached), then apply what succeeded.
  const detaching = new Set(planBatches(plan).filter((b) => b.action === "DetachKeyPair").flatMap((b) => b.instanceIds));
  const earlySet = new Set(early);
  const stillAttached = new Set([...plan.alreadyAttached.filter((i) => !earlySet.has(i)), ...detaching]);
  const attachedNow: string[] = [];
  const detachedNow: string[] = [];
  for (const ok of result.succeeded) {
    if (detaching.has(ok)) {
      stillAttached.delete(ok);
      detachedNow.push(ok);
    } else attachedNow.push(ok);
  }
  const kept = new Set(await checkAfter(client, key, me, [...attachedNow, ...earlyOk], result));
  for (const id of kept) stillAttached.add(id);
  const adopted = earlyOk.filter((i) => kept.has(i) && !before.attached.includes(i));
  const reclaim = plan.rewriteOwners.filter((i) => stillAttached.has(i) && !kept.has(i));
  // Claims of this resource on instances it no longer binds go too: those it detached, and those found detached
  // already (a run that detached them died before releasing its claim).
  // (Only a claim for this key pair: after a rotation the claim for the new key is the new resource's.)
  const unclaim = [...detachedNow, ...plan.alreadyDetached.filter((i) => isMine(tags.get(i)?.owner, me) && tags.get(i)!.owner!.keyPairId === me.keyPairId)];
  await recordOwnership(client, me, claimFreshMs, reclaim, unclaim, out);
  await takeBackFailedClaims(client, key, me, result, stillAttached, out);
  const wanted = new Set(inputs.instanceIds);
  const yielded = [...new Set([...plan.yielded.map((y) => y.instanceId), ...result.lost.map((l) => l.instanceId)])].filter((i) => wanted.has(i) && !stillAttached.has(i));
  const counts = { attached: attachedNow.filter((i) => kept.has(i)).length, detached: detachedNow.length, adopted: adopted.length, restarted: result.restarted };
  return { attached: [...stillAttached].sort(), yielded: yielded.sort(), reasons: reasons(result), counts };
}

/**
 * Creates and updates add what earlier runs of their logical resource left claimed, outside the state and no longer
 * wanted (a run whose engine died after the provider bound): to be detached.
 */
async function withLeftovers(client: EnsClient, before: Before, inputs: AttachmentInputs, me: Identity, out: Reporter, sameKeyOnly: boolean): Promise<Before> {
  const known = new Set([...inputs.instanceIds, ...before.attached, ...before.yielded]);
  const found = (await findOwnClaims(client, me, sameKeyOnly)).filter((i) => !known.has(i));
  const live = found.length ? await client.describeInstancesById(found) : new Map<string, Instance>();
  const { left, blocked } = leftoversToUnbind(found, live, inputs.stopInstances);
  if (left.length) out.warn(`${left.length} instance(s) carry this resource's owner tag from an earlier run that did not reach the state (${list(left, 5)}): no longer wanted, this run unbinds them`);
  if (blocked.length) out.warn(`${blocked.length} instance(s) carry this resource's owner tag and key pair from an earlier run that did not reach the state (${list(blocked, 5)}): they are Running and stopInstances is false, so they stay bound; stop them, or set stopInstances: true, and run pulumi up to unbind them`);
  return left.length ? { ...before, attached: union(before.attached, left) } : before;
}

/** Of the instances an earlier run left claimed: those this run can unbind, and those Running that it may not stop. */
export function leftoversToUnbind(found: string[], live: Map<string, Instance>, stopInstances: boolean): { left: string[]; blocked: string[] } {
  const blocked = stopInstances ? [] : found.filter((i) => live.get(i)?.Status === "Running" && live.get(i)?.KeyPairName);
  return { left: found.filter((i) => live.has(i) && !blocked.includes(i)), blocked };
}

/**
 * Reads the live facts and plans. First, what runs that are over left stopped is started again (protocol rule 4).
 * Owner tags are read for every instance of the resource, since a takeover, a stale claim or a concurrent claim can
 * be on any of them.
 */
async function observeAndPlan(client: EnsClient, key: BindingKey, inputs: AttachmentInputs, given: Before, me: Identity, op: Operation, out: Reporter): Promise<Observed> {
  const waits = { timeoutMs: (inputs.stopTimeoutSeconds ?? 300) * 1000, pollIntervalMs: readSettings().pollIntervalMs, onProgress: out.log, warn: out.warn };
  const lease: RunLease = { run: newRun(), me, bounds: { maxStopped: inputs.maxStoppedInstances, maxStoppedPerRegion: inputs.maxStoppedPerRegion } };
  const leases = sortLeases(await findLeases(client), me, lease.run);
  for (const line of describeLeases(leases, new Set(union(union(inputs.instanceIds, given.attached), given.yielded)))) out.warn(line);
  for (const f of await recoverLeases(client, leases, waits)) out.warn(`${f.instanceId} was stopped by an interrupted run and could not be started again: ${f.code}: ${f.message}`);
  // After the recovery: an instance it started again is Running, and what may unbind it is decided on that.
  // A delete looks only at claims for its own key pair: after a rotation, the others are the new resource's.
  const before = await withLeftovers(client, given, inputs, me, out, op === "delete");
  const ids = union(union(inputs.instanceIds, before.attached), before.yielded);
  const described = await settle(client, ids, waits);
  const live = new Map<string, LiveInstance>([...described].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
  const tags = await readTags(client, ids);
  const owners = await sortOwners(tags, (id) => live.get(id)?.keyPairName, me, keyNames(client));
  const plan = planBinding({
    desired: inputs.instanceIds,
    attached: before.attached,
    yielded: before.yielded,
    live,
    keyPairName: key.name,
    stopInstances: inputs.stopInstances,
    maxStoppedInstances: inputs.maxStoppedInstances,
    maxStoppedPerRegion: inputs.maxStoppedPerRegion,
    owners: owners.others,
    claimed: new Set([...tags].filter(([, t]) => isMine(t.owner, me)).map(([i]) => i)),
    stale: owners.stale,
    rewrite: owners.rewrite,
    takeOwnership: inputs.takeOwnership === true,
  });
  const problems: string[] = [];
  if (plan.missing.length) problems.push(`instanceIds: ENS has no instance ${list(plan.missing)} at ${client.endpoint}; remove it from instanceIds or check the region and account`);
  if (plan.ownedElsewhere.length) problems.push(ownedElsewhereProblem(plan.ownedElsewhere));
  if (plan.blockedRunning.length) problems.push(runningProblem(plan.blockedRunning, op));
  if (plan.unready.length) problems.push(`instance(s) neither Running nor Stopped: ${plan.unready.map((u) => `${u.instanceId} (${u.status})`).join(", ")}; wait until they settle and run again`);
  if (problems.length) {
    // Instances another resource took over are lost whatever else is wrong: the state must say so (rule 2).
    for (const [owner, lost] of byOwner(plan.yielded)) problems.push(`${lost.length} instance(s) were taken over by ${owner}: dropped from this resource's state, left to it: ${list(lost, 5)}`);
    // What the state may keep: its bindings ENS still shows, with this key and no other owner's standing claim.
    const truth = before.attached.filter((i) => live.get(i)?.keyPairName === key.name && !owners.others.has(i));
    const lostBindings = before.attached.filter((i) => !truth.includes(i) && !plan.yielded.some((y) => y.instanceId === i));
    if (lostBindings.length) problems.push(`${lostBindings.length} instance(s) the state lists as bound do not carry ${key.name} any more: dropped from this resource's state: ${list(lostBindings, 5)}`);
    // What recoverLeases did first is the only change: said, so that "nothing" stays true.
    const restarted = leases.ownDead.length + leases.expired.length;
    const changed = restarted ? `No binding was changed; only the ${restarted} instance(s) interrupted runs had left stopped were started again.` : "Nothing was changed.";
    throw new Refusal(`${problems.join("\n")}\n${changed}`, plan.yielded.map((y) => y.instanceId), truth);
  }
  const ownRotation = plan.replacesKey.filter((r) => tags.get(r.instanceId)?.owner && isMine(tags.get(r.instanceId)!.owner, me));
  const foreignKeys = plan.replacesKey.filter((r) => !ownRotation.includes(r));
  if (ownRotation.length) out.log(`rotating ${ownRotation.length} instance(s) of this resource to ${key.name} (from ${[...new Set(ownRotation.map((r) => r.keyPairName))].slice(0, 3).join(", ")})`);
  if (foreignKeys.length) {
    const keys = [...new Set(foreignKeys.map((r) => r.keyPairName))];
    out.warn(`${foreignKeys.length} instance(s) carry another key pair (${keys.slice(0, 3).join(", ")}${keys.length > 3 ? ", ..." : ""}); attaching ${key.name} replaces it (an ENS instance holds one key pair): ${list(foreignKeys.map((r) => r.instanceId), 5)}`);
  }
  for (const s of plan.staleOwners) out.warn(`${s.instanceId}: stale owner tag of ${s.owner} (that owner's key pair is not on it): replaced by this resource's`);
  if (plan.takenOver.length) out.warn(`taking over ${plan.takenOver.length} instance(s) owned by another resource (takeOwnership): ${plan.takenOver.slice(0, 5).map((o) => `${o.instanceId} from ${o.owner}`).join(", ")}`);
  if (plan.adoptedUnowned.length) out.warn(`adopting ${plan.adoptedUnowned.length} instance(s) that already carry ${key.name} and have no owner: ${list(plan.adoptedUnowned, 5)}; this resource owns them from now on`);
  for (const [owner, lost] of byOwner(plan.yielded)) out.warn(`${lost.length} instance(s) were taken over by ${owner}: left to it and dropped from this resource (takeOwnership is final; to take them back, list them in a new resource with takeOwnership): ${list(lost, 5)}`);
  for (const [owner, left] of byOwner(plan.leftToOwner)) out.log(`${left.length} instance(s) no longer wanted are owned by ${owner} now: left bound, dropped from this resource: ${list(left, 5)}`);
  return { plan, tags, lease, before };
}

/**
 * Writes this resource's claim on the Stopped instances it attaches and on `early` (instances it takes that carry its
 * key already), waits, reads back: lost ones are not bound, not recorded. Returns the plan without them, and which of
 * `early` are this resource's now.
 */
async function claimFirst(client: EnsClient, plan: Plan, early: string[], tags: ReadonlyMap<string, Tags>, me: Identity, freshMs: number, result: ExecutionResult): Promise<{ plan: Plan; early: string[] }> {
  const attach = plan.batches.filter((b) => b.action === "AttachKeyPair").flatMap((b) => b.instanceIds);
  const all = [...attach, ...early];
  if (!all.length) return { plan, early: [] };
  // Each call's instances are read back the settle time after their own claim landed, not after the last call's:
  // the waits overlap the other calls (a create of 3,000: 60 claim calls, and one settle time instead of 60).
  const done = await Promise.all(
    chunk(all, MAX_TAG_RESOURCES).map(async (ids) => {
      const claim = claimTag(me, freshMs);
      const refused = await tagEach(client, ids, [claim, ownerNameTag(me.owner)]);
      const written = ids.filter((id) => !refused.some((f) => f.instanceId === id));
      // What it overwrote is the plan's read, a moment ago (the window reads again before each of its claims).
      for (const id of written) result.claims.set(id, { before: tags.get(id)?.ownerValue, written: claim.Value });
      if (!written.length) return { refused, written, after: new Map<string, Tags>() };
      await new Promise((r) => setTimeout(r, claimSettleMs()));
      return { refused, written, after: await readTags(client, written) };
    }),
  );
  const refused = done.flatMap((d) => d.refused);
  for (const f of refused) result.failures.push({ ...f, action: "AttachKeyPair", message: `could not take the owner tag ${OWNER_TAG} (${f.message}); not bound` });
  const written = done.flatMap((d) => d.written);
  const after = new Map<string, Tags>(done.flatMap((d) => [...d.after]));
  const ours = new Set<string>();
  for (const id of written) {
    const owner = after.get(id)?.owner;
    if (isMine(owner, me)) ours.add(id);
    else lost(result, id, owner?.owner ?? "another run");
  }
  const detach = plan.batches.filter((b) => b.action === "DetachKeyPair");
  const kept = chunk(attach.filter((id) => ours.has(id)), MAX_BINDING_BATCH).map((instanceIds) => ({ action: "AttachKeyPair" as const, instanceIds }));
  return { plan: { ...plan, batches: [...detach, ...kept] }, early: early.filter((id) => ours.has(id)) };
}

/**
 * The check after (rule 3): instances this run bound that another run claimed since are lost to it; those that carry
 * another key now (a concurrent run's call came last, or a person) are failures, left out of the state. Returns the
 * instances that are this resource's and carry its key.
 */
async function checkAfter(client: EnsClient, key: BindingKey, me: Identity, bound: string[], result: ExecutionResult): Promise<string[]> {
  if (!bound.length) return [];
  const [tags, live] = await Promise.all([readTags(client, bound), client.describeInstancesById(bound)]);
  const kept: string[] = [];
  for (const id of bound) {
    const owner = tags.get(id)?.owner;
    const carried = live.get(id)?.KeyPairName;
    if (!isMine(owner, me)) lost(result, id, owner?.owner ?? "nobody (the owner tag was removed)");
    else if (carried !== key.name) result.failures.push({ instanceId: id, action: "AttachKeyPair", code: "RekeyedMeanwhile", message: `bound by this run, it carries ${carried ?? "no key pair"} now (a concurrent run or a person re-keyed it); the next pulumi up binds it again` });
    else kept.push(id);
  }
  return kept;
}

function lost(result: ExecutionResult, instanceId: string, owner: string): void {
  result.lost.push({ instanceId, owner });
  result.failures.push({ instanceId, action: "AttachKeyPair", code: "ClaimedByAnotherRun", message: `${owner} claimed it while this run was under way: left to it, not recorded as bound here` });
}

function merge(into: ExecutionResult, from: ExecutionResult): void {
  for (const id of from.succeeded) into.succeeded.add(id);
  into.failures.push(...from.failures);
  into.leftStopped.push(...from.leftStopped);
  into.restarted += from.restarted;
  into.lost.push(...from.lost);
  for (const [id, c] of from.claims) into.claims.set(id, c);
}

function ownedElsewhereProblem(owned: { instanceId: string; owner: string }[]): string {
  const legacy = owned.some((o) => /:att-[0-9a-f]{8}$/.test(o.owner));
  const hint = legacy ? ". An owner of the form <keyPairId>:att-<hex> is a tag written by an earlier version of this package (owner = resource ID): if it is this resource's previous version, run pulumi up once with the old key pair (it rewrites the tag) and rotate then" : "";
  return `${owned.length} instance(s) are bound and owned by another resource: ${owned.slice(0, 5).map((o) => `${o.instanceId} (owner ${o.owner})`).join(", ")}${owned.length > 5 ? ", ..." : ""}. ENS holds one key pair per instance: remove them from instanceIds, or set takeOwnership: true to take them over${hint}`;
}

function runningProblem(running: string[], op: Operation): string {
  const head = `${running.length} instance(s) are Running and ENS binds and unbinds key pairs only on stopped instances: ${list(running)}.`;
  if (op !== "delete") return `${head} Stop them, or set stopInstances: true to let the provider stop them (at most maxStoppedInstances at once) and start them again`;
  return `${head} A destroy uses the inputs stored at the last update (stopInstances: false here). Either stop them yourself (StopInstances or the ENS console) and run pulumi destroy again, or set stopInstances: true in the program, run pulumi up, then pulumi destroy`;
}

/** Claims what this run adopted or rewrites, releases (while still this resource's) what it detached. A tag failure changes no binding: a warning. */
async function recordOwnership(client: EnsClient, me: Identity, freshMs: number, claimed: string[], released: string[], out: Reporter): Promise<void> {
  try {
    const refused = claimed.length ? await tagEach(client, claimed, [claimTag(me, freshMs), ownerNameTag(me.owner)]) : [];
    for (const f of refused) out.warn(`${f.instanceId}: bound, but its owner tag could not be written (${f.code}: ${f.message}); another resource could take it without takeOwnership`);
    if (released.length) await untagIf(client, released, OWNER_TAG, (_, t) => isMine(t.owner, me));
  } catch (e) {
    out.warn(`bindings are as recorded, but the owner tags could not be written: ${(e as Error).message}`);
  }
}

/**
 * F10: the claims this run wrote for bindings that did not happen (a per-instance failure, a stop that failed, an
 * instance lost to another run's lease or never reached) are taken back, once ENS shows the instance without this
 * resource's key (protocol/owners.ts `takeBackClaims`).
 */
async function takeBackFailedClaims(client: EnsClient, key: BindingKey, me: Identity, result: ExecutionResult, bound: Set<string>, out: Reporter): Promise<void> {
  const unbound = new Map([...result.claims].filter(([id]) => !bound.has(id)));
  if (!unbound.size) return;
  try {
    const live = await client.describeInstancesById([...unbound.keys()]);
    for (const id of [...unbound.keys()]) if (live.get(id)?.KeyPairName === key.name) unbound.delete(id);
    await takeBackClaims(client, unbound, (id) => live.get(id)?.KeyPairName || undefined, me, keyNames(client));
  } catch (e) {
    out.warn(`the owner tags of ${list([...unbound.keys()], 5)} (not bound by this run) could not be taken back: ${(e as Error).message}; they stop refusing other resources when their claim expires`);
  }
}

/** Waits (bounded) for instances in Stopping or Starting to settle, so that plans see Running or Stopped. */
async function settle(client: EnsClient, ids: string[], waits: { timeoutMs: number; pollIntervalMs: number; onProgress: (l: string) => void }) {
  const deadline = Date.now() + waits.timeoutMs;
  for (;;) {
    const live = await client.describeInstancesById(ids);
    const moving = [...live.values()].filter((i) => i.Status === "Stopping" || i.Status === "Starting");
    if (!moving.length || Date.now() > deadline) return live;
    waits.onProgress(`waiting for ${moving.length} instance(s) in Stopping/Starting to settle`);
    await new Promise((r) => setTimeout(r, waits.pollIntervalMs));
  }
}

function reasons(result: ExecutionResult): string[] {
  return [
    ...result.failures.map((f) => `${f.instanceId}: ${f.action} failed: ${f.code}: ${f.message}`),
    ...result.leftStopped.map((f) => `${f.instanceId}: stopped by this operation but not Running again (${f.code}: ${f.message}); start it with StartInstances or the ENS console`),
  ];
}

function byOwner(items: readonly { instanceId: string; owner: string }[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const i of items) groups.set(i.owner, [...(groups.get(i.owner) ?? []), i.instanceId]);
  return [...groups];
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

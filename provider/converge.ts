import { EnsClient } from "./ens";
import { engineAlive } from "./engine";
import { BindingKey, executePlan, ExecutionResult } from "./execute";
import { recoverInterrupted } from "./instances";
import { claim, readOwners, release } from "./ownership";
import { LiveInstance, Plan, planBatches, planBinding } from "./plan";
import { list, Reporter } from "./report";
import { readSettings } from "./settings";
import { AttachmentInputs } from "./validate";

/** Observe, plan, refuse bad plans before any change, execute, and work out the set that is really bound. */

export type Operation = "create" | "update" | "delete";

export interface Outcome {
  /** What ENS has bound for this resource now. */
  attached: string[];
  /** Per-instance reasons, empty when everything succeeded. */
  reasons: string[];
  /** What this run changed, for the closing line. */
  counts: { attached: number; detached: number; adopted: number; restarted: number };
}

export async function converge(client: EnsClient, key: BindingKey, inputs: AttachmentInputs, attachedBefore: string[], id: string, op: Operation, out: Reporter): Promise<Outcome> {
  const plan = await observeAndPlan(client, key, inputs, attachedBefore, id, op, out);
  const result = await executePlan(client, key, plan, {
    resourceId: id,
    stillWanted: () => engineAlive(),
    forceStop: inputs.forceStop ?? false,
    stopTimeoutMs: (inputs.stopTimeoutSeconds ?? 300) * 1000,
    pollIntervalMs: readSettings().pollIntervalMs,
    log: out.log,
  });
  // Start from what ENS had bound when we looked (adopted + about to be detached), then apply what succeeded.
  const detaching = new Set(planBatches(plan).filter((b) => b.action === "DetachKeyPair").flatMap((b) => b.instanceIds));
  const stillAttached = new Set([...plan.alreadyAttached, ...detaching]);
  const attachedNow: string[] = [];
  const detachedNow: string[] = [];
  for (const ok of result.succeeded) {
    if (detaching.has(ok)) {
      stillAttached.delete(ok);
      detachedNow.push(ok);
    } else {
      stillAttached.add(ok);
      attachedNow.push(ok);
    }
  }
  await recordOwnership(client, id, [...attachedNow, ...plan.adoptedUnowned, ...plan.takenOver.map((t) => t.instanceId).filter((i) => stillAttached.has(i))], detachedNow, out);
  const counts = { attached: attachedNow.length, detached: detachedNow.length, adopted: plan.adoptedUnowned.length + plan.takenOver.length, restarted: result.restarted };
  return { attached: [...stillAttached].sort(), reasons: reasons(result), counts };
}

/**
 * Reads the live facts and plans. First, instances an interrupted earlier run left stopped (crash marks) are started
 * again. Owner tags are read only for instances whose binding the plan would adopt, replace or remove.
 */
async function observeAndPlan(client: EnsClient, key: BindingKey, inputs: AttachmentInputs, attachedBefore: string[], id: string, op: Operation, out: Reporter): Promise<Plan> {
  const ids = union(inputs.instanceIds, attachedBefore);
  const waits = { timeoutMs: (inputs.stopTimeoutSeconds ?? 300) * 1000, pollIntervalMs: readSettings().pollIntervalMs, onProgress: out.log, warn: out.warn };
  const unrecovered = await recoverInterrupted(client, id, ids, waits);
  for (const f of unrecovered) out.warn(`${f.instanceId} was stopped by an interrupted run and could not be started again: ${f.code}: ${f.message}`);
  const described = await settle(client, ids, waits);
  const live = new Map<string, LiveInstance>([...described].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
  const wanted = new Set(inputs.instanceIds);
  const before = new Set(attachedBefore);
  const askOwner = ids.filter((i) => {
    const k = live.get(i)?.keyPairName;
    return k !== undefined && (wanted.has(i) ? !before.has(i) : k === key.name);
  });
  const plan = planBinding({
    desired: inputs.instanceIds,
    attached: attachedBefore,
    live,
    keyPairName: key.name,
    stopInstances: inputs.stopInstances,
    maxStoppedInstances: inputs.maxStoppedInstances,
    maxStoppedPerRegion: inputs.maxStoppedPerRegion,
    owners: askOwner.length ? await readOwners(client, askOwner) : new Map(),
    resourceId: id,
    takeOwnership: inputs.takeOwnership === true,
  });
  const problems: string[] = [];
  if (plan.missing.length) problems.push(`instanceIds: ENS has no instance ${list(plan.missing)} at ${client.endpoint}; remove it from instanceIds or check the region and account`);
  if (plan.ownedElsewhere.length) problems.push(`${plan.ownedElsewhere.length} instance(s) are bound and owned by another resource: ${plan.ownedElsewhere.slice(0, 5).map((o) => `${o.instanceId} (owner ${o.owner})`).join(", ")}${plan.ownedElsewhere.length > 5 ? ", ..." : ""}. ENS holds one key pair per instance: remove them from instanceIds, or set takeOwnership: true to take them over`);
  if (plan.blockedRunning.length) problems.push(runningProblem(plan.blockedRunning, op));
  if (plan.unready.length) problems.push(`instance(s) neither Running nor Stopped: ${plan.unready.map((u) => `${u.instanceId} (${u.status})`).join(", ")}; wait until they settle and run again`);
  if (problems.length) throw new Error(`${problems.join("\n")}\nNothing was changed.`);
  if (plan.replacesKey.length) {
    const keys = [...new Set(plan.replacesKey.map((r) => r.keyPairName))];
    out.warn(`${plan.replacesKey.length} instance(s) carry another key pair (${keys.slice(0, 3).join(", ")}${keys.length > 3 ? ", ..." : ""}); attaching ${key.name} replaces it (an ENS instance holds one key pair): ${list(plan.replacesKey.map((r) => r.instanceId), 5)}`);
  }
  if (plan.takenOver.length) out.warn(`taking over ${plan.takenOver.length} instance(s) owned by another resource (takeOwnership): ${plan.takenOver.slice(0, 5).map((o) => `${o.instanceId} from ${o.owner}`).join(", ")}`);
  if (plan.adoptedUnowned.length) out.warn(`adopting ${plan.adoptedUnowned.length} instance(s) that already carry ${key.name} and have no owner: ${list(plan.adoptedUnowned, 5)}; this resource owns them from now on`);
  if (plan.leftToOwner.length) out.log(`${plan.leftToOwner.length} instance(s) no longer wanted are owned by another resource now: left bound, dropped from this resource: ${list(plan.leftToOwner.map((o) => o.instanceId), 5)}`);
  if (plan.alreadyAttached.length) out.log(`${plan.alreadyAttached.length} instance(s) already carry ${key.name}: adopted without a call`);
  return plan;
}

function runningProblem(running: string[], op: Operation): string {
  const head = `${running.length} instance(s) are Running and ENS binds and unbinds key pairs only on stopped instances: ${list(running)}.`;
  if (op !== "delete") return `${head} Stop them, or set stopInstances: true to let the provider stop them (at most maxStoppedInstances at once) and start them again`;
  return `${head} A destroy uses the inputs stored at the last update (stopInstances: false here). Either stop them yourself (StopInstances or the ENS console) and run pulumi destroy again, or set stopInstances: true in the program, run pulumi up, then pulumi destroy`;
}

/** Claims what this run bound or adopted, releases what it detached. A tag failure changes no binding: a warning. */
async function recordOwnership(client: EnsClient, id: string, claimed: string[], released: string[], out: Reporter): Promise<void> {
  try {
    if (claimed.length) await claim(client, claimed, id);
    if (released.length) await release(client, released);
  } catch (e) {
    out.warn(`bindings are as recorded, but the owner tags could not be written: ${(e as Error).message}; the next pulumi up writes them`);
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

export function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

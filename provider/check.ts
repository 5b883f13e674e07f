import { EnsClient, Instance } from "./ens";
import { findLeases, identityOf, keyNames, readTags, sameOwnerName, sortLeases, sortOwners, tagsOffWarning } from "./protocol";
import { LiveInstance, planBinding } from "./plan";
import { fleetNow, list, planSummary, reporterFor, Reporter } from "./report";
import { getClient, readSettings } from "./settings";
import { checkInputs, isUnknown } from "./validate";

type Props = Record<string, any>;
type Failure = { property: string; reason: string };

/** `check`: inputs validated (pure), then looked up in ENS where they changed, so that preview names a typo. */
export async function check(olds: Props, news: Props) {
  checkedHere.add(resourceKey(news));
  const out = reporterFor(news);
  const { inputs, failures, warnings } = checkInputs(news);
  for (const w of warnings) out.warn(w);
  sayTagsOff(news, out);
  if (!failures.length) {
    try {
      failures.push(...(await checkLive(olds, inputs, out)));
      if (failures.length) failures.push(...(await leftStoppedMeanwhile(news)));
    } catch (e) {
      // Settings and credential problems: one clear line in preview rather than a stack trace.
      failures.push({ property: "", reason: (e as Error).message });
    }
  }
  // The engine prints a named property's whole value before the reason (thousands of IDs for a fleet); without a
  // property it prints "<type> resource '<name>' has a problem: <reason>", so the field goes into the reason.
  return { inputs, failures: failures.map((f) => (f.property === "instanceIds" ? { property: "", reason: `instanceIds: ${f.reason}` } : f)) };
}

/**
 * Resources this process has checked. The engine checks a resource before it diffs it in a preview or an up; a
 * refresh runs no program, so a diff of a resource never checked here is a refresh's (diff.ts words it so).
 */
const checkedHere = new Set<string>();
const resourceKey = (props: Props) => String(props.__owner ?? props.__attachmentName ?? "");
export const wasChecked = (props: Props): boolean => checkedHere.has(resourceKey(props));
/** For a check that validates only (an account not known yet in preview). */
export const noteChecked = (props: Props): void => void checkedHere.add(resourceKey(props));

/**
 * Live checks. Only what changed is looked up (a new key reference, instances not in the previous inputs): an
 * unchanged stack costs no call. For a create, which has no diff, the plan's summary is said here.
 */
async function checkLive(olds: Props, inputs: Props, out: Reporter): Promise<Failure[]> {
  const keyField = inputs.keyPairId !== undefined ? "keyPairId" : "keyPairName";
  const keyValue = inputs[keyField];
  const before = new Set<string>(Array.isArray(olds.instanceIds) ? olds.instanceIds : []);
  const newIds: string[] = Array.isArray(inputs.instanceIds) ? inputs.instanceIds.filter((id: unknown) => !isUnknown(id) && !before.has(id as string)) : [];
  const keyChanged = !isUnknown(keyValue) && keyValue !== olds[keyField];
  const updating = Array.isArray(olds.instanceIds) && !keyChanged;
  const failures: Failure[] = [];
  // An update that adds or removes Running instances without stopInstances would fail in up: fail preview too.
  const checkRunning = updating && inputs.stopInstances !== true && Array.isArray(inputs.instanceIds) && !inputs.instanceIds.some(isUnknown);
  const removed = checkRunning ? [...before].filter((id) => !inputs.instanceIds.includes(id)) : [];
  const removedLive = removed.length ? await getClient().describeInstancesById(removed) : new Map<string, Instance>();
  // Only instances whose binding would change need a stop: new ones without the key, removed ones with it.
  const needsStop = (ids: string[], live: Map<string, Instance>) => ids.filter((id) => (live.get(id)?.KeyPairName === olds.keyPairName) === removed.includes(id));
  if (!keyChanged && !newIds.length) return runningRefusal(needsStop(removed, removedLive), removedLive);
  const client = getClient();
  const key = keyChanged ? await client.findKeyPair(keyField === "keyPairId" ? { keyPairId: keyValue } : { keyPairName: keyValue }) : undefined;
  if (keyChanged && !key) failures.push({ property: keyField, reason: `ENS has no key pair ${JSON.stringify(keyValue)} at ${client.endpoint}: create or import it first, or fix ${keyField}` });
  if (!newIds.length) return failures;
  const live = await client.describeInstancesById(newIds);
  const missing = newIds.filter((id) => !live.has(id));
  if (missing.length) failures.push({ property: "instanceIds", reason: `ENS has no instance ${list(missing)} at ${client.endpoint}: remove it from instanceIds or check the account and region` });
  if (checkRunning) {
    const seen = new Map([...live, ...removedLive]);
    failures.push(...runningRefusal(needsStop([...newIds, ...removed], seen), seen));
  }
  // A replacement (new key) is a create too: its resource owns what the old one owned (same owner name).
  const creating = !Array.isArray(olds.instanceIds) || keyChanged;
  if (creating) failures.push(...(await ownedElsewhere(client, inputs.instanceIds.filter((id: unknown) => !isUnknown(id)), live, inputs, out)));
  if (creating && key && !failures.length && !inputs.instanceIds.some(isUnknown)) {
    const view = new Map<string, LiveInstance>([...live].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
    const plan = planBinding({ desired: inputs.instanceIds, attached: [], live: view, keyPairName: key.KeyPairName, stopInstances: inputs.stopInstances, maxStoppedInstances: inputs.maxStoppedInstances, maxStoppedPerRegion: inputs.maxStoppedPerRegion });
    const running = new Set([...live.values()].filter((i) => i.Status === "Running").map((i) => i.InstanceId));
    // Other runs holding instances down now bound this one too (rule 5): the concurrency preview states counts them.
    const me = identityOf(inputs, "", key.KeyPairId);
    const fleet = plan.rolling.instances.length && inputs.stopInstances ? fleetNow(sortLeases(await findLeases(client), me, undefined).live) : undefined;
    out.log(planSummary(plan, { running, stopInstances: inputs.stopInstances, maxStoppedInstances: inputs.maxStoppedInstances, unchanged: 0, fleet }));
    if (plan.blockedRunning.length && !inputs.stopInstances) failures.push(runningFailure(plan.blockedRunning));
  }
  return failures;
}

/** With `ens:ownershipTags false`, what the resource goes without: once per resource and process. */
export function sayTagsOff(props: Props, out: Reporter): void {
  let on = true;
  try {
    on = readSettings().ownershipTags;
  } catch {
    return; // a settings error is said by the operation itself
  }
  const said = on ? undefined : tagsOffWarning(resourceKey(props));
  if (said) out.warn(said);
}

/**
 * A refused check stops the operation before its first step, which starts what an interrupted run of the resource
 * left stopped (protocol rule 4); check itself starts nothing (it runs in preview too), so the refusal names them.
 */
async function leftStoppedMeanwhile(news: Props): Promise<Failure[]> {
  if (typeof news.__owner !== "string" || !news.__owner) return [];
  const own = sortLeases(await findLeases(getClient()), identityOf(news, undefined, ""), undefined).ownDead;
  if (!own.length) return [];
  const ids = own.map((f) => f.instanceId);
  return [{ property: "", reason: `${ids.length} instance(s) an interrupted run of this resource left Stopped (${list(ids, 5)}) stay Stopped while this check fails: fix the above and run pulumi up (its first step starts them again), or start them yourself (StartInstances or the ENS console)` }];
}

function runningRefusal(ids: string[], live: Map<string, Instance>): Failure[] {
  const running = ids.filter((id) => live.get(id)?.Status === "Running");
  return running.length ? [runningFailure(running)] : [];
}

function runningFailure(running: string[]): Failure {
  return { property: "stopInstances", reason: `${running.length} instance(s) to bind or unbind are Running (${list(running, 5)}) and ENS binds key pairs only to stopped instances: set stopInstances: true (the provider stops them, at most maxStoppedInstances at once, and starts them again), or stop them first` };
}

/**
 * Owner tags for a create (or a replacement): another owner's standing claim refuses it, unless takeOwnership. The
 * resource's own name (a rotation's old resource) is its own. Unbound instances carry no standing claim but a fresh
 * one (another run under way): all are read.
 */
async function ownedElsewhere(client: EnsClient, ids: string[], seen: Map<string, Instance>, inputs: Props, out: Reporter): Promise<Failure[]> {
  if (!ids.length) return [];
  const unseen = ids.filter((id) => !seen.has(id));
  const live = unseen.length ? new Map([...seen, ...(await client.describeInstancesById(unseen))]) : seen;
  const me = identityOf(inputs, undefined, "");
  const tags = await readTags(client, ids);
  const owners = await sortOwners(tags, (id) => live.get(id)?.KeyPairName || undefined, me, keyNames(client));
  const owned = [...owners.others];
  if (!owned.length) return [];
  const named = `${owned.slice(0, 5).map(([i, o]) => `${i} (owner ${o})`).join(", ")}${owned.length > 5 ? ", ..." : ""}`;
  if (inputs.takeOwnership === true) {
    out.warn(`takeOwnership: this create takes over ${owned.length} instance(s) owned by another resource: ${named}`);
    return [];
  }
  // The owner's own lease, expired, beside its claim: its run died there and nothing has run it since (F9: a destroy
  // after a killed create never reaches the provider, so the owner may be in no state at all).
  const now = Date.now();
  const orphaned = owned.filter(([i, o]) => {
    const l = tags.get(i)?.lease;
    return l !== undefined && l.expiresAtMs !== undefined && l.expiresAtMs < now && sameOwnerName(o, l.owner);
  });
  const hint = orphaned.length
    ? `. The run of the owner that bound ${orphaned.length === owned.length ? "them" : list(orphaned.map(([i]) => i), 5)} was interrupted and nothing has run since (its stop lease expired): if that resource no longer exists (a pulumi destroy after a killed pulumi up never reaches the provider), takeOwnership: true takes them over, or ens-keypair-recover --owner ${new Set(orphaned.map(([, o]) => o)).size === 1 ? orphaned[0][1] : "<owner>"} --release frees them`
    : "";
  return [{ property: "instanceIds", reason: `${owned.length} instance(s) are bound and owned by another resource: ${named}; ENS holds one key pair per instance: remove them, or set takeOwnership: true to take them over${hint}` }];
}

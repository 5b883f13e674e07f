import { Instance } from "./ens";
import { LiveInstance, planBinding } from "./plan";
import { findLeases, identityOf, keyNames, readTags, sortLeases, sortOwners } from "./protocol";
import { fleetNow, FleetNow, list, planSummary, reporterFor, Reporter } from "./report";
import { getClient, readSettings } from "./settings";
import { isUnknown } from "./validate";
import { wasChecked } from "./check";

type Props = Record<string, any>;

/**
 * `diff`: changed inputs, instances an interrupted run left stopped, and drift (ENS differing from the state) each
 * make an update. When there is one, a summary line says what it will do.
 */
export async function diff(id: string, olds: Props, news: Props) {
  const out = reporterFor(news);
  const replaces: string[] = [];
  if (news.keyPairId !== undefined && (isUnknown(news.keyPairId) || news.keyPairId !== olds.keyPairId)) replaces.push("keyPairId");
  if (news.keyPairName !== undefined && (isUnknown(news.keyPairName) || news.keyPairName !== olds.keyPairName)) replaces.push("keyPairName");
  const setDiffers = (a: unknown, b: unknown) => !Array.isArray(a) || !Array.isArray(b) || a.some(isUnknown) || !sameSet(a, b);
  const yielded = new Set<string>(olds.yieldedInstanceIds ?? []);
  const kept = Array.isArray(news.instanceIds) ? news.instanceIds.filter((i: unknown) => !yielded.has(i as string)) : news.instanceIds;
  const inputsChanged =
    setDiffers(news.instanceIds, olds.instanceIds) ||
    // Partial failures: the state says fewer (or more) are bound than wanted (less what others took over), so an update converges.
    setDiffers(kept, olds.attachedInstanceIds) ||
    ["stopInstances", "maxStoppedInstances", "maxStoppedPerRegion", "forceStop", "stopTimeoutSeconds"].some((k) => news[k] !== olds[k]);
  const { marked, fleet } = await leftStopped(id, olds, out);
  const live = replaces.length ? undefined : await liveView(olds, news);
  const drift = live ? await drifted(live, id, olds, out) : false;
  // States written before owner names: one update rewrites the owner tags (the resource ID) to the resource's name.
  const migrate = olds.__owner === undefined && typeof news.__owner === "string" && (olds.attachedInstanceIds ?? []).length > 0;
  if (migrate && !replaces.length) out.log(`owner tags name this resource by its ID (written by an earlier version): this update rewrites them to ${news.__owner}, with no binding call`);
  const changes = replaces.length > 0 || inputsChanged || marked || drift || migrate;
  if (changes && live) {
    const view = new Map<string, LiveInstance>([...live].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
    const attached: string[] = olds.attachedInstanceIds ?? [];
    const plan = planBinding({ desired: news.instanceIds, attached, live: view, keyPairName: olds.keyPairName, stopInstances: news.stopInstances, maxStoppedInstances: news.maxStoppedInstances, maxStoppedPerRegion: news.maxStoppedPerRegion });
    const kept = new Set(attached);
    const running = new Set([...live.values()].filter((i) => i.Status === "Running").map((i) => i.InstanceId));
    const summary = planSummary(plan, { running, stopInstances: news.stopInstances, maxStoppedInstances: news.maxStoppedInstances, unchanged: plan.alreadyAttached.filter((i) => kept.has(i)).length, fleet });
    // A refresh changes nothing in ENS: what it found is what the next up would do.
    out.log(wasChecked(news) ? summary : summary.replace(/^plan: /, "refresh records what ENS has; the next pulumi up would: "));
  }
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * An interrupted run of this resource may have left instances stopped: then an update must finish the job (one
 * ListTagResources call by key). Other resources' leases are not this diff's business: any operation starts the
 * expired ones.
 */
async function leftStopped(id: string, olds: Props, out: Reporter): Promise<{ marked: boolean; fleet: FleetNow }> {
  const me = identityOf(olds, id, olds.keyPairId ?? "");
  const leases = sortLeases(await findLeases(getClient()), me, undefined);
  const own = leases.ownDead;
  if (own.length) out.warn(`${own.length} instance(s) an interrupted run of this resource left stopped (${list(own.map((f) => f.instanceId), 5)}): this update starts them again`);
  return { marked: own.length > 0, fleet: fleetNow(leases.live) };
}

/**
 * The live view of the resource's instances (DescribeInstances, 100 a call), as Terraform's plan refreshes first;
 * none when ens:driftCheck is false or the inputs are not known yet.
 */
async function liveView(olds: Props, news: Props): Promise<Map<string, Instance> | undefined> {
  if (!readSettings().driftCheck || !Array.isArray(news.instanceIds) || news.instanceIds.some(isUnknown) || !olds.keyPairName) return undefined;
  return getClient().describeInstancesById(union(news.instanceIds, olds.attachedInstanceIds ?? []));
}

/**
 * Drift: instances the state lists as bound that ENS shows without the key pair (a binding removed by hand, a delete
 * that failed half-way), instances another resource took over (owner tags of the bound instances: ceil(n/50)
 * ListTagResources calls, the only evidence of a takeover with the same key), and instances left to another resource
 * that are free again (no key pair at all).
 */
async function drifted(live: Map<string, Instance>, id: string, olds: Props, out: Reporter): Promise<boolean> {
  const attached: string[] = olds.attachedInstanceIds ?? [];
  const me = identityOf(olds, id, olds.keyPairId ?? "");
  const client = getClient();
  const owners = await sortOwners(await readTags(client, attached), (i) => live.get(i)?.KeyPairName || undefined, me, keyNames(client));
  const taken = attached.filter((i) => owners.others.has(i));
  const lost = attached.filter((i) => !owners.others.has(i) && live.get(i)?.KeyPairName !== olds.keyPairName);
  const free = (olds.yieldedInstanceIds ?? []).filter((i: string) => live.has(i) && !live.get(i)!.KeyPairName);
  if (taken.length) out.warn(`${taken.length} instance(s) were taken over by ${[...new Set(taken.map((i) => owners.others.get(i)))].slice(0, 3).join(", ")}: this update drops them from this resource, with no binding call: ${list(taken, 5)}`);
  if (lost.length) out.warn(`drift: ${lost.length} instance(s) the state lists as bound do not carry ${olds.keyPairName} in ENS (${list(lost, 5)}): this update makes ENS match the program`);
  if (free.length) out.log(`${free.length} instance(s) left to another resource carry no key pair now (${list(free, 5)}): this update binds them`);
  return taken.length + lost.length + free.length > 0;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function sameSet(a: unknown[], b: unknown[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

import { Instance } from "./ens";
import { describeMarks, findMarked } from "./instances";
import { LiveInstance, planBinding } from "./plan";
import { list, planSummary, reporterFor, Reporter } from "./report";
import { getClient, readSettings } from "./settings";
import { isUnknown } from "./validate";

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
  const inputsChanged =
    setDiffers(news.instanceIds, olds.instanceIds) ||
    // Partial failures: the state says fewer (or more) are bound than wanted, so an update converges.
    setDiffers(news.instanceIds, olds.attachedInstanceIds) ||
    ["stopInstances", "maxStoppedInstances", "maxStoppedPerRegion", "forceStop", "stopTimeoutSeconds"].some((k) => news[k] !== olds[k]);
  const marked = await leftStopped(id, olds, news, out);
  const live = replaces.length ? undefined : await liveView(olds, news);
  const drift = live ? drifted(live, olds, out) : false;
  const changes = replaces.length > 0 || inputsChanged || marked || drift;
  if (changes && live) {
    const view = new Map<string, LiveInstance>([...live].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
    const attached: string[] = olds.attachedInstanceIds ?? [];
    const plan = planBinding({ desired: news.instanceIds, attached, live: view, keyPairName: olds.keyPairName, stopInstances: news.stopInstances, maxStoppedInstances: news.maxStoppedInstances, maxStoppedPerRegion: news.maxStoppedPerRegion });
    const kept = new Set(attached);
    const running = new Set([...live.values()].filter((i) => i.Status === "Running").map((i) => i.InstanceId));
    out.log(planSummary(plan, { running, stopInstances: news.stopInstances, maxStoppedInstances: news.maxStoppedInstances, unchanged: plan.alreadyAttached.filter((i) => kept.has(i)).length }));
  }
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * An interrupted run may have left instances stopped: then an update must finish the job. Asked whatever the inputs
 * say (one ListTagResources call), since a user may revert a stop-first change after the crash.
 */
async function leftStopped(id: string, olds: Props, news: Props, out: Reporter): Promise<boolean> {
  const scope = union(olds.attachedInstanceIds ?? [], Array.isArray(news.instanceIds) ? news.instanceIds.filter((i: unknown) => !isUnknown(i)) : []);
  const marks = await findMarked(getClient(), id, scope);
  for (const line of describeMarks({ ...marks, orphaned: [] })) out.warn(line);
  const restart = marks.ours.length + marks.orphaned.length;
  if (restart) out.warn(`${restart} instance(s) were left stopped by an interrupted run: this update starts them again`);
  return restart > 0;
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
 * Drift: instances the state lists as bound that ENS shows without the key pair (a binding removed by hand, or a
 * delete that failed half-way and was then undone in the program).
 */
function drifted(live: Map<string, Instance>, olds: Props, out: Reporter): boolean {
  const lost = (olds.attachedInstanceIds ?? []).filter((i: string) => live.get(i)?.KeyPairName !== olds.keyPairName);
  if (!lost.length) return false;
  out.warn(`drift: ${lost.length} instance(s) the state lists as bound do not carry ${olds.keyPairName} in ENS (${list(lost, 5)}): this update makes ENS match the program`);
  return true;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function sameSet(a: unknown[], b: unknown[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

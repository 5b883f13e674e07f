import { chunk, MAX_DESCRIBE_IDS } from "./batch";
import { EnsClient } from "./ens";

/** Stop, start and wait for instances, by batch: never one call per instance. */

export interface InstanceFailure {
  instanceId: string;
  code: string;
  message: string;
}

export interface WaitOptions {
  timeoutMs: number;
  pollIntervalMs: number;
  onProgress?: (line: string) => void;
}

const OK_CODES = new Set(["", "0", "200", "undefined"]);

/** Sends StopInstances or StartInstances in batches of 100; returns the instances ENS refused, with why. */
export async function changePower(client: EnsClient, ids: string[], to: "stop" | "start", forceStop = false): Promise<InstanceFailure[]> {
  const responses = await Promise.all(
    chunk(ids, MAX_DESCRIBE_IDS).map((batch) => (to === "stop" ? client.stopInstances(batch, forceStop) : client.startInstances(batch))),
  );
  return responses
    .flatMap((r) => r.InstanceResponses)
    .filter((r) => !OK_CODES.has(r.Code))
    .map((r) => ({ instanceId: r.InstanceId, code: r.Code, message: r.Message }));
}

/**
 * Polls DescribeInstances (ceil(n/100) calls a round) until every instance has `status`, or the time is up.
 * Returns the instances that did not get there (vanished ones included).
 */
export async function waitForStatus(client: EnsClient, ids: string[], status: "Stopped" | "Running", opts: WaitOptions): Promise<InstanceFailure[]> {
  const deadline = Date.now() + opts.timeoutMs;
  let pending = [...ids];
  let lastSeen = new Map<string, string>();
  for (let round = 0; pending.length > 0; round++) {
    const live = await client.describeInstancesById(pending);
    lastSeen = new Map(pending.map((id) => [id, live.get(id)?.Status ?? "NotFound"]));
    pending = pending.filter((id) => lastSeen.get(id) !== status && lastSeen.get(id) !== "NotFound");
    if (pending.length === 0) break;
    if (Date.now() + opts.pollIntervalMs > deadline) break;
    if (round % 5 === 4) opts.onProgress?.(`waiting for ${pending.length}/${ids.length} instance(s) to be ${status}`);
    await new Promise((r) => setTimeout(r, opts.pollIntervalMs));
  }
  const failures: InstanceFailure[] = pending.map((id) => ({
    instanceId: id,
    code: "WaitTimeout",
    message: `still ${lastSeen.get(id)} after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${status} (raise stopTimeoutSeconds)`,
  }));
  for (const [id, s] of lastSeen) if (s === "NotFound") failures.push({ instanceId: id, code: "InvalidInstanceId.NotFound", message: "the instance no longer exists" });
  return failures;
}

/**
 * Crash marks. Before stopping instances the provider tags them with the resource's ID; it untags them once they run
 * again. If the process dies in between (SIGKILL, lost machine), the next operation of that resource (or `diff`,
 * which then asks for an update) finds the tags and starts those instances first, so nothing stays stopped.
 */
export const STOP_MARK = "pulumi-ens-keypair:stopped-by";
const TAG_BATCH = 50; // ResourceId.N limit of TagResources / UntagResources

export async function markStopping(client: EnsClient, ids: string[], resourceId: string): Promise<void> {
  await Promise.all(chunk(ids, TAG_BATCH).map((b) => client.tagResources(b, [{ Key: STOP_MARK, Value: resourceId }])));
}

export async function clearStopMarks(client: EnsClient, ids: string[]): Promise<void> {
  await Promise.all(chunk(ids, TAG_BATCH).map((b) => client.untagResources(b, [STOP_MARK])));
}

/**
 * Instances an interrupted run left marked: those marked by this resource, and marked ones among `scope` (a create
 * re-run after a crash has a new resource ID but the same instances). One ListTagResources call (plus pages).
 */
export async function findMarked(client: EnsClient, resourceId: string, scope: readonly string[]): Promise<string[]> {
  const inScope = new Set(scope);
  const tags = await client.listTagResources({ tag: { Key: STOP_MARK } });
  return [...new Set(tags.filter((t) => t.TagKey === STOP_MARK && (t.TagValue === resourceId || inScope.has(t.ResourceId))).map((t) => t.ResourceId))];
}

/** Starts (and unmarks) the instances that an interrupted run of this resource left stopped. */
export async function recoverInterrupted(client: EnsClient, resourceId: string, scope: readonly string[], opts: WaitOptions): Promise<InstanceFailure[]> {
  const marked = await findMarked(client, resourceId, scope);
  if (!marked.length) return [];
  opts.onProgress?.(`${marked.length} instance(s) were left stopped by an interrupted run: starting them first`);
  return startAgain(client, marked, opts);
}

/**
 * Brings instances this provider stopped back to Running: starts those Stopped (after Stopping settles), waits for
 * Running, and removes their crash marks. Returns those that did not get there.
 */
export async function startAgain(client: EnsClient, ids: string[], opts: WaitOptions): Promise<InstanceFailure[]> {
  const live = await client.describeInstancesById(ids);
  const stopping = ids.filter((id) => live.get(id)?.Status === "Stopping");
  if (stopping.length) await waitForStatus(client, stopping, "Stopped", opts);
  const toStart = ids.filter((id) => ["Stopped", "Stopping"].includes(live.get(id)?.Status ?? ""));
  if (toStart.length) opts.onProgress?.(`starting ${toStart.length} instance(s) stopped by this provider`);
  const refused = toStart.length ? await changePower(client, toStart, "start") : [];
  const late = await waitForStatus(client, ids.filter((id) => live.has(id)), "Running", opts);
  const failed = new Set([...refused, ...late].map((f) => f.instanceId));
  await clearStopMarks(client, ids.filter((id) => live.has(id) && !failed.has(id)));
  return [...refused, ...late];
}

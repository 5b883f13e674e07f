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
 * Crash marks. Before stopping instances the provider tags them; it untags them once they run again. If the process
 * dies in between (SIGKILL, lost machine), the next operation on the same key pair finds the tags and starts those
 * instances first, so nothing the provider stopped stays stopped.
 */
export const STOP_MARK = "pulumi-ens-keypair:stopped-for";
const TAG_BATCH = 50; // ResourceId.N limit of TagResources / UntagResources

export async function markStopping(client: EnsClient, ids: string[], keyPairId: string): Promise<void> {
  await Promise.all(chunk(ids, TAG_BATCH).map((b) => client.tagResources(b, [{ Key: STOP_MARK, Value: keyPairId }])));
}

export async function clearStopMarks(client: EnsClient, ids: string[]): Promise<void> {
  await Promise.all(chunk(ids, TAG_BATCH).map((b) => client.untagResources(b, [STOP_MARK])));
}

/** Starts (and unmarks) the instances among `scope` that an interrupted run stopped for this key pair. */
export async function recoverInterrupted(client: EnsClient, keyPairId: string, scope: readonly string[], opts: WaitOptions): Promise<InstanceFailure[]> {
  const inScope = new Set(scope);
  const marked = [...new Set((await client.listTagResources({ tag: { Key: STOP_MARK, Value: keyPairId } })).map((t) => t.ResourceId))].filter((id) => inScope.has(id));
  if (!marked.length) return [];
  opts.onProgress?.(`${marked.length} instance(s) were left stopped by an interrupted run: starting them first`);
  const live = await client.describeInstancesById(marked);
  const stopping = marked.filter((id) => live.get(id)?.Status === "Stopping");
  if (stopping.length) await waitForStatus(client, stopping, "Stopped", opts);
  const toStart = marked.filter((id) => ["Stopped", "Stopping"].includes(live.get(id)?.Status ?? ""));
  const refused = toStart.length ? await changePower(client, toStart, "start") : [];
  const late = await waitForStatus(client, marked.filter((id) => live.has(id)), "Running", opts);
  const failed = new Set([...refused, ...late].map((f) => f.instanceId));
  await clearStopMarks(client, marked.filter((id) => live.has(id) && !failed.has(id)));
  return [...refused, ...late];
}

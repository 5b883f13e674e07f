import { chunk, MAX_DESCRIBE_IDS, MAX_TAG_RESOURCES } from "./batch";
import { EnsClient } from "./ens";
import { asEnsError, confirmFailures, goneFailure, InstanceFailure, look, powered, reasonOf } from "./observe";

export type { InstanceFailure } from "./observe";

/** Stop, start and wait for instances, by batch: never one call per instance unless a batch cannot be used. */

export interface WaitOptions {
  timeoutMs: number;
  pollIntervalMs: number;
  onProgress?: (line: string) => void;
}

const OK_CODES = new Set(["", "0", "200", "undefined"]);

/**
 * Stops or starts instances and returns those that ENS shows did not get there (Stopping counts as stopped,
 * Starting as started), with why. StopInstances/StartInstances take 100 IDs a call; a forced stop goes one by one
 * through StopInstance, the only action with ForceStop (StopInstanceRequest.ts; StopInstancesRequest.ts has
 * InstanceIds only). Every answer that is not a plain success is checked against DescribeInstances.
 */
export async function changePower(client: EnsClient, ids: string[], to: "stop" | "start", forceStop = false): Promise<InstanceFailure[]> {
  const reported =
    to === "stop" && forceStop
      ? await oneByOne(client, ids, to, true)
      : (await Promise.all(chunk(ids, MAX_DESCRIBE_IDS).map((batch) => powerBatch(client, batch, to)))).flat();
  return confirmFailures(client, reported, powered(to));
}

async function powerBatch(client: EnsClient, batch: string[], to: "stop" | "start"): Promise<InstanceFailure[]> {
  try {
    const res = to === "stop" ? await client.stopInstances(batch) : await client.startInstances(batch);
    const byId = new Map(res.InstanceResponses.map((r) => [r.InstanceId, r]));
    return batch
      .filter((id) => !OK_CODES.has(byId.get(id)?.Code ?? "MissingResult"))
      .map((id) => ({ instanceId: id, code: byId.get(id)?.Code ?? "MissingResult", message: byId.get(id)?.Message ?? "ENS returned no result for this instance" }));
  } catch (e) {
    const err = asEnsError(e, to === "stop" ? "StopInstances" : "StartInstances");
    const failAll = (ids: string[]) => ids.map((id) => ({ instanceId: id, code: err.code, message: reasonOf(err) }));
    // Retries are spent (throttling, 5xx, lost answers): going one by one would only add load. Observation decides.
    if (err.retryable || batch.length === 1) return failAll(batch);
    // Whether one bad instance fails the whole call is not documented: look, then go one by one for the rest,
    // so that one instance does not block its neighbours.
    const seen = await look(client, batch, powered(to)).catch(() => undefined);
    if (!seen) return failAll(batch);
    return [...failAll(seen.gone), ...(await oneByOne(client, seen.pending, to, false))];
  }
}

/** StopInstance / StartInstance per instance, all under the shared call budget. */
async function oneByOne(client: EnsClient, ids: string[], to: "stop" | "start", forceStop: boolean): Promise<InstanceFailure[]> {
  const outcomes = await Promise.all(
    ids.map(async (id) => {
      try {
        await (to === "stop" ? client.stopInstance(id, forceStop) : client.startInstance(id));
        return undefined;
      } catch (e) {
        const err = asEnsError(e, to === "stop" ? "StopInstance" : "StartInstance");
        return { instanceId: id, code: err.code, message: reasonOf(err) };
      }
    }),
  );
  return outcomes.filter((f): f is InstanceFailure => f !== undefined);
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
  for (const [id, s] of lastSeen) if (s === "NotFound") failures.push(goneFailure(id));
  return failures;
}

/**
 * Crash marks. Before stopping instances the provider tags them `<resource ID>@<expiry, epoch seconds>`; it untags
 * them once they run again. If the process dies in between (SIGKILL, lost machine), the next operation of that
 * resource (or `diff`, which then asks for an update) finds the tags and starts those instances first. A mark past
 * its expiry belongs to no live run (an instance's turn is bounded: stop wait + calls + start wait; one given up on is
 * started again at once), so any operation starts those instances too, even when the resource that marked them never
 * reached the state.
 */
export const STOP_MARK = "pulumi-ens-keypair:stopped-by";

/** How long a mark may belong to a live run: both waits of an instance's turn plus ten minutes for its calls and retries. */
export const markLifetimeMs = (stopTimeoutMs: number) => 2 * stopTimeoutMs + 600_000;

export function markValue(resourceId: string, lifetimeMs: number, now = Date.now()): string {
  return `${resourceId}@${Math.ceil((now + lifetimeMs) / 1000)}`;
}

/** Marks written before expiries existed carry the resource ID only. */
export function parseMark(value: string): { resourceId: string; expiresAtMs?: number } {
  const m = /^(.*)@(\d+)$/.exec(value);
  return m ? { resourceId: m[1], expiresAtMs: Number(m[2]) * 1000 } : { resourceId: value };
}

export async function markStopping(client: EnsClient, ids: string[], resourceId: string, lifetimeMs: number): Promise<void> {
  const value = markValue(resourceId, lifetimeMs);
  await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.tagResources(b, [{ Key: STOP_MARK, Value: value }])));
}

export async function clearStopMarks(client: EnsClient, ids: string[]): Promise<void> {
  await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.untagResources(b, [STOP_MARK])));
}

export interface Marks {
  /** Marked by this resource, or marked instances among its own (a create re-run after a crash has a new ID). */
  ours: string[];
  /** Marked by another resource whose mark expired: no live run owns them any more. */
  orphaned: { instanceId: string; resourceId: string }[];
  /** Marked by another resource that may still be running. */
  foreign: { instanceId: string; resourceId: string; expiresAtMs?: number }[];
}

/** Every crash mark in the account, sorted by who may restart it: one ListTagResources call by tag key (plus pages). */
export async function findMarked(client: EnsClient, resourceId: string, scope: readonly string[], now = Date.now()): Promise<Marks> {
  const inScope = new Set(scope);
  const tags = await client.listTagResources({ tag: { Key: STOP_MARK } });
  const marks: Marks = { ours: [], orphaned: [], foreign: [] };
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.TagKey !== STOP_MARK || seen.has(t.ResourceId)) continue;
    seen.add(t.ResourceId);
    const mark = parseMark(t.TagValue);
    if (mark.resourceId === resourceId || inScope.has(t.ResourceId)) marks.ours.push(t.ResourceId);
    else if (mark.expiresAtMs !== undefined && mark.expiresAtMs < now) marks.orphaned.push({ instanceId: t.ResourceId, resourceId: mark.resourceId });
    else marks.foreign.push({ instanceId: t.ResourceId, resourceId: mark.resourceId, expiresAtMs: mark.expiresAtMs });
  }
  return marks;
}

/** What a user should hear about marks: orphans this run starts, and marks of other runs that it leaves alone. */
export function describeMarks(marks: Marks): string[] {
  const lines: string[] = [];
  const byResource = (items: { instanceId: string; resourceId: string }[]) => {
    const groups = new Map<string, string[]>();
    for (const i of items) groups.set(i.resourceId, [...(groups.get(i.resourceId) ?? []), i.instanceId]);
    return [...groups];
  };
  for (const [rid, ids] of byResource(marks.orphaned)) {
    lines.push(`${ids.length} instance(s) stopped by an interrupted run of ${rid} (expired mark): starting them again: ${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", ..." : ""}`);
  }
  for (const [rid, ids] of byResource(marks.foreign)) {
    const f = marks.foreign.find((m) => m.resourceId === rid);
    const until = f?.expiresAtMs ? ` until ${new Date(f.expiresAtMs).toISOString()}` : "";
    lines.push(`${ids.length} instance(s) are marked stopped by another run (${rid}) that may still be going on${until}; left alone: ${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", ..." : ""}. If no run is going on, start them with StartInstances and remove tag ${STOP_MARK}`);
  }
  return lines;
}

/** Starts (and unmarks) the instances that interrupted runs left stopped: this resource's and expired ones. */
export async function recoverInterrupted(client: EnsClient, resourceId: string, scope: readonly string[], opts: WaitOptions & { warn?: (l: string) => void }): Promise<InstanceFailure[]> {
  const marks = await findMarked(client, resourceId, scope);
  for (const line of describeMarks(marks)) (opts.warn ?? opts.onProgress)?.(line);
  const restart = [...marks.ours, ...marks.orphaned.map((o) => o.instanceId)];
  if (!restart.length) return [];
  if (marks.ours.length) opts.onProgress?.(`${marks.ours.length} instance(s) were left stopped by an interrupted run: starting them first`);
  return startAgain(client, restart, opts);
}

/**
 * Brings instances this provider stopped back to Running: starts those Stopped (after Stopping settles), waits for
 * Running, and removes their crash marks. Returns those that did not get there.
 */
export async function startAgain(client: EnsClient, ids: string[], opts: WaitOptions): Promise<InstanceFailure[]> {
  return (await bringBack(client, ids, opts)).problems;
}

/**
 * startAgain, saying also which instances came back (not Running when looked at, Running at the end) and which ENS
 * did not know (neither started nor reported: there is nothing to start).
 */
export async function bringBack(client: EnsClient, ids: string[], opts: WaitOptions): Promise<{ problems: InstanceFailure[]; cameBack: string[]; unknown: string[] }> {
  const live = await client.describeInstancesById(ids);
  const stopping = ids.filter((id) => live.get(id)?.Status === "Stopping");
  if (stopping.length) await waitForStatus(client, stopping, "Stopped", opts);
  const toStart = ids.filter((id) => ["Stopped", "Stopping"].includes(live.get(id)?.Status ?? ""));
  if (toStart.length) opts.onProgress?.(`starting ${toStart.length} instance(s) stopped by this provider`);
  const refused = toStart.length ? await changePower(client, toStart, "start") : [];
  const refusedIds = new Set(refused.map((f) => f.instanceId));
  const late = await waitForStatus(client, ids.filter((id) => live.has(id) && !refusedIds.has(id)), "Running", opts);
  const failed = new Set([...refused, ...late].map((f) => f.instanceId));
  await clearStopMarks(client, ids.filter((id) => live.has(id) && !failed.has(id)));
  return {
    problems: [...refused, ...late],
    cameBack: ids.filter((id) => live.has(id) && live.get(id)!.Status !== "Running" && !failed.has(id)),
    unknown: ids.filter((id) => !live.has(id)),
  };
}

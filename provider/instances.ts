import { chunk, MAX_DESCRIBE_IDS, MAX_TAG_RESOURCES } from "./batch";
import { EnsClient } from "./ens";
import { pollDelayMs } from "./policies";
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
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let pending = [...ids];
  let lastSeen = new Map<string, string>();
  for (let round = 0; pending.length > 0; round++) {
    const live = await client.describeInstancesById(pending);
    lastSeen = new Map(pending.map((id) => [id, live.get(id)?.Status ?? "NotFound"]));
    pending = pending.filter((id) => lastSeen.get(id) !== status && lastSeen.get(id) !== "NotFound");
    if (pending.length === 0) break;
    // Long waits (edge nodes can take many minutes) are polled less often: at most 10% late, at most every 30 s.
    const delay = pollDelayMs(Date.now() - started, opts.pollIntervalMs);
    if (Date.now() + opts.pollIntervalMs > deadline) break;
    if (round % 5 === 4) opts.onProgress?.(`waiting for ${pending.length}/${ids.length} instance(s) to be ${status}`);
    await new Promise((r) => setTimeout(r, Math.min(delay, deadline - Date.now())));
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
 * Brings instances this provider stopped back to Running: starts those Stopped (after Stopping settles), waits for
 * Running, and removes their leases (`unmark`). Says which instances did not get there, which came back (not Running
 * when looked at, Running at the end) and which ENS did not know (nothing to start).
 */
export async function bringBack(client: EnsClient, ids: string[], opts: WaitOptions, unmark: (ids: string[]) => Promise<unknown>): Promise<{ problems: InstanceFailure[]; cameBack: string[]; unknown: string[] }> {
  const live = await client.describeInstancesById(ids);
  const stopping = ids.filter((id) => live.get(id)?.Status === "Stopping");
  if (stopping.length) await waitForStatus(client, stopping, "Stopped", opts);
  const toStart = ids.filter((id) => ["Stopped", "Stopping"].includes(live.get(id)?.Status ?? ""));
  if (toStart.length) opts.onProgress?.(`starting ${toStart.length} instance(s) stopped by this provider`);
  const refused = toStart.length ? await changePower(client, toStart, "start") : [];
  const refusedIds = new Set(refused.map((f) => f.instanceId));
  const late = await waitForStatus(client, ids.filter((id) => live.has(id) && !refusedIds.has(id)), "Running", opts);
  const failed = new Set([...refused, ...late].map((f) => f.instanceId));
  await unmark(ids.filter((id) => live.has(id) && !failed.has(id)));
  return {
    problems: [...refused, ...late],
    cameBack: ids.filter((id) => live.has(id) && live.get(id)!.Status !== "Running" && !failed.has(id)),
    unknown: ids.filter((id) => !live.has(id)),
  };
}

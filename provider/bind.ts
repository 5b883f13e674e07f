import { EnsClient, EnsError } from "./ens";
import type { BindingKey, ExecutionResult } from "./execute";
import { asEnsError, carries, carriesNot, confirmFailures, GONE_CODE, InstanceFailure, look, reasonOf } from "./observe";
import { Batch } from "./plan";

/** Per-instance codes that mean "already as wanted" for a detach. */
export const DETACH_DONE = new Set(["PublicKeyNotAttachWithInstance", GONE_CODE]);

/**
 * One Attach/Detach call, then the truth for every instance that did not plainly succeed: ENS is looked at, and an
 * instance that carries (or no longer carries) the key is done whatever the answer said. After a whole-call
 * failure that some instances of the batch had already reached (a detach racing a detach by hand), the call is
 * sent once more for the rest.
 */
export async function runBatch(client: EnsClient, key: BindingKey, b: Batch): Promise<InstanceFailure[] | "ok"> {
  const reached = b.action === "AttachKeyPair" ? carries(key.name) : carriesNot(key.name);
  const once = async (ids: string[]): Promise<InstanceFailure[]> => {
    const res = b.action === "AttachKeyPair" ? await client.attachKeyPair(key.ref, ids) : await client.detachKeyPair(key.ref, ids);
    const byId = new Map(res.Results.map((r) => [r.InstanceId, r]));
    return ids
      .filter((id) => !byId.get(id)?.Success && !(b.action === "DetachKeyPair" && DETACH_DONE.has(byId.get(id)?.Code ?? "")))
      .map((id) => ({ instanceId: id, code: byId.get(id)?.Code ?? "MissingResult", message: byId.get(id)?.Message ?? "ENS returned no result for this instance" }));
  };
  const failWith = (e: unknown, ids: string[]) => failAll(ids, asEnsError(e, b.action));
  let reported: InstanceFailure[];
  try {
    reported = await once(b.instanceIds);
  } catch (e) {
    const seen = asEnsError(e, b.action).retryable ? undefined : await look(client, b.instanceIds, reached).catch(() => undefined);
    reported = seen?.done.length && seen.pending.length ? await once(seen.pending).catch((e2) => failWith(e2, seen.pending)) : failWith(e, b.instanceIds);
  }
  const confirmed = await confirmFailures(client, reported, reached);
  return confirmed.length ? confirmed : "ok";
}

/** Records a batch's outcome: every instance of it either succeeded or failed with its reason. */
export function record(result: ExecutionResult, b: Batch, outcome: InstanceFailure[] | "ok"): void {
  const failed = new Set(outcome === "ok" ? [] : outcome.map((f) => f.instanceId));
  for (const id of b.instanceIds) if (!failed.has(id)) result.succeeded.add(id);
  if (outcome !== "ok") result.failures.push(...outcome.map((f) => ({ ...f, action: b.action })));
}

/** The same failure, per instance. */
export function failAll(ids: readonly string[], err: EnsError): InstanceFailure[] {
  return ids.map((id) => ({ instanceId: id, code: err.code, message: reasonOf(err) }));
}

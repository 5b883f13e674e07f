import { EnsClient, EnsError, KeyPairRef } from "./ens";
import { changePower, InstanceFailure, markLifetimeMs, markStopping, startAgain, waitForStatus } from "./instances";
import { asEnsError, carries, carriesNot, confirmFailures, look, reasonOf } from "./observe";
import { Batch, BindingAction, Plan } from "./plan";

/** The key pair the calls name (by ID, or by name when ENS no longer knows the ID) and the name instances show. */
export interface BindingKey {
  ref: KeyPairRef;
  name: string;
}

/** Carries a plan out wave by wave and reports, per instance, what really happened. */

export interface ExecuteOptions {
  /** Written into the crash marks of stopped instances. */
  resourceId: string;
  /** Asked before each wave: false once nobody waits for the result (the engine died), so no new wave starts. */
  stillWanted?: () => Promise<boolean>;
  forceStop: boolean;
  stopTimeoutMs: number;
  pollIntervalMs: number;
  log: (line: string) => void;
}

export interface ActionFailure extends InstanceFailure {
  action: BindingAction | "StopInstances" | "StartInstances";
}

export interface ExecutionResult {
  /** Instances whose planned Attach or Detach succeeded. */
  succeeded: Set<string>;
  failures: ActionFailure[];
  /** Instances this run stopped and could not bring back to Running: the user must know. */
  leftStopped: ActionFailure[];
}

/** Per-instance codes that mean "already as wanted" for a detach. */
export const DETACH_DONE = new Set(["PublicKeyNotAttachWithInstance", "InvalidInstanceId.NotFound"]);

export async function executePlan(client: EnsClient, key: BindingKey, plan: Plan, opts: ExecuteOptions): Promise<ExecutionResult> {
  const result: ExecutionResult = { succeeded: new Set(), failures: [], leftStopped: [] };
  const total = plan.waves.reduce((n, w) => n + w.batches.length, 0);
  let done = 0;
  let abort: EnsError | undefined;
  for (const [i, wave] of plan.waves.entries()) {
    if (!abort && opts.stillWanted && !(await opts.stillWanted())) abort = new EnsError("Interrupted", "the Pulumi engine is gone", "StopInstances");
    if (abort) {
      // An earlier wave failed as a whole, or nobody waits any more: leave the rest untouched, say so per instance.
      const why = `not attempted after an earlier failure: ${abort.message}`;
      for (const b of wave.batches) record(result, b, b.instanceIds.map((id) => ({ instanceId: id, code: "NotAttempted", message: why })));
      continue;
    }
    let batches = wave.batches;
    let mayBeStopped: string[] = [];
    try {
      if (wave.stop.length) {
        opts.log(`wave ${i + 1}/${plan.waves.length}: stopping ${wave.stop.length} instance(s)`);
        await markStopping(client, wave.stop, opts.resourceId, markLifetimeMs(opts.stopTimeoutMs));
        // From here on any of them may be stopped, even if the StopInstances answer is lost.
        mayBeStopped = wave.stop;
        const refused = await changePower(client, wave.stop, "stop", opts.forceStop);
        const refusedIds = new Set(refused.map((f) => f.instanceId));
        const late = await waitForStatus(client, wave.stop.filter((id) => !refusedIds.has(id)), "Stopped", waitOpts(opts));
        const blocked = [...refused, ...late];
        result.failures.push(...blocked.map((f) => ({ ...f, action: "StopInstances" as const })));
        const skip = new Set(blocked.map((f) => f.instanceId));
        batches = batches.map((b) => ({ ...b, instanceIds: b.instanceIds.filter((id) => !skip.has(id)) })).filter((b) => b.instanceIds.length);
      }
      await Promise.all(
        batches.map(async (b) => {
          record(result, b, await runBatch(client, key, b));
          done++;
          if (total > 3 && (done % 10 === 0 || done === total)) opts.log(`${done}/${total} key pair call(s) done`);
        }),
      );
    } catch (e) {
      abort = e instanceof EnsError ? e : new EnsError("ClientError", String((e as Error)?.message ?? e), "StopInstances");
      const pending = batches.flatMap((b) => b.instanceIds).filter((id) => !result.succeeded.has(id) && !result.failures.some((f) => f.instanceId === id));
      result.failures.push(...pending.map((id) => ({ instanceId: id, action: "StopInstances" as const, code: abort!.code, message: abort!.message })));
    } finally {
      // Whatever happened above, start again exactly what this wave stopped.
      if (mayBeStopped.length) await restart(client, mayBeStopped, opts, result);
    }
  }
  return result;
}

/**
 * One Attach/Detach call, then the truth for every instance that did not plainly succeed: ENS is looked at, and an
 * instance that carries (or no longer carries) the key is done whatever the answer said. After a whole-call
 * failure that some instances of the batch had already reached (a detach racing a detach by hand), the call is
 * sent once more for the rest.
 */
async function runBatch(client: EnsClient, key: BindingKey, b: Batch): Promise<InstanceFailure[] | "ok"> {
  const reached = b.action === "AttachKeyPair" ? carries(key.name) : carriesNot(key.name);
  const once = async (ids: string[]): Promise<InstanceFailure[]> => {
    const res = b.action === "AttachKeyPair" ? await client.attachKeyPair(key.ref, ids) : await client.detachKeyPair(key.ref, ids);
    const byId = new Map(res.Results.map((r) => [r.InstanceId, r]));
    return ids
      .filter((id) => !byId.get(id)?.Success && !(b.action === "DetachKeyPair" && DETACH_DONE.has(byId.get(id)?.Code ?? "")))
      .map((id) => ({ instanceId: id, code: byId.get(id)?.Code ?? "MissingResult", message: byId.get(id)?.Message ?? "ENS returned no result for this instance" }));
  };
  const failWith = (e: unknown, ids: string[]) => {
    const err = asEnsError(e, b.action);
    return ids.map((id) => ({ instanceId: id, code: err.code, message: reasonOf(err) }));
  };
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

function record(result: ExecutionResult, b: Batch, outcome: InstanceFailure[] | "ok") {
  const failed = new Set(outcome === "ok" ? [] : outcome.map((f) => f.instanceId));
  for (const id of b.instanceIds) if (!failed.has(id)) result.succeeded.add(id);
  if (outcome !== "ok") result.failures.push(...outcome.map((f) => ({ ...f, action: b.action })));
}

/** Starts again what a wave may have stopped; whatever does not come back is reported, never dropped. */
async function restart(client: EnsClient, ids: string[], opts: ExecuteOptions, result: ExecutionResult) {
  let problems: InstanceFailure[];
  try {
    problems = await startAgain(client, ids, waitOpts(opts));
  } catch (e) {
    const err = e as EnsError;
    problems = ids.map((id) => ({ instanceId: id, code: err.code ?? "ClientError", message: err.message }));
  }
  result.leftStopped.push(...problems.map((f) => ({ ...f, action: "StartInstances" as const })));
}

function waitOpts(opts: ExecuteOptions) {
  return { timeoutMs: opts.stopTimeoutMs, pollIntervalMs: opts.pollIntervalMs, onProgress: opts.log };
}

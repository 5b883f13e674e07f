import { EnsClient, EnsError, KeyPairRef } from "./ens";
import { changePower, clearStopMarks, InstanceFailure, markStopping, waitForStatus } from "./instances";
import { Batch, BindingAction, Plan } from "./plan";

/** Carries a plan out wave by wave and reports, per instance, what really happened. */

export interface ExecuteOptions {
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

export async function executePlan(client: EnsClient, key: KeyPairRef, plan: Plan, opts: ExecuteOptions): Promise<ExecutionResult> {
  const result: ExecutionResult = { succeeded: new Set(), failures: [], leftStopped: [] };
  const total = plan.waves.reduce((n, w) => n + w.batches.length, 0);
  let done = 0;
  for (const [i, wave] of plan.waves.entries()) {
    let batches = wave.batches;
    let stoppedByUs: string[] = [];
    try {
      if (wave.stop.length) {
        opts.log(`wave ${i + 1}/${plan.waves.length}: stopping ${wave.stop.length} instance(s)`);
        await markStopping(client, wave.stop, key.keyPairId as string);
        const refused = await changePower(client, wave.stop, "stop", opts.forceStop);
        const refusedIds = new Set(refused.map((f) => f.instanceId));
        stoppedByUs = wave.stop.filter((id) => !refusedIds.has(id));
        const late = await waitForStatus(client, stoppedByUs, "Stopped", waitOpts(opts));
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
    } finally {
      // Whatever happened above, start again exactly what this wave stopped.
      if (stoppedByUs.length) await restart(client, stoppedByUs, opts, result);
    }
  }
  return result;
}

/** One Attach/Detach call; a whole-call failure (after retries) fails every instance in the batch. */
async function runBatch(client: EnsClient, key: KeyPairRef, b: Batch): Promise<InstanceFailure[] | "ok"> {
  try {
    const res = b.action === "AttachKeyPair" ? await client.attachKeyPair(key, b.instanceIds) : await client.detachKeyPair(key, b.instanceIds);
    const byId = new Map(res.Results.map((r) => [r.InstanceId, r]));
    const failures: InstanceFailure[] = [];
    for (const id of b.instanceIds) {
      const r = byId.get(id);
      if (r?.Success) continue;
      if (b.action === "DetachKeyPair" && r && DETACH_DONE.has(r.Code)) continue;
      failures.push({ instanceId: id, code: r?.Code ?? "MissingResult", message: r?.Message ?? "ENS returned no result for this instance" });
    }
    return failures.length ? failures : "ok";
  } catch (e) {
    const err = e instanceof EnsError ? e : new EnsError("ClientError", String(e), b.action);
    // ENS may report "not attached" for the whole call instead of per instance; for a detach that is done.
    if (b.action === "DetachKeyPair" && DETACH_DONE.has(err.code)) return "ok";
    const message = err.message.replace(/^[A-Za-z]+: [^:]+: /, "") + (err.requestId ? ` (request ${err.requestId})` : "");
    return b.instanceIds.map((id) => ({ instanceId: id, code: err.code, message }));
  }
}

function record(result: ExecutionResult, b: Batch, outcome: InstanceFailure[] | "ok") {
  const failed = new Set(outcome === "ok" ? [] : outcome.map((f) => f.instanceId));
  for (const id of b.instanceIds) if (!failed.has(id)) result.succeeded.add(id);
  if (outcome !== "ok") result.failures.push(...outcome.map((f) => ({ ...f, action: b.action })));
}

async function restart(client: EnsClient, ids: string[], opts: ExecuteOptions, result: ExecutionResult) {
  opts.log(`starting ${ids.length} instance(s) stopped by this operation`);
  let problems: InstanceFailure[];
  try {
    // An instance refused here may still be Stopping: wait for Stopped, then try it once more.
    const refused = await changePower(client, ids, "start");
    if (refused.length) {
      const again = refused.map((f) => f.instanceId);
      await waitForStatus(client, again, "Stopped", waitOpts(opts));
      await changePower(client, again, "start");
    }
    problems = await waitForStatus(client, ids, "Running", waitOpts(opts));
    const stuck = new Set(problems.map((p) => p.instanceId));
    await clearStopMarks(client, ids.filter((id) => !stuck.has(id)));
  } catch (e) {
    const err = e as EnsError;
    problems = ids.map((id) => ({ instanceId: id, code: err.code ?? "ClientError", message: err.message }));
  }
  result.leftStopped.push(...problems.map((f) => ({ ...f, action: "StartInstances" as const })));
}

function waitOpts(opts: ExecuteOptions) {
  return { timeoutMs: opts.stopTimeoutMs, pollIntervalMs: opts.pollIntervalMs, onProgress: opts.log };
}

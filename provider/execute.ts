import { failAll, record, runBatch } from "./bind";
import { EnsClient, KeyPairRef } from "./ens";
import { InstanceFailure } from "./instances";
import { asEnsError } from "./observe";
import { Plan, BindingAction } from "./plan";
import { RunLease } from "./protocol";
import { roll } from "./roll";

/** The key pair the calls name (by ID, or by name when ENS no longer knows the ID) and the name instances show. */
export interface BindingKey {
  ref: KeyPairRef;
  name: string;
}

/**
 * Carries a plan out and reports, per instance, what really happened: the batches that need no stop are sent at once,
 * while the Running instances go through the rolling window (roll.ts).
 */

export interface ExecuteOptions {
  /** This run and its resource, for leases and claims (protocol/). */
  lease: RunLease;
  /** The owner the plan saw on an instance (another's, taken over or stale), undefined for none or this resource. */
  expectedOwner: (instanceId: string) => string | undefined;
  /** How long a claim stands before its binding shows (protocol rule 2). */
  claimFreshMs: number;
  /** Asked before new work starts: false once nobody waits for the result (the engine died), so nothing new is stopped. */
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
  /** Instances this run stopped (or may have) and saw Running again. */
  restarted: number;
  /** Instances another run claimed while this one was under way: left to it. */
  lost: { instanceId: string; owner: string }[];
  /** The owner claims this run wrote: instance → the tag it read just before (none: undefined) and the one it wrote. */
  claims: Map<string, WrittenClaim>;
}

export interface WrittenClaim {
  before?: string;
  written: string;
}

export async function executePlan(client: EnsClient, key: BindingKey, plan: Plan, opts: ExecuteOptions): Promise<ExecutionResult> {
  const result: ExecutionResult = { succeeded: new Set(), failures: [], leftStopped: [], restarted: 0, lost: [], claims: new Map() };
  const anything = plan.batches.length > 0 || plan.rolling.instances.length > 0;
  if (anything && opts.stillWanted && !(await opts.stillWanted())) {
    // Nobody waits for the result: change nothing, say so per instance.
    const why = "not attempted after an earlier failure: the Pulumi engine is gone";
    for (const b of plan.batches) record(result, b, b.instanceIds.map((id) => ({ instanceId: id, code: "NotAttempted", message: why })));
    result.failures.push(...plan.rolling.instances.map((i) => ({ instanceId: i.instanceId, action: i.action, code: "NotAttempted", message: why })));
    return result;
  }
  const total = plan.batches.length;
  let done = 0;
  await Promise.all([
    ...plan.batches.map(async (b) => {
      // runBatch reports per instance; anything it throws still becomes a per-instance failure, never an early return.
      const outcome = await runBatch(client, key, b).catch((e) => failAll(b.instanceIds, asEnsError(e, b.action)));
      record(result, b, outcome);
      done++;
      if (total > 3 && (done % 10 === 0 || done === total)) opts.log(`${done}/${total} key pair call(s) done`);
    }),
    roll(client, key, plan.rolling, opts, result),
  ]);
  return result;
}

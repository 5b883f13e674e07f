import { EnsClient, EnsError, Instance } from "./ens";

/**
 * The one place that turns uncertain outcomes into truth. A per-instance failure, a whole-call error, a lost answer or
 * an "incorrect status" on a retry is a hint; what DescribeInstances shows afterwards is the evidence the state
 * records. Codes differ in shape (a number in the SDK models, a name on some answers), the instance does not.
 */

export interface InstanceFailure {
  instanceId: string;
  code: string;
  message: string;
}

/** The code every outcome of an instance ENS no longer knows carries (ENS's own name for it). */
export const GONE_CODE = "InvalidInstanceId.NotFound";
/** An instance ENS no longer knows, as a failure. */
export const goneFailure = (instanceId: string): InstanceFailure => ({ instanceId, code: GONE_CODE, message: "the instance no longer exists" });

/** Did the instance reach what the operation wanted? `undefined` = ENS does not know the instance. */
export type Reached = (instance: Instance | undefined) => boolean;

export const carries = (keyPairName: string): Reached => (i) => i !== undefined && i.KeyPairName === keyPairName;
export const carriesNot = (keyPairName: string): Reached => (i) => i === undefined || i.KeyPairName !== keyPairName;
/** Stopping counts as stopped and Starting as started: the request was taken, the rest is waiting. */
export const powered = (to: "stop" | "start"): Reached => (i) => i !== undefined && (to === "stop" ? ["Stopping", "Stopped"] : ["Starting", "Running"]).includes(i.Status);

/**
 * Looks at the instances behind `failures` (DescribeInstances, 100 IDs a call) and keeps only the failures ENS
 * confirms: an instance that reached the wanted state is a success whatever the answer said. If ENS cannot be read,
 * the failures stand, saying the outcome is unknown.
 */
export async function confirmFailures(client: EnsClient, failures: InstanceFailure[], reached: Reached): Promise<InstanceFailure[]> {
  if (!failures.length) return [];
  let live: Map<string, Instance>;
  try {
    live = await client.describeInstancesById(failures.map((f) => f.instanceId));
  } catch (e) {
    const why = e instanceof EnsError ? e.message : String(e);
    return failures.map((f) => ({ ...f, message: `${f.message} (outcome unknown: ENS could not be read afterwards: ${why})` }));
  }
  return failures
    .filter((f) => !reached(live.get(f.instanceId)))
    .map((f) => (live.has(f.instanceId) ? f : { ...f, message: `${f.message} (the instance no longer exists in ENS)` }));
}

/** Splits `ids` by what ENS shows now: those already as wanted, those not, those ENS does not know. */
export async function look(client: EnsClient, ids: string[], reached: Reached): Promise<{ done: string[]; pending: string[]; gone: string[] }> {
  const live = await client.describeInstancesById(ids);
  const out = { done: [] as string[], pending: [] as string[], gone: [] as string[] };
  for (const id of ids) {
    const i = live.get(id);
    if (reached(i)) out.done.push(id);
    else if (!i) out.gone.push(id);
    else out.pending.push(id);
  }
  return out;
}

/** A thrown value as an EnsError, for per-instance reporting. */
export function asEnsError(e: unknown, action: string): EnsError {
  return e instanceof EnsError ? e : new EnsError("ClientError", String((e as Error)?.message ?? e), action);
}

/** An EnsError's message without the `Action: Code: ` prefix, plus the request ID when ENS gave one. */
export function reasonOf(err: EnsError): string {
  return err.message.replace(/^[A-Za-z]+: [^:]+: /, "") + (err.requestId ? ` (request ${err.requestId})` : "");
}

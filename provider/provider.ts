import { randomBytes } from "node:crypto";
import { EnsClient, KeyPair, KeyPairRef } from "./ens";
import { engineAlive, tracked } from "./engine";
import { executePlan, ExecutionResult } from "./execute";
import { LiveInstance, Plan, planBinding } from "./plan";
import { findMarked, recoverInterrupted } from "./instances";
import { ConfigSource, getClient, readSettings, useStackConfig } from "./settings";
import { AttachmentInputs, checkInputs, DEFAULTS, isUnknown } from "./validate";

/**
 * The KeyPairAttachment resource provider: check, diff, create, read, update, delete (the methods
 * `pulumi.dynamic.ResourceProvider` has). Loaded by package name at run time by the tiny serialized shim.
 */

export interface AttachmentOutputs extends AttachmentInputs {
  keyPairId: string;
  keyPairName: string;
  /** What ENS really has bound now (after partial failures or drift this differs from instanceIds). */
  attachedInstanceIds: string[];
}

type Props = Record<string, any>;
const PROVIDER_KEY = "__provider";

/** Lines a user can follow while long operations run; the plugin's output is shown as diagnostics. */
let log = (line: string) => console.log(`[ens:KeyPairAttachment] ${line}`);
let warn = (line: string) => console.error(`warning: [ens:KeyPairAttachment] ${line}`);
export function setLogger(l: { info: (s: string) => void; warn: (s: string) => void }): void {
  log = l.info;
  warn = l.warn;
}

export async function configure(req: { config: ConfigSource }): Promise<void> {
  useStackConfig(req.config);
}

export async function check(olds: Props, news: Props) {
  const { inputs, failures, warnings } = checkInputs(news);
  for (const w of warnings) warn(w);
  if (!failures.length) {
    try {
      failures.push(...(await checkLive(olds, inputs)));
    } catch (e) {
      // Settings and credential problems: one clear line in preview rather than a stack trace.
      failures.push({ property: "", reason: (e as Error).message });
    }
  }
  return { inputs, failures };
}

/**
 * Live checks, so that `pulumi preview` already names an unknown key pair or instance. Only what changed is looked
 * up (a new key reference, instances not in the previous inputs): an unchanged stack costs no call.
 */
async function checkLive(olds: Props, inputs: Props): Promise<{ property: string; reason: string }[]> {
  const keyField = inputs.keyPairId !== undefined ? "keyPairId" : "keyPairName";
  const keyValue = inputs[keyField];
  const newIds: string[] = Array.isArray(inputs.instanceIds) ? inputs.instanceIds.filter((id: unknown) => !isUnknown(id) && !(olds.instanceIds ?? []).includes(id)) : [];
  const keyChanged = !isUnknown(keyValue) && keyValue !== olds[keyField];
  if (!keyChanged && !newIds.length) return [];
  const client = getClient();
  const failures: { property: string; reason: string }[] = [];
  if (keyChanged && !(await client.findKeyPair(keyField === "keyPairId" ? { keyPairId: keyValue } : { keyPairName: keyValue }))) {
    failures.push({ property: keyField, reason: `ENS has no key pair ${JSON.stringify(keyValue)} at ${client.endpoint}: create or import it first, or fix ${keyField}` });
  }
  if (newIds.length) {
    const live = await client.describeInstancesById(newIds);
    const missing = newIds.filter((id) => !live.has(id));
    if (missing.length) failures.push({ property: "instanceIds", reason: `ENS has no instance ${list(missing)} at ${client.endpoint}: remove it from instanceIds or check the account and region` });
  }
  return failures;
}

export async function diff(id: string, olds: Props, news: Props) {
  const replaces: string[] = [];
  if (news.keyPairId !== undefined && (isUnknown(news.keyPairId) || news.keyPairId !== olds.keyPairId)) replaces.push("keyPairId");
  if (news.keyPairName !== undefined && (isUnknown(news.keyPairName) || news.keyPairName !== olds.keyPairName)) replaces.push("keyPairName");
  const setDiffers = (a: unknown, b: unknown) => !Array.isArray(a) || !Array.isArray(b) || a.some(isUnknown) || !sameSet(a, b);
  const changes =
    replaces.length > 0 ||
    setDiffers(news.instanceIds, olds.instanceIds) ||
    // Partial failures or drift: state says fewer (or more) are bound than wanted, so an update converges.
    setDiffers(news.instanceIds, olds.attachedInstanceIds) ||
    ["stopInstances", "maxStoppedInstances", "forceStop", "stopTimeoutSeconds"].some((k) => news[k] !== olds[k]) ||
    (await leftStopped(id, olds, news));
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * An interrupted run may have left instances stopped: then an update must finish the job. Asked whatever the inputs
 * say (one ListTagResources call), since a user may revert a stop-first change after the crash.
 */
async function leftStopped(id: string, olds: Props, news: Props): Promise<boolean> {
  const scope = union(olds.attachedInstanceIds ?? [], Array.isArray(news.instanceIds) ? news.instanceIds.filter((i: unknown) => !isUnknown(i)) : []);
  const marked = await findMarked(getClient(), id, scope);
  if (marked.length) warn(`${marked.length} instance(s) were left stopped by an interrupted run: this update starts them again`);
  return marked.length > 0;
}

export function create(inputs: Props) {
  return tracked(() => createAttachment(inputs));
}

export function update(id: string, olds: Props, news: Props) {
  return tracked(() => updateAttachment(id, olds, news));
}

export function deleteResource(id: string, props: Props): Promise<void> {
  return tracked(() => deleteAttachment(id, props));
}

async function createAttachment(inputs: Props) {
  const { client, key } = await prepare(inputs);
  const id = `${key.KeyPairId}:att-${randomBytes(4).toString("hex")}`;
  const attached = await converge(client, key, inputs as AttachmentInputs, [], id, inputs[PROVIDER_KEY]);
  return { id, outs: outputs(inputs as AttachmentInputs, key, attached) };
}

async function updateAttachment(id: string, olds: Props, news: Props) {
  const { client, key } = await prepare(news);
  const attached = await converge(client, key, news as AttachmentInputs, olds.attachedInstanceIds ?? [], id, news[PROVIDER_KEY]);
  return { outs: outputs(news as AttachmentInputs, key, attached) };
}

async function deleteAttachment(id: string, props: Props): Promise<void> {
  const client = getClient();
  const key = await client.findKeyPair({ keyPairId: props.keyPairId });
  if (!key) {
    log(`key pair ${props.keyPairId} no longer exists in ENS: nothing is bound to it`);
    return;
  }
  const touched = union(props.attachedInstanceIds ?? [], props.instanceIds ?? []);
  const plan = await observeAndPlan(client, key, { ...(props as AttachmentInputs), instanceIds: [] }, touched, id);
  const result = await run(client, key, plan, props as AttachmentInputs, id);
  if (result.failures.length || result.leftStopped.length) {
    throw new Error(`could not detach key pair ${key.KeyPairName} from ${result.failures.length + result.leftStopped.length} instance(s); the resource stays in the stack, run pulumi destroy again:\n${reasons(result).join("\n")}`);
  }
}

export async function read(id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
  const client = getClient();
  const imported = parseImportId(id);
  const keyPairId = imported?.keyPairId ?? props.keyPairId ?? id.split(":")[0];
  const key = await client.findKeyPair({ keyPairId });
  if (!key) return { id: "", props: {} }; // The key pair is gone, and every binding with it.
  const wanted: string[] = imported?.instanceIds ?? props.instanceIds ?? [];
  const live = await client.describeInstancesById(union(wanted, props.attachedInstanceIds ?? []));
  const attachedInstanceIds = [...live.values()].filter((i) => i.KeyPairName === key.KeyPairName).map((i) => i.InstanceId).sort();
  if (!imported) {
    // Refresh: only outputs change; the inputs the program gave stay as they are.
    return { id, props: { ...props, keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds } };
  }
  const inputs = { keyPairId: key.KeyPairId, instanceIds: wanted, ...DEFAULTS };
  return { id: `${key.KeyPairId}:att-${randomBytes(4).toString("hex")}`, props: outputs(inputs, key, attachedInstanceIds), inputs };
}

/** Import IDs name the key pair and the instances: `<keyPairId>:<instanceId>[,<instanceId>...]`. */
export function parseImportId(id: string): { keyPairId: string; instanceIds: string[] } | undefined {
  const m = /^(ssh-[A-Za-z0-9]+):(i-.+)$/.exec(id);
  return m ? { keyPairId: m[1], instanceIds: m[2].split(",").filter(Boolean) } : undefined;
}

async function prepare(inputs: Props): Promise<{ client: EnsClient; key: KeyPair }> {
  // The engine always checks first; callers of the provider API may not.
  const invalid = checkInputs(inputs).failures;
  if (invalid.length) throw new Error(invalid.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  const client = getClient();
  const ref: KeyPairRef = inputs.keyPairId ? { keyPairId: inputs.keyPairId } : { keyPairName: inputs.keyPairName };
  const key = await client.findKeyPair(ref);
  if (!key) {
    const field = ref.keyPairId ? "keyPairId" : "keyPairName";
    throw new Error(`${field}: ENS has no key pair ${JSON.stringify(ref.keyPairId ?? ref.keyPairName)} (DescribeKeyPairs found none at ${client.endpoint}); create or import it first, or fix ${field}. Nothing was changed.`);
  }
  return { client, key };
}

/** Plans against live facts, refuses bad plans before any change, executes, and returns the set now bound. */
async function converge(client: EnsClient, key: KeyPair, inputs: AttachmentInputs, attachedBefore: string[], id: string, provider: unknown): Promise<string[]> {
  const plan = await observeAndPlan(client, key, inputs, attachedBefore, id);
  const result = await run(client, key, plan, inputs, id);
  // Start from what ENS had bound when we looked (adopted + about to be detached), then apply what succeeded.
  const detaching = new Set(plan.waves.flatMap((w) => w.batches.filter((b) => b.action === "DetachKeyPair").flatMap((b) => b.instanceIds)));
  const stillAttached = new Set([...plan.alreadyAttached, ...detaching]);
  for (const ok of result.succeeded) (detaching.has(ok) ? stillAttached.delete(ok) : stillAttached.add(ok));
  const attached = [...stillAttached].sort();
  if (result.failures.length || result.leftStopped.length) {
    const props = { ...outputs(inputs, key, attached), [PROVIDER_KEY]: provider };
    const lines = reasons(result);
    // The partial-state error the Node dynamic provider host understands: state records `properties`.
    throw Object.assign(new Error(`${lines.length} instance operation(s) failed:\n${lines.join("\n")}`), { id, properties: props, reasons: lines });
  }
  return attached;
}

/**
 * Reads the live facts and plans. First, instances an interrupted earlier run left stopped (crash marks) are started
 * again (one ListTagResources call).
 */
async function observeAndPlan(client: EnsClient, key: KeyPair, inputs: AttachmentInputs, attachedBefore: string[], id: string): Promise<Plan> {
  const ids = union(inputs.instanceIds, attachedBefore);
  const waits = { timeoutMs: (inputs.stopTimeoutSeconds ?? 300) * 1000, pollIntervalMs: readSettings().pollIntervalMs, onProgress: log };
  const unrecovered = await recoverInterrupted(client, id, ids, waits);
  for (const f of unrecovered) warn(`${f.instanceId} was stopped by an interrupted run and could not be started again: ${f.code}: ${f.message}`);
  const described = await settle(client, ids, waits);
  const live = new Map<string, LiveInstance>([...described].map(([id, i]) => [id, { status: i.Status, keyPairName: i.KeyPairName || undefined }]));
  const plan = planBinding({
    desired: inputs.instanceIds,
    attached: attachedBefore,
    live,
    keyPairName: key.KeyPairName,
    stopInstances: inputs.stopInstances,
    maxStoppedInstances: inputs.maxStoppedInstances,
  });
  const problems: string[] = [];
  if (plan.missing.length) problems.push(`instanceIds: ENS has no instance ${list(plan.missing)}; remove it from instanceIds or check the region and account`);
  if (plan.blockedRunning.length) problems.push(`${plan.blockedRunning.length} instance(s) are Running and ENS binds key pairs only to stopped instances: ${list(plan.blockedRunning)}. Stop them, or set stopInstances: true to let the provider stop them (at most maxStoppedInstances at once) and start them again`);
  if (plan.unready.length) problems.push(`instance(s) neither Running nor Stopped: ${plan.unready.map((u) => `${u.instanceId} (${u.status})`).join(", ")}; wait until they settle and run again`);
  if (problems.length) throw new Error(`${problems.join("\n")}\nNothing was changed.`);
  for (const r of plan.replacesKey) warn(`${r.instanceId} carries key pair ${r.keyPairName}; attaching ${key.KeyPairName} replaces it (an ENS instance holds one key pair)`);
  if (plan.alreadyAttached.length) log(`${plan.alreadyAttached.length} instance(s) already carry ${key.KeyPairName}: adopted without a call`);
  return plan;
}

/** Waits (bounded) for instances in Stopping or Starting to settle, so that plans see Running or Stopped. */
async function settle(client: EnsClient, ids: string[], waits: { timeoutMs: number; pollIntervalMs: number; onProgress: (l: string) => void }) {
  const deadline = Date.now() + waits.timeoutMs;
  for (;;) {
    const live = await client.describeInstancesById(ids);
    const moving = [...live.values()].filter((i) => i.Status === "Stopping" || i.Status === "Starting");
    if (!moving.length || Date.now() > deadline) return live;
    waits.onProgress(`waiting for ${moving.length} instance(s) in Stopping/Starting to settle`);
    await new Promise((r) => setTimeout(r, waits.pollIntervalMs));
  }
}

function run(client: EnsClient, key: KeyPair, plan: Plan, inputs: AttachmentInputs, resourceId: string): Promise<ExecutionResult> {
  return executePlan(client, { keyPairId: key.KeyPairId }, plan, {
    resourceId,
    stillWanted: () => engineAlive(),
    forceStop: inputs.forceStop ?? false,
    stopTimeoutMs: (inputs.stopTimeoutSeconds ?? 300) * 1000,
    pollIntervalMs: readSettings().pollIntervalMs,
    log,
  });
}

function reasons(result: ExecutionResult): string[] {
  return [
    ...result.failures.map((f) => `${f.instanceId}: ${f.action} failed: ${f.code}: ${f.message}`),
    ...result.leftStopped.map((f) => `${f.instanceId}: stopped by this operation but not Running again (${f.code}: ${f.message}); start it with StartInstances or the ENS console`),
  ];
}

function outputs(inputs: AttachmentInputs, key: KeyPair, attachedInstanceIds: string[]): AttachmentOutputs {
  return stripUndefined({ ...pickInputs(inputs), keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds }) as AttachmentOutputs;
}

function pickInputs(p: Props): AttachmentInputs {
  const { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds } = p;
  return { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function sameSet(a: unknown[], b: unknown[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

function list(ids: string[]): string {
  return ids.length <= 20 ? ids.join(", ") : `${ids.slice(0, 20).join(", ")} and ${ids.length - 20} more`;
}

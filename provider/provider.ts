import { randomBytes } from "node:crypto";
import { EnsClient, KeyPair, KeyPairRef } from "./ens";
import { tracked } from "./engine";
import { converge, list, Operation, union } from "./converge";
import { BindingKey } from "./execute";
import { describeMarks, findMarked } from "./instances";
import { readOwners } from "./ownership";
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
    // A create has no owner tag of its own yet: any owner on a bound instance is another resource.
    const creating = !Array.isArray(olds.instanceIds);
    const bound = creating ? newIds.filter((id) => live.get(id)?.KeyPairName) : [];
    const owned = bound.length ? [...(await readOwners(client, bound))] : [];
    if (owned.length && inputs.takeOwnership !== true) {
      failures.push({ property: "instanceIds", reason: `${owned.length} instance(s) are bound and owned by another resource: ${owned.slice(0, 5).map(([i, o]) => `${i} (owner ${o})`).join(", ")}${owned.length > 5 ? ", ..." : ""}; ENS holds one key pair per instance: remove them, or set takeOwnership: true to take them over` });
    } else if (owned.length) {
      warn(`takeOwnership: this create takes over ${owned.length} instance(s) owned by another resource: ${owned.slice(0, 5).map(([i, o]) => `${i} from ${o}`).join(", ")}`);
    }
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
    (await leftStopped(id, olds, news)) ||
    (await drifted(olds, news));
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * An interrupted run may have left instances stopped: then an update must finish the job. Asked whatever the inputs
 * say (one ListTagResources call), since a user may revert a stop-first change after the crash.
 */
async function leftStopped(id: string, olds: Props, news: Props): Promise<boolean> {
  const scope = union(olds.attachedInstanceIds ?? [], Array.isArray(news.instanceIds) ? news.instanceIds.filter((i: unknown) => !isUnknown(i)) : []);
  const marks = await findMarked(getClient(), id, scope);
  for (const line of describeMarks({ ...marks, orphaned: [] })) warn(line);
  const restart = marks.ours.length + marks.orphaned.length;
  if (restart) warn(`${restart} instance(s) were left stopped by an interrupted run: this update starts them again`);
  return restart > 0;
}

/**
 * Drift, seen as Terraform's plan sees it (refresh first): ENS is read for the resource's instances (DescribeInstances,
 * 100 a call) and compared with the state. A binding removed by hand, or a delete that failed half-way and was then
 * undone in the program, makes an update even when the inputs are unchanged. Off with ens:driftCheck false.
 */
async function drifted(olds: Props, news: Props): Promise<boolean> {
  if (!readSettings().driftCheck || !Array.isArray(news.instanceIds) || news.instanceIds.some(isUnknown) || !olds.keyPairName) return false;
  const wanted: string[] = news.instanceIds;
  const claimed: string[] = olds.attachedInstanceIds ?? [];
  const live = await getClient().describeInstancesById(union(wanted, claimed));
  const bound = (i: string) => live.get(i)?.KeyPairName === olds.keyPairName;
  const unbound = wanted.filter((i) => !bound(i));
  const lost = claimed.filter((i) => !bound(i) && !unbound.includes(i));
  if (!unbound.length && !lost.length) return false;
  const parts = [
    unbound.length ? `${unbound.length} wanted instance(s) do not carry ${olds.keyPairName} in ENS (${list(unbound, 5)})` : "",
    lost.length ? `${lost.length} instance(s) the state lists as bound no longer carry it (${list(lost, 5)})` : "",
  ].filter(Boolean);
  warn(`drift: ${parts.join("; ")}: this update makes ENS match the program`);
  return true;
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
  const attached = await convergeOrThrow(client, key, inputs as AttachmentInputs, [], id, inputs[PROVIDER_KEY], "create");
  return { id, outs: outputs(inputs as AttachmentInputs, key, attached) };
}

async function updateAttachment(id: string, olds: Props, news: Props) {
  const { client, key } = await prepare(news);
  const attached = await convergeOrThrow(client, key, news as AttachmentInputs, olds.attachedInstanceIds ?? [], id, news[PROVIDER_KEY], "update");
  return { outs: outputs(news as AttachmentInputs, key, attached) };
}

/**
 * Detaches everything this resource binds. A key pair that ENS no longer lists proves nothing by itself (ENS lets
 * an attached key pair be deleted, and instances keep its name): the instances decide.
 */
async function deleteAttachment(id: string, props: Props): Promise<void> {
  const client = getClient();
  const touched = union(props.attachedInstanceIds ?? [], props.instanceIds ?? []);
  const found = await client.findKeyPair({ keyPairId: props.keyPairId });
  let key: BindingKey;
  if (found) key = { ref: { keyPairId: found.KeyPairId }, name: found.KeyPairName };
  else {
    const carrying = await dangling(client, props, touched);
    if (!carrying.length) {
      log(`key pair ${props.keyPairId} no longer exists in ENS and none of the ${touched.length} instance(s) carries its name: nothing is bound`);
      return;
    }
    warn(`key pair ${props.keyPairId} was deleted in ENS while bound: ${carrying.length} instance(s) still carry its name ${props.keyPairName}; detaching by name`);
    key = { ref: { keyPairName: props.keyPairName }, name: props.keyPairName };
  }
  const { reasons } = await converge(client, key, { ...(props as AttachmentInputs), instanceIds: [] }, touched, id, "delete", { log, warn });
  if (reasons.length) {
    throw new Error(`could not detach key pair ${key.name} from ${reasons.length} instance(s); the resource stays in the stack, run pulumi destroy again:\n${reasons.join("\n")}`);
  }
}

export async function read(id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
  const client = getClient();
  const imported = parseImportId(id);
  const keyPairId = imported?.keyPairId ?? props.keyPairId ?? id.split(":")[0];
  const wanted: string[] = imported?.instanceIds ?? props.instanceIds ?? [];
  const touched = union(wanted, props.attachedInstanceIds ?? []);
  const key = await client.findKeyPair({ keyPairId });
  if (!key) {
    const carrying = await dangling(client, { ...props, keyPairId }, touched);
    // The key pair is gone and no instance carries its name: the binding is gone too.
    if (!carrying.length) return { id: "", props: {} };
    warn(`key pair ${keyPairId} was deleted in ENS while bound: ${carrying.length} instance(s) still carry its name ${props.keyPairName}`);
    return { id, props: { ...props, attachedInstanceIds: carrying.sort() } };
  }
  const live = await client.describeInstancesById(touched);
  const attachedInstanceIds = [...live.values()].filter((i) => i.KeyPairName === key.KeyPairName).map((i) => i.InstanceId).sort();
  if (!imported) {
    // Refresh: only outputs change; the inputs the program gave stay as they are.
    return { id, props: { ...props, keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds } };
  }
  const inputs = { keyPairId: key.KeyPairId, instanceIds: wanted, ...DEFAULTS };
  return { id: `${key.KeyPairId}:att-${randomBytes(4).toString("hex")}`, props: outputs(inputs, key, attachedInstanceIds), inputs };
}

/**
 * With the key pair missing, the instances still carrying its name. If ENS knows neither the key pair nor any of the
 * instances, this is almost certainly the wrong endpoint, account or region: fail rather than drop the bindings.
 */
async function dangling(client: EnsClient, props: Props, touched: string[]): Promise<string[]> {
  const live = await client.describeInstancesById(touched);
  if (touched.length && !live.size) {
    throw new Error(
      `ENS at ${client.endpoint} knows neither key pair ${props.keyPairId} nor any of the ${touched.length} instance(s) this resource binds (${list(touched, 5)}). ` +
        `Is it the right endpoint (ens:endpoint / ENS_ENDPOINT), account (access key) and region? Nothing was changed and the state keeps the resource. ` +
        `If the bindings really are gone, drop the resource from the state on purpose: pulumi state delete <URN> (pulumi stack --show-urns lists them).`,
    );
  }
  return [...live.values()].filter((i) => props.keyPairName && i.KeyPairName === props.keyPairName).map((i) => i.InstanceId);
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

/** Converges; per-instance failures become the partial-state error the Node dynamic provider host understands. */
async function convergeOrThrow(client: EnsClient, key: KeyPair, inputs: AttachmentInputs, attachedBefore: string[], id: string, provider: unknown, op: Operation): Promise<string[]> {
  const { attached, reasons } = await converge(client, { ref: { keyPairId: key.KeyPairId }, name: key.KeyPairName }, inputs, attachedBefore, id, op, { log, warn });
  if (reasons.length) {
    const props = { ...outputs(inputs, key, attached), [PROVIDER_KEY]: provider };
    // The state records `properties`: what is really bound.
    throw Object.assign(new Error(`${reasons.length} instance operation(s) failed:\n${reasons.join("\n")}`), { id, properties: props, reasons });
  }
  return attached;
}

function outputs(inputs: AttachmentInputs, key: KeyPair, attachedInstanceIds: string[]): AttachmentOutputs {
  return stripUndefined({ ...pickInputs(inputs), keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds }) as AttachmentOutputs;
}

function pickInputs(p: Props): AttachmentInputs {
  const { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds, takeOwnership } = p as AttachmentInputs;
  return { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds, ...(takeOwnership !== undefined ? { takeOwnership } : {}) };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function sameSet(a: unknown[], b: unknown[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

import { randomBytes } from "node:crypto";
import { countingCalls, EnsClient, Instance, KeyPair, KeyPairRef } from "./ens";
import { tracked } from "./engine";
import { Before, converge, leftoversToUnbind, Operation, Outcome, Refusal, union } from "./converge";
import { BindingKey } from "./execute";
import { findOwnClaims, identityOf, isMine, keyNames, OWNER_TAG, readTags, sortOwners, untagIf } from "./protocol";
import { list, Reporter, reporterFor } from "./report";
import { ConfigSource, endpointOf, getClient, useStackConfig, withAccount } from "./settings";
import { AccountInput, accountUnknown, checkAccount } from "./account";
import { AttachmentInputs, checkInputs, DEFAULTS } from "./validate";

/**
 * The KeyPairAttachment resource provider: check, diff, create, read, update, delete (the methods
 * `pulumi.dynamic.ResourceProvider` has). Loaded by package name at run time by the tiny serialized shim.
 */

export interface AttachmentOutputs extends AttachmentInputs {
  keyPairId: string;
  keyPairName: string;
  /** What ENS really has bound now (after partial failures or drift this differs from instanceIds). */
  attachedInstanceIds: string[];
  /** Instances asked for that another resource took over (takeOwnership, or a concurrent run won): left to it. */
  yieldedInstanceIds: string[];
}

type Props = Record<string, any>;
const PROVIDER_KEY = "__provider";

export { setLogger } from "./report";
import { check as checkResource } from "./check";
import { noteChecked, sayTagsOff } from "./check";
import { diff as diffResource } from "./diff";

export async function configure(req: { config: ConfigSource }): Promise<void> {
  useStackConfig(req.config);
}

// Every operation runs in its resource's account (the `account` input, else the stack's): there, getClient() is that
// account's client and budget. Delete and read take it from the state's outputs, where it is stored (as a secret).

export function create(inputs: Props) {
  return withAccount(inputs.account, () => operation(inputs, () => createAttachment(inputs)));
}

export function update(id: string, olds: Props, news: Props) {
  return withAccount(news.account, () => operation(news, () => updateAttachment(id, olds, news)));
}

export function deleteResource(id: string, props: Props): Promise<void> {
  return withAccount(props.account, () => operation(props, () => deleteAttachment(id, props)));
}

/**
 * check in the account the new inputs name. An account not known yet (preview) cannot be looked up: the inputs are
 * validated only. Failures under `account` name the field in the reason, not as the property (the engine would print
 * the property's value first, and this one holds credentials).
 */
export async function check(olds: Props, news: Props) {
  let result: { inputs: Props; failures: Array<{ property: string; reason: string }> };
  if (accountUnknown(news.account)) {
    noteChecked(news);
    const { inputs, failures, warnings } = checkInputs(news);
    for (const w of warnings) reporterFor(news).warn(w);
    result = { inputs, failures: failures.map((f) => (f.property === "instanceIds" ? { property: "", reason: `instanceIds: ${f.reason}` } : f)) };
  } else {
    const invalid: string[] = [];
    const account = checkAccount(news.account, (p) => invalid.push(p), () => undefined);
    // Another endpoint is a replacement, so a create there: the key pair and every instance are looked up in it.
    const movedAway = !invalid.length && Object.keys(olds).length > 0 && endpointOf(olds.account) !== endpointOf(account);
    result = await withAccount(invalid.length ? undefined : account, () => checkResource(movedAway ? {} : olds, news));
  }
  return { ...result, failures: result.failures.map((f) => (/^account(\.|$)/.test(f.property) ? { property: "", reason: f.reason.startsWith(f.property) ? f.reason : `${f.property}: ${f.reason}` } : f)) };
}

/**
 * diff in the resource's account. Another endpoint is another ENS and so another account's instances: the resource
 * is replaced (created there, then deleted here with the old account from the state). Any other change of `account`
 * (keys, profile, role, region) is an update that stores the new credentials, with no binding call of its own; the
 * reads of this diff use them already (an old key may be revoked).
 */
export async function diff(id: string, olds: Props, news: Props) {
  const before = olds.account;
  const after = news.account;
  const endpointUnknown = accountUnknown(after) && (typeof after !== "object" || accountUnknown({ endpoint: after.endpoint }));
  const moved = endpointUnknown || endpointOf(before) !== endpointOf(after);
  if (moved && !endpointUnknown && (await sameEns(id, olds, after))) {
    reporterFor(news).log(`account: endpoint ${endpointOf(before)} -> ${endpointOf(after)} reaches the same ENS (this resource's instances carry its owner tags there): an update that stores it, no replacement`);
  } else if (moved) {
    // Unbound here first, then bound there: were both URLs the same ENS after all (a spelling this diff could not
    // prove), a create first would adopt the bindings (same owner, same key) and the old delete would unbind them.
    if (!endpointUnknown) reporterFor(news).log(`account: endpoint ${endpointOf(before)} -> ${endpointOf(after)}: another ENS, so the resource is replaced (unbound here first, then bound there)`);
    return { changes: true, replaces: ["account"], deleteBeforeReplace: true };
  }
  const changed = canonical(before) !== canonical(after);
  let result: { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };
  try {
    result = await withAccount(accountUnknown(after) ? before : after, () => diffResource(id, olds, news));
  } catch (e) {
    // New credentials that do not work: the update (of this resource alone) fails with the error, rather than this
    // diff, which would stop the whole deployment, every other resource and account with it.
    if (!changed) throw e;
    const cause = (e as Error).message.split(/(?<=[.:]) (?=ENS at |set |check )/)[0];
    reporterFor(news).warn(`account changed, and ENS at ${endpointOf(after)} could not be read with the new settings (${cause}); the update tries them and says why if they fail`);
    return { changes: true, replaces: [], deleteBeforeReplace: false };
  }
  if (changed && !result.changes) reporterFor(news).log("account: new credentials (or region) for the same endpoint: this update stores them, with no binding call");
  return changed ? { ...result, changes: true } : result;
}

/**
 * Whether the new endpoint reaches the ENS the resource lives in (127.0.0.1 and localhost, http and https of one
 * host): the instances it binds, read there, carry its owner tags. Instance IDs are unique across ENS, so another ENS
 * cannot show them. Anything unreadable is no proof.
 */
async function sameEns(id: string, olds: Props, account: unknown): Promise<boolean> {
  const bound: string[] = (olds.attachedInstanceIds ?? []).slice(0, 50);
  if (!bound.length) return false;
  try {
    const tags = await withAccount(account as AccountInput, () => readTags(getClient(), bound));
    const me = identityOf(olds, id, olds.keyPairId ?? "");
    return bound.every((i) => isMine(tags.get(i)?.owner, me));
  } catch {
    return false;
  }
}

/** An account as comparable text: keys sorted, empty fields left out. */
function canonical(account: unknown): string {
  const sort = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null && x !== "").sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sort(x)]))
      : v;
  const s = sort(account);
  return s && typeof s === "object" && Object.keys(s).length ? JSON.stringify(s) : "";
}

/** Runs an operation tracked (see engine.ts), counting its ENS calls for the closing line. */
function operation<T>(props: Props, op: () => Promise<T>): Promise<T> {
  sayTagsOff(props, reporterFor(props));
  const counter = { calls: 0, started: Date.now() };
  closing.set(props, counter);
  return tracked(() => countingCalls(counter, op));
}

/** Calls and start time of the operation running for a given props object. */
const closing = new WeakMap<Props, { calls: number; started: number }>();

/** One closing line per operation: what changed, the calls it took, the time. */
function sayDone(props: Props, out: Reporter, counts: Outcome["counts"], failed: number): void {
  const c = closing.get(props);
  const took = c ? ` in ${((Date.now() - c.started) / 1000).toFixed(1)} s with ${c.calls} ENS call(s)` : "";
  out.log(`done${took}: attached ${counts.attached}, detached ${counts.detached}, adopted ${counts.adopted}${counts.restarted ? `, stopped and started again ${counts.restarted}` : ""}${failed ? `; ${failed} instance operation(s) failed` : ""}`);
}

async function createAttachment(inputs: Props) {
  const { client, key } = await prepare(inputs);
  const id = `${key.KeyPairId}:att-${randomBytes(4).toString("hex")}`;
  const { attached, yielded } = await convergeOrThrow(client, key, inputs, { attached: [], yielded: [] }, id, "create");
  return { id, outs: outputs(inputs, key, attached, yielded) };
}

async function updateAttachment(id: string, olds: Props, news: Props) {
  const { client, key } = await prepare(news).catch((e) => dropLostBindings(e, id, olds, news));
  const before = { attached: olds.attachedInstanceIds ?? [], yielded: olds.yieldedInstanceIds ?? [] };
  const { attached, yielded } = await convergeOrThrow(client, key, news, before, id, "update");
  return { outs: outputs(news, key, attached, yielded) };
}

/**
 * Detaches everything this resource binds. A key pair that ENS no longer lists proves nothing by itself (ENS lets
 * an attached key pair be deleted, and instances keep its name): the instances decide.
 */
async function deleteAttachment(id: string, props: Props): Promise<void> {
  const { log, warn } = reporterFor(props);
  const client = getClient();
  const touched = union(props.attachedInstanceIds ?? [], props.instanceIds ?? []);
  const found = await client.findKeyPair({ keyPairId: props.keyPairId });
  let key: BindingKey;
  if (found) key = { ref: { keyPairId: found.KeyPairId }, name: found.KeyPairName };
  else {
    const carrying = await dangling(client, props, touched);
    if (!carrying.length) {
      log(`key pair ${props.keyPairId} no longer exists in ENS and none of the ${touched.length} instance(s) carries its name: nothing is bound`);
      // Its claims go with it (a fresh one would hold the instances against other resources for minutes).
      const me = identityOf(props, id, props.keyPairId);
      await untagIf(client, touched, OWNER_TAG, (_, t) => isMine(t.owner, me)).catch((e) => warn(`could not remove this resource's owner tags: ${(e as Error).message}`));
      return;
    }
    warn(`key pair ${props.keyPairId} was deleted in ENS while bound: ${carrying.length} instance(s) still carry its name ${props.keyPairName}; detaching by name`);
    key = { ref: { keyPairName: props.keyPairName }, name: props.keyPairName };
  }
  const me = identityOf(props, id, found?.KeyPairId ?? props.keyPairId);
  const { reasons, counts, attached } = await converge(client, key, { ...(props as AttachmentInputs), instanceIds: [] }, { attached: touched, yielded: [] }, me, "delete", { log, warn });
  sayDone(props, { log, warn }, counts, reasons.length);
  if (reasons.length) {
    // A failed delete cannot change the state: what it lists and ENS no longer binds is said, each instance named.
    const gone = (props.attachedInstanceIds ?? []).filter((i: string) => !attached.includes(i));
    const stale = gone.length ? `\n${gone.length} instance(s) the state lists no longer carry ${key.name}: ${gone.join(", ")} (unbound, or another resource's now); the state keeps them until a destroy goes through, and it leaves them alone` : "";
    // `reasons`: one line per failed instance, as create and update give them (the stale list is not a failure).
    throw Object.assign(new Error(`could not detach key pair ${key.name} from ${reasons.length} instance(s); the resource stays in the stack, run pulumi destroy again:\n${reasons.join("\n")}${stale}`), { reasons });
  }
}

export function read(id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
  return withAccount(props.account, () => readAttachment(id, props));
}

async function readAttachment(id: string, props: Props): Promise<{ id: string; props: Props; inputs?: Props }> {
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
    reporterFor(props).warn(`key pair ${keyPairId} was deleted in ENS while bound: ${carrying.length} instance(s) still carry its name ${props.keyPairName}`);
    return { id, props: { ...props, attachedInstanceIds: carrying.sort() } };
  }
  const live = await client.describeInstancesById(touched);
  const carrying = [...live.values()].filter((i) => i.KeyPairName === key.KeyPairName).map((i) => i.InstanceId).sort();
  if (!imported) {
    // Refresh: only outputs change; the inputs the program gave stay as they are. An instance another resource's
    // standing claim is on is that resource's, whatever key it carries (protocol rule 2).
    const me = identityOf(props, id, key.KeyPairId);
    const owners = await sortOwners(await readTags(client, touched), (i) => live.get(i)?.KeyPairName || undefined, me, keyNames(client));
    // Bindings an earlier run of this resource made and never recorded (its engine died) are bound all the same.
    // (Only those the next up can unbind: a Running one without stopInstances would make every diff ask in vain.)
    const found = (await findOwnClaims(client, me)).filter((i) => !touched.includes(i));
    const leftLive = found.length ? await client.describeInstancesById(found) : new Map<string, Instance>();
    // A Stopped one may be under the lease of the interrupted run, to be started again: only with stopInstances.
    const { left, blocked } = leftoversToUnbind(found, leftLive, props.stopInstances === true);
    const leftovers = props.stopInstances === true ? left : [];
    const unmanaged = [...blocked, ...left.filter((i) => !leftovers.includes(i))].filter((i) => leftLive.get(i)?.KeyPairName === key.KeyPairName);
    if (unmanaged.length) reporterFor(props).warn(`${unmanaged.length} instance(s) carry this resource's owner tag from an earlier run that did not reach the state (${list(unmanaged, 5)}): with stopInstances: true the next pulumi up unbinds them`);
    const attachedInstanceIds = [...carrying.filter((i) => !owners.others.has(i)), ...leftovers.filter((i) => leftLive.get(i)?.KeyPairName === key.KeyPairName)].sort();
    const wantedSet = new Set(wanted);
    const yieldedInstanceIds = union(props.yieldedInstanceIds ?? [], touched.filter((i) => owners.others.has(i))).filter((i) => wantedSet.has(i) && !attachedInstanceIds.includes(i)).sort();
    return { id, props: { ...props, keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds, yieldedInstanceIds } };
  }
  const attachedInstanceIds = carrying;
  const inputs = { keyPairId: key.KeyPairId, instanceIds: wanted, ...DEFAULTS };
  return { id: `${key.KeyPairId}:att-${randomBytes(4).toString("hex")}`, props: outputs(inputs, key, attachedInstanceIds, []), inputs };
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
  if (invalid.length) throw new Error(invalid.map((f) => (f.reason.startsWith(f.property) ? f.reason : `${f.property}: ${f.reason}`)).join("\n"));
  const client = getClient();
  const ref: KeyPairRef = inputs.keyPairId ? { keyPairId: inputs.keyPairId } : { keyPairName: inputs.keyPairName };
  const key = await client.findKeyPair(ref);
  if (!key) {
    const field = ref.keyPairId ? "keyPairId" : "keyPairName";
    throw new Error(`${field}: ENS has no key pair ${JSON.stringify(ref.keyPairId ?? ref.keyPairName)} (DescribeKeyPairs found none at ${client.endpoint}); create or import it first, or fix ${field}. Nothing was changed.`);
  }
  return { client, key };
}

/**
 * An update that cannot start (its key pair is gone, say) still records the bindings it sees gone: instances the state
 * lists that no longer carry the key pair's name leave the state (partial state), named in the error.
 */
async function dropLostBindings(e: unknown, id: string, olds: Props, news: Props): Promise<never> {
  const attached: string[] = olds.attachedInstanceIds ?? [];
  const live = attached.length && olds.keyPairName ? await getClient().describeInstancesById(attached).catch(() => undefined) : undefined;
  const lost = live ? attached.filter((i) => live.get(i)?.KeyPairName !== olds.keyPairName) : [];
  if (!lost.length) throw e;
  const message = `${(e as Error).message}\n${lost.length} instance(s) the state lists as bound do not carry ${olds.keyPairName} any more: dropped from this resource's state: ${list(lost, 5)}`;
  const key = { KeyPairId: olds.keyPairId, KeyPairName: olds.keyPairName } as KeyPair;
  const props = { ...outputs(news, key, attached.filter((i) => !lost.includes(i)), olds.yieldedInstanceIds ?? []), [PROVIDER_KEY]: news[PROVIDER_KEY] };
  throw Object.assign(new Error(message), { id, properties: props, reasons: [message] });
}

/** Converges; per-instance failures become the partial-state error the Node dynamic provider host understands. */
async function convergeOrThrow(client: EnsClient, key: KeyPair, inputs: Props, before: Before, id: string, op: Operation): Promise<{ attached: string[]; yielded: string[] }> {
  const out: Reporter = reporterFor(inputs);
  const me = identityOf(inputs, id, key.KeyPairId);
  let outcome: Outcome;
  try {
    outcome = await converge(client, { ref: { keyPairId: key.KeyPairId }, name: key.KeyPairName }, inputs as AttachmentInputs, before, me, op, out);
  } catch (e) {
    // A refused update still records what it found true: bindings gone or taken over leave the state (partial state).
    if (!(e instanceof Refusal) || op !== "update" || (!e.yielded.length && e.stillBound.length === before.attached.length)) throw e;
    const wanted = new Set<string>(inputs.instanceIds ?? []);
    const props = { ...outputs(inputs, key, [...e.stillBound].sort(), union([...before.yielded], e.yielded).filter((i) => wanted.has(i))), [PROVIDER_KEY]: inputs[PROVIDER_KEY] };
    throw Object.assign(new Error(e.message), { id, properties: props, reasons: [e.message] });
  }
  const { attached, yielded, reasons, counts } = outcome;
  sayDone(inputs, out, counts, reasons.length);
  if (reasons.length) {
    const props = { ...outputs(inputs, key, attached, yielded), [PROVIDER_KEY]: inputs[PROVIDER_KEY] };
    // The state records `properties`: what is really bound.
    throw Object.assign(new Error(`${reasons.length} instance operation(s) failed:\n${reasons.join("\n")}`), { id, properties: props, reasons });
  }
  return { attached, yielded };
}

function outputs(inputs: Props, key: KeyPair, attachedInstanceIds: string[], yieldedInstanceIds: string[]): AttachmentOutputs {
  // __attachmentName and __owner (from the SDK) are kept so that delete and read name the resource and know its owner.
  return stripUndefined({ ...pickInputs(inputs), __attachmentName: inputs.__attachmentName, __owner: inputs.__owner, keyPairId: key.KeyPairId, keyPairName: key.KeyPairName, attachedInstanceIds, yieldedInstanceIds }) as AttachmentOutputs;
}

function pickInputs(p: Props): AttachmentInputs {
  const { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds, takeOwnership, maxStoppedPerRegion, account } = p as AttachmentInputs;
  // account stays in the outputs: delete and read get nothing else (the SDK makes the output secret).
  return { keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds, ...(takeOwnership !== undefined ? { takeOwnership } : {}), ...(maxStoppedPerRegion !== undefined ? { maxStoppedPerRegion } : {}), ...(account !== undefined ? { account } : {}) };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

import { EnsClient } from "../ens";
import { withTagPermission } from "./permissions";
import { readTags, tagEach, Tags, untagIf } from "./tagging";
import { fitOwner, MAX_TAG_VALUE, OWNER_NAME_TAG, OWNER_TAG, OwnerClaim, ownerTagValue, parseOwnerTag, sameOwner } from "./tags";

/** Who this resource is to the protocol: its owner name, the resource ID older tags used, the key it binds. */
export interface Identity {
  /** `<project>/<stack>/<resource name>` from the SDK; states written before carry none: the resource ID stands in. */
  owner: string;
  /** The resource ID: tags written before owner names carry it. */
  legacyId?: string;
  keyPairId: string;
}

export function identityOf(props: Record<string, any>, id: string | undefined, keyPairId: string): Identity {
  const owner = typeof props.__owner === "string" && props.__owner ? props.__owner : id ?? "";
  return { owner, legacyId: id, keyPairId };
}

/** The claim this resource writes: fresh (standing without its key on the instance) for `freshMs`. */
export const claimTag = (me: Identity, freshMs: number, now = Date.now()) => ({ Key: OWNER_TAG, Value: ownerTagValue(me.keyPairId, me.owner, now + freshMs) });

/** The tag written beside every owner tag: its owner's name, to find that owner's instances by (tags.ts). */
export const ownerNameTag = (owner: string) => ({ Key: OWNER_NAME_TAG, Value: fitOwner(owner, MAX_TAG_VALUE) });

export const isMine = (claim: OwnerClaim | undefined, me: Identity): boolean => claim !== undefined && sameOwner(claim, me.owner, me.legacyId);

export interface OwnerFacts {
  /** Instances another owner's claim stands on: instance → owner. */
  others: Map<string, string>;
  /** Claims of other owners that no longer stand (their key is not on the instance, the claim is not fresh). */
  stale: { instanceId: string; owner: string }[];
  /** Claimed by this resource, in a form to write anew (the legacy resource ID, another key: a rotation). */
  rewrite: string[];
}

/**
 * Sorts the owner tags of instances by whose they are. Another owner's claim stands while the instance carries that
 * owner's key pair, or while the claim is fresh (written before a binding call still under way); otherwise it is
 * stale and this resource may replace it. `keyName` resolves a key pair ID to the name instances show.
 */
export async function sortOwners(tags: ReadonlyMap<string, Tags>, keyOf: (instanceId: string) => string | undefined, me: Identity, keyName: (keyPairId: string) => Promise<string | undefined>, now = Date.now()): Promise<OwnerFacts> {
  const facts: OwnerFacts = { others: new Map(), stale: [], rewrite: [] };
  for (const [id, t] of tags) {
    const claim = t.owner;
    if (!claim) continue;
    if (isMine(claim, me)) {
      if (claim.owner !== me.owner || claim.keyPairId !== me.keyPairId) facts.rewrite.push(id);
      continue;
    }
    const carried = keyOf(id);
    const fresh = claim.freshUntilMs !== undefined && claim.freshUntilMs > now;
    const stands = fresh || (carried !== undefined && (claim.keyPairId === undefined || (await keyName(claim.keyPairId)) === carried));
    if (stands) facts.others.set(id, claim.owner);
    else facts.stale.push({ instanceId: id, owner: claim.owner });
  }
  return facts;
}

/** Key pair ID → name, one DescribeKeyPairs per distinct ID (a key pair ENS no longer lists: undefined). */
export function keyNames(client: EnsClient): (keyPairId: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  return (keyPairId) => {
    if (!cache.has(keyPairId)) cache.set(keyPairId, client.findKeyPair({ keyPairId }).then((k) => k?.KeyPairName));
    return cache.get(keyPairId)!;
  };
}

/**
 * Every instance whose owner tag names `me`. A create has no state to scope it: what an earlier run of the same
 * logical resource bound and then lost track of (its engine died after the provider bound) is found here, so that the
 * create manages it instead of leaving it bound and unmanaged. Found by the owner-name tag (ListTagResources by key
 * and value: calls grow with this owner's instances), then read again by ID; `scan`: by the owner tag's key over the
 * whole account instead, which also finds claims written before owner-name tags (ens-keypair-recover).
 */
export async function findOwnClaims(client: EnsClient, me: Identity, sameKeyOnly = false): Promise<string[]> {
  const claims = await ownClaims(client, me);
  return [...claims.keys()].filter((id) => !sameKeyOnly || claims.get(id)!.owner!.keyPairId === me.keyPairId);
}

/** findOwnClaims with the tags as read by ID (instance → its protocol tags, its owner tag `me`'s). */
export async function ownClaims(client: EnsClient, me: Identity, scan = false): Promise<Map<string, Tags>> {
  const listed = await withTagPermission(client.listTagResources({ tag: scan ? { Key: OWNER_TAG } : ownerNameTag(me.owner) }));
  const candidates = [...new Set(listed.filter((t) => !scan || (t.TagKey === OWNER_TAG && isMine(parseOwnerTag(t.TagValue), me))).map((t) => t.ResourceId))];
  if (!candidates.length) return new Map();
  const now = await readTags(client, candidates);
  return new Map(candidates.filter((id) => isMine(now.get(id)?.owner, me)).map((id) => [id, now.get(id)!]));
}

/**
 * Takes back claims this run wrote for bindings that did not happen (rule 3: a claim announces a binding call; once
 * the call failed it announces nothing, and a fresh claim would refuse the instance to every other resource for its
 * fresh time). Only where the tag is still the value this run wrote: the tag read just before the claim is written
 * back if it still stands (its key is on the instance, or it is another owner's fresh claim), otherwise the tag goes.
 * `claims`: instance → the tag read before (undefined: none) and the one written; `carried`: the key pair name on it.
 */
export async function takeBackClaims(client: EnsClient, claims: ReadonlyMap<string, { before?: string; written: string }>, carried: (instanceId: string) => string | undefined, me: Identity, keyName: (keyPairId: string) => Promise<string | undefined>, now = Date.now()): Promise<void> {
  const ids = [...claims.keys()];
  if (!ids.length) return;
  const current = await readTags(client, ids);
  const back = new Map<string, string[]>();
  const remove: string[] = [];
  for (const id of ids.filter((i) => current.get(i)?.ownerValue === claims.get(i)!.written)) {
    const before = claims.get(id)!.before;
    const was = before === undefined ? undefined : parseOwnerTag(before);
    const keyOn = was?.keyPairId !== undefined && carried(id) !== undefined && (await keyName(was.keyPairId)) === carried(id);
    const othersFresh = was !== undefined && !isMine(was, me) && (was.freshUntilMs ?? 0) > now;
    if (before !== undefined && (keyOn || othersFresh)) back.set(before, [...(back.get(before) ?? []), id]);
    else remove.push(id);
  }
  await untagIf(client, remove, OWNER_TAG, (id, t) => t.ownerValue === claims.get(id)!.written);
  for (const [value, restore] of back) await tagEach(client, restore, [{ Key: OWNER_TAG, Value: value }, ownerNameTag(parseOwnerTag(value).owner)]);
}

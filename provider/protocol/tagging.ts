import { chunk, MAX_TAG_RESOURCES } from "../batch";
import { EnsClient, Tag } from "../ens";
import { asEnsError, InstanceFailure, reasonOf } from "../observe";
import { withTagPermission } from "./permissions";
import { LEASE_TAG, OWNER_NAME_TAG, OWNER_TAG, OwnerClaim, Lease, parseLease, parseOwnerTag } from "./tags";

/**
 * Tag calls with per-instance outcomes. One instance that cannot take a tag (at ENS's tag limit, released, refused)
 * fails a whole TagResources call, so a failed call is split in halves until the instances at fault stand alone:
 * k bad instances among n cost about 2k·log2(n/k) calls more, none when all go through.
 */

export interface Tags {
  owner?: OwnerClaim;
  /** The raw owner tag value, to put it back as it was. */
  ownerValue?: string;
  lease?: Lease;
  /** The raw lease value, to remove a lease only while it is still the one read. */
  leaseValue?: string;
}

/** Both protocol tags of `ids` (ListTagResources, 50 IDs a call): absent from the map = no tag. */
export async function readTags(client: EnsClient, ids: readonly string[]): Promise<Map<string, Tags>> {
  const pages = await withTagPermission(Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.listTagResources({ instanceIds: b }))));
  const asked = new Set(ids);
  const out = new Map<string, Tags>();
  for (const t of pages.flat()) {
    if (!asked.has(t.ResourceId)) continue;
    const entry = out.get(t.ResourceId) ?? {};
    if (t.TagKey === OWNER_TAG) Object.assign(entry, { owner: parseOwnerTag(t.TagValue), ownerValue: t.TagValue });
    else if (t.TagKey === LEASE_TAG) Object.assign(entry, { lease: parseLease(t.TagValue), leaseValue: t.TagValue });
    else continue;
    out.set(t.ResourceId, entry);
  }
  return out;
}

/** Writes `tags` on every instance of `ids`; returns the instances that could not take them, with why. */
export async function tagEach(client: EnsClient, ids: readonly string[], tags: Tag[]): Promise<InstanceFailure[]> {
  const attempt = async (batch: readonly string[]): Promise<InstanceFailure[]> => {
    try {
      await client.tagResources([...batch], tags);
      return [];
    } catch (e) {
      const err = asEnsError(e, "TagResources");
      // Retries are spent (throttling, 5xx): splitting only adds load.
      if (batch.length === 1 || err.retryable) return batch.map((instanceId) => ({ instanceId, code: err.code, message: reasonOf(err) }));
      const half = Math.ceil(batch.length / 2);
      return [...(await attempt(batch.slice(0, half))), ...(await attempt(batch.slice(half)))];
    }
  };
  return (await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map(attempt))).flat();
}

/**
 * Removes tag `key` from the instances for which `stillOurs` holds on a fresh read, so that a tag another run wrote
 * since is left alone (UntagResources removes by key, whatever the value). One unknown instance fails a whole call:
 * then the instances ENS still knows are tried once more.
 */
export async function untagIf(client: EnsClient, ids: readonly string[], key: typeof OWNER_TAG | typeof LEASE_TAG, stillOurs: (id: string, t: Tags) => boolean): Promise<string[]> {
  if (!ids.length) return [];
  const now = await readTags(client, ids);
  const ours = ids.filter((id) => now.has(id) && stillOurs(id, now.get(id)!));
  // The owner tag goes with the owner-name tag written beside it (tags.ts).
  const keys = key === OWNER_TAG ? [OWNER_TAG, OWNER_NAME_TAG] : [key];
  const untag = (list: readonly string[]) => Promise.all(chunk(list, MAX_TAG_RESOURCES).map((b) => client.untagResources(b, keys)));
  try {
    await untag(ours);
    return ours;
  } catch {
    const live = await client.describeInstancesById(ours);
    const known = ours.filter((id) => live.has(id));
    await untag(known);
    return known;
  }
}

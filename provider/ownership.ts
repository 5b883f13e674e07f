import { chunk, MAX_TAG_RESOURCES } from "./batch";
import { EnsClient } from "./ens";

/**
 * Ownership of bindings. ENS holds one key pair per instance and records nobody who manages it, so the provider
 * tags every instance it binds with the resource ID (as Kubernetes owner references or CloudFormation's stack tags
 * do): a resource never detaches, adopts or re-keys an instance another resource owns, unless told to take it over.
 * Tags are read only for instances whose binding a run would adopt, replace or remove, so a steady fleet costs no
 * extra call; claiming costs ceil(n/50) TagResources calls for the n instances newly bound.
 */
export const OWNER_TAG = "pulumi-ens-keypair:owner";

/** The owner tag of each of `ids` that has one: ListTagResources, 50 IDs a call. */
export async function readOwners(client: EnsClient, ids: readonly string[]): Promise<Map<string, string>> {
  const pages = await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.listTagResources({ instanceIds: b, tag: { Key: OWNER_TAG } })));
  const asked = new Set(ids);
  const owners = new Map<string, string>();
  for (const t of pages.flat()) if (t.TagKey === OWNER_TAG && asked.has(t.ResourceId)) owners.set(t.ResourceId, t.TagValue);
  return owners;
}

export async function claim(client: EnsClient, ids: readonly string[], resourceId: string): Promise<void> {
  await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.tagResources(b, [{ Key: OWNER_TAG, Value: resourceId }])));
}

export async function release(client: EnsClient, ids: readonly string[]): Promise<void> {
  await Promise.all(chunk(ids, MAX_TAG_RESOURCES).map((b) => client.untagResources(b, [OWNER_TAG])));
}

import { EnsClient, TagResource } from "../ens";

/**
 * `ens:ownershipTags false` (a RAM user without the tag actions): the protocol's tags are kept in this process
 * instead of in ENS. Every rule of index.ts runs unchanged over them, so they hold between the attachments of one
 * provider process (one program's run), and nowhere else: another stack's or program's owner is never seen, and no
 * lease outlives its run (an interrupted stop-first run's stopped instances are found by nobody). The client's three
 * tag actions are served here and never reach ENS.
 */
export function keepTagsInProcess(client: EnsClient): EnsClient {
  const store = new Map<string, Map<string, string>>();
  client.listTagResources = async (req) => {
    const ids = req.instanceIds ?? [...store.keys()];
    const out: TagResource[] = [];
    for (const id of ids) {
      for (const [key, value] of store.get(id) ?? []) {
        if (req.tag && (req.tag.Key !== key || (req.tag.Value !== undefined && req.tag.Value !== value))) continue;
        out.push({ ResourceId: id, ResourceType: "instance", TagKey: key, TagValue: value });
      }
    }
    return out;
  };
  client.tagResources = async (instanceIds, tags) => {
    for (const id of instanceIds) {
      const held = store.get(id) ?? new Map<string, string>();
      for (const t of tags) held.set(t.Key, t.Value ?? "");
      store.set(id, held);
    }
  };
  client.untagResources = async (instanceIds, tagKeys) => {
    for (const id of instanceIds) for (const key of tagKeys) store.get(id)?.delete(key);
  };
  return client;
}

const warned = new Set<string>();

/** What a resource goes without when the tags stay in the process: said once per resource and process. */
export function tagsOffWarning(resource: string): string | undefined {
  if (warned.has(resource)) return undefined;
  warned.add(resource);
  return (
    "ownership tags are off (ens:ownershipTags false): owners and stop leases are kept in this provider process only. " +
    "Another stack or program can re-key these instances without takeOwnership and this resource will not see it as a takeover; " +
    "instances an interrupted stop-first run left Stopped are not started by later runs (start them yourself); " +
    "maxStoppedInstances and maxStoppedPerRegion count only this program's attachments"
  );
}

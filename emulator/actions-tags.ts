/** Tag actions for ResourceType "instance": TagResources, UntagResources, ListTagResources. */
import type { ActionDef } from "./actions";
import { Errors } from "./errors";
import { Instance, World } from "./model";
import { Params, flatList, flatTags, optional, required } from "./params";

const MAX_TAGS_PER_RESOURCE = 20;
const LIST_PAGE_SIZE = 50;

function resourceType(p: Params): void {
  const t = required(p, "ResourceType");
  if (t !== "instance") throw Errors.invalid("ResourceType", `only "instance" is supported, got ${JSON.stringify(t)}.`);
}

function resources(p: Params, world: World, min: number): Instance[] {
  const ids = flatList(p, "ResourceId", 50);
  if (ids.length < min) throw Errors.missing("ResourceId.1");
  return ids.map((id) => {
    const inst = world.instances.get(id);
    if (!inst) throw Errors.resourceNotFound(id);
    return inst;
  });
}

function checkTagText(field: string, text: string, isKey: boolean): void {
  const bad =
    text.length > 128 ||
    text.startsWith("acs:") ||
    (isKey && text.startsWith("aliyun")) ||
    /https?:\/\//.test(text);
  if (bad) {
    throw Errors.invalid(field, 'at most 128 characters, must not start with "acs:" (keys: nor "aliyun"), must not contain http:// or https://.');
  }
}

const TagResources: ActionDef = (p, { world }) => {
  resourceType(p);
  const targets = resources(p, world, 1);
  const tags = flatTags(p, "Tag", MAX_TAGS_PER_RESOURCE);
  if (tags.length === 0) throw Errors.missing("Tag.1.Key");
  tags.forEach((t, i) => {
    checkTagText(`Tag.${i + 1}.Key`, t.key, true);
    checkTagText(`Tag.${i + 1}.Value`, t.value ?? "", false);
  });
  const merged = targets.map((inst) => {
    const next = { ...(inst.tags ?? {}) };
    for (const t of tags) next[t.key] = t.value ?? "";
    if (Object.keys(next).length > MAX_TAGS_PER_RESOURCE) throw Errors.tagLimit(inst.instanceId);
    return next;
  });
  targets.forEach((inst, i) => world.setTags(inst, merged[i]));
  return {};
};

const UntagResources: ActionDef = (p, { world }) => {
  resourceType(p);
  const targets = resources(p, world, 1);
  const keys = flatList(p, "TagKey", MAX_TAGS_PER_RESOURCE);
  const all = optional(p, "All");
  if (all !== undefined && all !== "true" && all !== "false") throw Errors.invalid("All", 'must be "true" or "false".');
  for (const inst of targets) {
    if (keys.length) {
      const next = { ...(inst.tags ?? {}) };
      for (const k of keys) delete next[k];
      world.setTags(inst, next);
    } else if (all === "true") {
      world.setTags(inst, {});
    }
  }
  return {};
};

/** Lists the tags of instances in scope (ResourceId.N, or every instance); Tag.N filters instances by their tags. */
const ListTagResources: ActionDef = (p, { world }) => {
  resourceType(p);
  const ids = flatList(p, "ResourceId", 50);
  const filters = flatTags(p, "Tag", MAX_TAGS_PER_RESOURCE);
  const scope = ids.length ? ids.map((id) => world.instances.get(id)).filter((i): i is Instance => !!i) : world.list();
  const entries: { ResourceId: string; ResourceType: string; TagKey: string; TagValue: string }[] = [];
  for (const inst of scope) {
    const tags = inst.tags;
    if (!tags) continue;
    if (!filters.every((f) => f.key in tags && (f.value === undefined || tags[f.key] === f.value))) continue;
    for (const [TagKey, TagValue] of Object.entries(tags)) {
      entries.push({ ResourceId: inst.instanceId, ResourceType: "instance", TagKey, TagValue });
    }
  }
  const start = decodeToken(optional(p, "NextToken"));
  const slice = entries.slice(start, start + LIST_PAGE_SIZE);
  const next = start + LIST_PAGE_SIZE < entries.length ? encodeToken(start + LIST_PAGE_SIZE) : undefined;
  return { TagResources: slice, ...(next ? { NextToken: next } : {}) };
};

const encodeToken = (offset: number): string => Buffer.from(`offset:${offset}`).toString("base64url");
function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!m) throw Errors.invalid("NextToken", "unknown or malformed token.");
  return Number(m[1]);
}

export const TAG_ACTIONS: Record<string, ActionDef> = { TagResources, UntagResources, ListTagResources };

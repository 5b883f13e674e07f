/** Reading ENS request parameters (all wire values are strings). */
import { Errors } from "./errors";

export type Params = Record<string, string>;

export function required(p: Params, name: string): string {
  const v = p[name];
  if (v === undefined || v === "") throw Errors.missing(name);
  return v;
}

export function optional(p: Params, name: string): string | undefined {
  const v = p[name];
  return v === undefined || v === "" ? undefined : v;
}

function checkIds(name: string, ids: string[], min: number, max: number): string[] {
  if (ids.length < min || ids.length > max) {
    throw Errors.invalid(name, `between ${min} and ${max} instance IDs are allowed, got ${ids.length}.`);
  }
  if (new Set(ids).size !== ids.length) throw Errors.invalid(name, "duplicate instance IDs.");
  return ids;
}

/** A JSON-typed parameter: empty or the literal `null` (what some SDKs send for an absent value) counts as absent. */
export function optionalJson(p: Params, name: string): string | undefined {
  const v = optional(p, name);
  return v === undefined || v.trim() === "null" ? undefined : v;
}

/** A JSON array string of IDs, e.g. ["i-1","i-2"] (AttachKeyPair, DetachKeyPair, DescribeInstances). */
export function jsonIds(p: Params, name: string, min: number, max: number): string[] {
  const raw = optionalJson(p, name);
  if (raw === undefined) throw Errors.missing(name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw Errors.invalid(name, `must be a JSON array of instance IDs such as ["i-1","i-2"], got ${JSON.stringify(raw.slice(0, 80))}.`);
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string" && x.length > 0)) {
    throw Errors.invalid(name, "must be a JSON array of non-empty strings.");
  }
  return checkIds(name, parsed as string[], min, max);
}

/**
 * A repeated-ID list in either form Alibaba's SDKs send (StopInstances, StartInstances): comma-separated
 * `Name=i-1,i-2` (the TypeScript and tea Go SDKs, style "simple") or `Name.1=i-1&Name.2=i-2` (the Go SDK
 * github.com/aliyun/alibaba-cloud-sdk-go, `type:"Repeated"`). Both at once, or a JSON array, are rejected.
 */
export function repeatedIds(p: Params, name: string): string[] {
  const flat = flatList(p, name, Number.MAX_SAFE_INTEGER).map((s) => s.trim());
  const comma = optional(p, name);
  if (comma !== undefined && flat.length) throw Errors.invalid(name, `send either ${name} or ${name}.N, not both.`);
  if (comma?.trim().startsWith("[")) {
    throw Errors.invalid(name, `must be comma-separated instance IDs such as i-1,i-2 (or ${name}.N), not a JSON array.`);
  }
  const ids = flat.length ? flat : (comma ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw Errors.missing(name);
  if (ids.some((id) => !id)) throw Errors.invalid(name, "empty instance ID.");
  return checkIds(name, ids, 1, Number.MAX_SAFE_INTEGER);
}

/** Flattened list: Name.1, Name.2, ... (OpenApiUtil.query style). */
export function flatList(p: Params, name: string, max: number): string[] {
  const out: string[] = [];
  for (let n = 1; ; n++) {
    const v = p[`${name}.${n}`];
    if (v === undefined) break;
    out.push(v);
  }
  if (out.length > max) throw Errors.invalid(name, `at most ${max} values are allowed, got ${out.length}.`);
  return out;
}

/** Flattened objects: Tag.1.Key / Tag.1.Value ... */
export function flatTags(p: Params, name: string, max: number): { key: string; value?: string }[] {
  const out: { key: string; value?: string }[] = [];
  for (let n = 1; ; n++) {
    const key = p[`${name}.${n}.Key`];
    const value = p[`${name}.${n}.Value`];
    if (key === undefined && value === undefined) break;
    if (key === undefined || key === "") throw Errors.invalid(`${name}.${n}.Key`, "the tag key must not be empty.");
    out.push({ key, value });
  }
  if (out.length > max) throw Errors.invalid(name, `at most ${max} tags are allowed, got ${out.length}.`);
  return out;
}

export function positiveInt(p: Params, name: string, dflt: number, max: number): number {
  const raw = optional(p, name);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw Errors.invalid(name, `must be a positive integer, got ${JSON.stringify(raw)}.`);
  const n = Number(raw);
  if (n > max) throw Errors.invalid(name, `must be at most ${max}, got ${n}.`);
  return n;
}

export function page<T>(items: readonly T[], pageNumber: number, pageSize: number): T[] {
  const start = (pageNumber - 1) * pageSize;
  return items.slice(start, start + pageSize);
}

/** `check`: validate and normalize inputs before anything changes. Pure; every failure names the field and the fix. */
import { AccountInput, checkAccount } from "./account";

export const INSTANCE_ID = /^i-[A-Za-z0-9]{2,64}$/;
export const KEY_PAIR_ID = /^ssh-[A-Za-z0-9]{1,64}$/;
export const KEY_PAIR_NAME = /^[A-Za-z][A-Za-z0-9:_-]{1,127}$/;
export const MAX_INSTANCES = 10000;
export const DEFAULTS = { stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300 };

/**
 * Every input a KeyPairAttachment takes. Anything else (except engine fields starting with `__`) is refused by
 * checkInputs, naming the nearest of these: add a new input here, and check its value in checkInputs.
 */
export const INPUT_FIELDS: string[] = ["keyPairId", "keyPairName", "instanceIds", "stopInstances", "maxStoppedInstances", "forceStop", "stopTimeoutSeconds", "takeOwnership", "maxStoppedPerRegion", "account"];
/** Outputs of the resource: given as inputs they are refused with a hint of their own. */
const OUTPUT_ONLY_FIELDS = ["attachedInstanceIds", "yieldedInstanceIds"];

/** Inputs after check: defaults applied, instance IDs unique. */
export interface AttachmentInputs {
  keyPairId?: string;
  keyPairName?: string;
  instanceIds: string[];
  stopInstances: boolean;
  maxStoppedInstances: number;
  forceStop: boolean;
  stopTimeoutSeconds: number;
  /** Take over bindings another resource owns. No default stored, so states written before it existed stay equal. */
  takeOwnership?: boolean;
  /** Most instances of one EnsRegionId stopped at once. No default stored (unset = no limit per region). */
  maxStoppedPerRegion?: number;
  /** The ENS account (endpoint, credentials; pulumi-alicloud's names): each field falls back to the stack settings. */
  account?: AccountInput;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

/** The engine's marker for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const isUnknown = (v: unknown): boolean => v === UNKNOWN;

export function checkInputs(news: Record<string, any>): { inputs: Record<string, any>; failures: CheckFailure[]; warnings: string[] } {
  const failures: CheckFailure[] = [];
  const warnings: string[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const out: Record<string, any> = { ...news };
  checkFieldNames(news, fail);

  const hasId = news.keyPairId !== undefined && news.keyPairId !== null && news.keyPairId !== "";
  const hasName = news.keyPairName !== undefined && news.keyPairName !== null && news.keyPairName !== "";
  if (hasId && hasName) fail("keyPairId", "give either keyPairId or keyPairName, not both: keep keyPairId (keyPairName is deprecated by ENS)");
  else if (!hasId && !hasName) fail("keyPairId", "a key pair is required: set keyPairId (for example \"ssh-...\" from DescribeKeyPairs) or the deprecated keyPairName");
  if (hasId && !isUnknown(news.keyPairId)) {
    if (typeof news.keyPairId !== "string" || !KEY_PAIR_ID.test(news.keyPairId)) fail("keyPairId", `keyPairId must look like "ssh-xxxx" (got ${show(news.keyPairId)}); copy it from the ENS console or DescribeKeyPairs`);
  }
  if (hasName && !isUnknown(news.keyPairName)) {
    // The deprecation warning comes from the SDK resource, once per program run.
    if (typeof news.keyPairName !== "string" || !KEY_PAIR_NAME.test(news.keyPairName)) fail("keyPairName", `keyPairName must be 2-128 characters, start with a letter and hold only letters, digits, ":", "_" and "-" (got ${show(news.keyPairName)})`);
  }
  if (!hasId) delete out.keyPairId;
  if (!hasName) delete out.keyPairName;

  const ids = news.instanceIds;
  if (isUnknown(ids)) {
    // Known at apply time; check runs again then.
  } else if (!Array.isArray(ids)) {
    fail("instanceIds", `instanceIds must be a list of ENS instance IDs such as ["i-5pk7..."], got ${show(ids)}`);
  } else if (ids.length === 0) {
    fail("instanceIds", "instanceIds is empty: list at least one instance, or delete the KeyPairAttachment to unbind the key pair everywhere");
  } else {
    const bad = ids.filter((id) => !isUnknown(id) && (typeof id !== "string" || !INSTANCE_ID.test(id)));
    if (bad.length) fail("instanceIds", `instanceIds holds ${bad.length} value(s) that are not ENS instance IDs ("i-" followed by letters and digits): ${bad.slice(0, 5).map(show).join(", ")}${bad.length > 5 ? ", ..." : ""}`);
    const unique = [...new Set(ids)];
    if (unique.length !== ids.length) {
      const dupes = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
      warnings.push(`instanceIds lists ${ids.length - unique.length} duplicate(s), ignored: ${dupes.slice(0, 5).join(", ")}${dupes.length > 5 ? ", ..." : ""}`);
    }
    if (unique.length > MAX_INSTANCES) fail("instanceIds", `instanceIds lists ${unique.length} instances; one KeyPairAttachment takes at most ${MAX_INSTANCES}: split it into several resources`);
    out.instanceIds = unique;
  }

  checkBool(news, out, "stopInstances", fail);
  checkBool(news, out, "forceStop", fail);
  if (news.takeOwnership !== undefined && news.takeOwnership !== null && typeof news.takeOwnership !== "boolean" && !isUnknown(news.takeOwnership)) {
    fail("takeOwnership", `takeOwnership must be true or false, got ${show(news.takeOwnership)}`);
  }
  checkInt(news, out, "maxStoppedInstances", 1, MAX_INSTANCES, "how many instances may be stopped at once", fail);
  checkInt(news, out, "stopTimeoutSeconds", 1, 3600, "seconds to wait for Stopped or Running", fail);
  checkInt(news, out, "maxStoppedPerRegion", 1, MAX_INSTANCES, "how many instances of one region may be stopped at once", fail);
  const account = checkAccount(news.account, fail, nearestField);
  if (account === undefined) delete out.account;
  else out.account = account;
  return { inputs: out, failures, warnings };
}

type Fail = (property: string, reason: string) => void;

function checkBool(news: Record<string, any>, out: Record<string, any>, key: "stopInstances" | "forceStop", fail: Fail) {
  const v = news[key];
  if (v === undefined || v === null) out[key] = DEFAULTS[key];
  else if (typeof v !== "boolean" && !isUnknown(v)) fail(key, `${key} must be true or false, got ${show(v)}`);
}

/** A whole number in [min, max]; absent: the default, or (without one) left out so that existing states do not differ. */
function checkInt(news: Record<string, any>, out: Record<string, any>, key: "maxStoppedInstances" | "stopTimeoutSeconds" | "maxStoppedPerRegion", min: number, max: number, what: string, fail: Fail) {
  const v = news[key];
  if (v === undefined || v === null) {
    if (key in DEFAULTS) out[key] = DEFAULTS[key as keyof typeof DEFAULTS];
    else delete out[key];
  } else if (isUnknown(v)) return;
  else if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(key, `${key} (${what}) must be a whole number from ${min} to ${max}, got ${show(v)}`);
}

/** Unknown fields are refused, not stored: `stopInstance: true` must not deploy with stopInstances false. */
function checkFieldNames(news: Record<string, any>, fail: Fail) {
  for (const [key, value] of Object.entries(news)) {
    if (value === undefined || key.startsWith("__") || INPUT_FIELDS.includes(key)) continue;
    if (OUTPUT_ONLY_FIELDS.includes(key)) {
      fail(key, `${key} is an output of KeyPairAttachment, not an input: remove it (it reports what ENS really has bound)`);
      continue;
    }
    const near = nearestField(key);
    fail(key, near ? `unknown input "${key}": did you mean ${near}?` : `unknown input "${key}": KeyPairAttachment takes ${INPUT_FIELDS.join(", ")}`);
  }
}

/** The known input a misspelt name most likely meant: same letters in another case, a small edit, or a shortening. */
export function nearestField(name: string, known: readonly string[] = INPUT_FIELDS): string | undefined {
  const lower = name.toLowerCase();
  let best: { field: string; d: number } | undefined;
  for (const field of known) {
    const d = editDistance(lower, field.toLowerCase());
    if (!best || d < best.d) best = { field, d };
  }
  if (best && best.d <= Math.max(2, Math.floor(Math.max(name.length, best.field.length) / 4))) return best.field;
  // A shortening: "maxStopped", "stopTimeout", "keyName" (its letters in order within the field's name, the first
  // one first: "region" is no shortening of maxStoppedPerRegion).
  if (lower.length < 4) return undefined;
  const shortenings = known.filter((f) => f[0].toLowerCase() === lower[0] && isSubsequence(lower, f.toLowerCase()));
  shortenings.sort((a, b) => editDistance(lower, a.toLowerCase()) - editDistance(lower, b.toLowerCase()));
  return shortenings[0];
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function isSubsequence(short: string, long: string): boolean {
  let i = 0;
  for (const c of long) if (c === short[i]) i++;
  return i === short.length;
}

/** A value as the user wrote it: JSON, but NaN, Infinity and -0 by name (JSON.stringify turns them into null and 0). */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v, (_k, x) => (typeof x === "number" && (!Number.isFinite(x) || Object.is(x, -0)) ? `\u0000${Object.is(x, -0) ? "-0" : String(x)}\u0000` : typeof x === "bigint" ? `\u0000${x}\u0000` : x));
  } catch {
    s = undefined;
  }
  s = s === undefined ? String(v) : s.replace(/"\\u0000(.*?)\\u0000"/g, "$1");
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

import { createHash } from "node:crypto";

/**
 * The tags of the protocol and their values (rules in ./index.ts). ENS takes tag values of at most 128 characters
 * (TagResourcesRequest.ts); an owner name that would not fit keeps its head and a digest of the whole.
 */

/** Who owns an instance's binding: `<keyPairId>@<claim fresh until, epoch s>/<owner>`. */
export const OWNER_TAG = "pulumi-ens-keypair:owner";
/**
 * The owner name alone, beside every owner tag (written and removed with it): ListTagResources filters by exact
 * value, so an owner finds its own instances in calls that grow with them, not with every instance the account has
 * bound (an owner tag's value changes with each claim and cannot be filtered on).
 */
export const OWNER_NAME_TAG = "pulumi-ens-keypair:owner-name";
/** A run's lease on an instance it may have stopped: `<run>.<bounds>@<expiry, epoch s>@<owner>`. */
export const LEASE_TAG = "pulumi-ens-keypair:stopped-by";

export const MAX_TAG_VALUE = 128;

/** The owner name, shortened to `max` characters (head, `~`, 16 hex of SHA-256 of the whole) when longer. */
export function fitOwner(owner: string, max: number): string {
  if (owner.length <= max) return owner;
  const digest = createHash("sha256").update(owner).digest("hex").slice(0, 16);
  return `${owner.slice(0, max - digest.length - 1)}~${digest}`;
}

/** A resource ID as written before owner names existed (`<keyPairId>:att-<8 hex>`): the owner was the resource ID. */
const LEGACY_OWNER = /^(ssh-[A-Za-z0-9]+):att-[0-9a-f]{8}$/;

/**
 * `freshUntilMs`: until when the claim stands without the owner's key on the instance (a claim is written before the
 * binding call it announces).
 */
export function ownerTagValue(keyPairId: string, owner: string, freshUntilMs: number): string {
  const head = `${keyPairId}@${Math.ceil(freshUntilMs / 1000)}/`;
  return head + fitOwner(owner, MAX_TAG_VALUE - head.length);
}

export interface OwnerClaim {
  /** The key pair the owner binds; undefined when the value does not say (a foreign or hand-written tag). */
  keyPairId?: string;
  /** The owner name as the tag holds it (shortened), or a legacy resource ID. */
  owner: string;
  /** Until when the claim stands without the owner's key on the instance. */
  freshUntilMs?: number;
}

export function parseOwnerTag(value: string): OwnerClaim {
  const legacy = LEGACY_OWNER.exec(value);
  if (legacy) return { keyPairId: legacy[1], owner: value };
  const m = /^(ssh-[A-Za-z0-9]+)(?:@(\d+))?\/(.+)$/.exec(value);
  if (!m) return { owner: value };
  return { keyPairId: m[1], owner: m[3], ...(m[2] ? { freshUntilMs: Number(m[2]) * 1000 } : {}) };
}

/**
 * Whether two owner names, each whole or shortened by fitOwner (to another length: an owner tag and a lease keep
 * different heads), name the same owner: shortened ones by their digest of the whole, with heads of one another.
 */
export function sameOwnerName(a: string, b: string): boolean {
  if (a === b) return true;
  const sa = SHORTENED.exec(a);
  const sb = SHORTENED.exec(b);
  if (sa && sb) return sa[2] === sb[2] && (sa[1].startsWith(sb[1]) || sb[1].startsWith(sa[1]));
  if (sa) return a === fitOwner(b, a.length);
  if (sb) return b === fitOwner(a, b.length);
  return false;
}
const SHORTENED = /^(.*)~([0-9a-f]{16})$/;

/** Whether a tag's owner is `owner` (as shortened into a tag), or the legacy resource ID `legacyId`. */
export function sameOwner(claim: OwnerClaim, owner: string, legacyId?: string): boolean {
  if (legacyId !== undefined && claim.owner === legacyId) return true;
  return sameOwnerName(claim.owner, owner);
}

export interface Lease {
  /** 8 hex: one run of one operation. Undefined for marks written before leases (`<resource ID>[@expiry]`). */
  run?: string;
  expiresAtMs?: number;
  /** Owner name (shortened), or for old marks the resource ID. */
  owner: string;
  /** The stop bounds of the run that holds it: while it holds an instance down, every run respects them too. */
  bounds?: { maxStopped: number; maxStoppedPerRegion?: number };
}

export interface LeaseBounds {
  maxStopped: number;
  maxStoppedPerRegion?: number;
}

/** `<run>[.<max>.<per region or ->]@<expiry, epoch s>@<owner>` */
export function leaseValue(run: string, owner: string, expiresAtMs: number, bounds?: LeaseBounds): string {
  const b = bounds ? `.${bounds.maxStopped}.${bounds.maxStoppedPerRegion ?? "-"}` : "";
  const head = `${run}${b}@${Math.ceil(expiresAtMs / 1000)}@`;
  return head + fitOwner(owner, MAX_TAG_VALUE - head.length);
}

export function parseLease(value: string): Lease {
  const m = /^([0-9a-f]{8})(?:\.(\d+)\.(\d+|-))?@(\d+)@(.+)$/.exec(value);
  if (m) {
    const bounds = m[2] ? { maxStopped: Number(m[2]), ...(m[3] !== "-" ? { maxStoppedPerRegion: Number(m[3]) } : {}) } : undefined;
    return { run: m[1], expiresAtMs: Number(m[4]) * 1000, owner: m[5], ...(bounds ? { bounds } : {}) };
  }
  const old = /^(.*)@(\d+)$/.exec(value);
  return old ? { owner: old[1], expiresAtMs: Number(old[2]) * 1000 } : { owner: value };
}

/** Whether a lease's owner is `owner` (shortened as in a lease) or the legacy resource ID. */
export function leaseOf(lease: Lease, owner: string, legacyId?: string): boolean {
  if (lease.owner === owner || (legacyId !== undefined && lease.owner === legacyId)) return true;
  return lease.run !== undefined && sameOwnerName(lease.owner, owner);
}

import { randomBytes } from "node:crypto";
import { EnsClient } from "../ens";
import { bringBack, changePower, InstanceFailure, WaitOptions } from "../instances";
import { Identity } from "./owners";
import { withTagPermission } from "./permissions";
import { untagIf } from "./tagging";
import { LEASE_TAG, Lease, LeaseBounds, leaseOf, leaseValue, parseLease } from "./tags";

/**
 * Leases: a run tags an instance before it stops it (`<run>@<expiry>@<owner>`), renews the tag while it works, and
 * removes it once the instance runs again. Whoever finds a lease decides by it: the lease of a live run is left
 * alone; one of this resource's earlier runs (a stack runs once at a time, so that run is dead) or one past its
 * expiry belongs to no live run, and its instance is started again.
 */

/** A lease outlives its last renewal by this long (ENS_LEASE_SECONDS, for tests); runs renew at a third of it. */
export const leaseLifetimeMs = (): number => positive(process.env.ENS_LEASE_SECONDS, 60) * 1000;
/** How long a claim's writer waits before reading the claims back (ENS_CLAIM_SETTLE_MS, for tests). */
export const claimSettleMs = (): number => positive(process.env.ENS_CLAIM_SETTLE_MS, 500, true);

function positive(raw: string | undefined, fallback: number, zeroOk = false): number {
  const n = Number(raw);
  return raw !== undefined && raw !== "" && Number.isFinite(n) && (n > 0 || (zeroOk && n === 0)) ? n : fallback;
}

export const newRun = (): string => randomBytes(4).toString("hex");

export interface RunLease {
  run: string;
  me: Identity;
  /** The run's stop bounds, written into its leases (rule 5). */
  bounds?: LeaseBounds;
}

export const leaseTag = (r: RunLease, now = Date.now()) => ({ Key: LEASE_TAG, Value: leaseValue(r.run, r.me.owner, now + leaseLifetimeMs(), r.bounds) });
/** Whether a lease read now is this run's (renewals change the expiry, not the run). */
export const ofRun = (r: RunLease) => (l: Lease | undefined) => l?.run === r.run && leaseOf(l, r.me.owner);

export interface FoundLease {
  instanceId: string;
  lease: Lease;
  value: string;
}

export interface LeaseFacts {
  /** This resource's, of runs that are over (the stack's runs do not overlap). */
  ownDead: FoundLease[];
  /** Another resource's, past expiry. */
  expired: FoundLease[];
  /** Another resource's, of a run that may be alive. */
  live: FoundLease[];
}

/** Every lease in the account: one ListTagResources by tag key (plus pages). */
export async function findLeases(client: EnsClient): Promise<FoundLease[]> {
  const seen = new Set<string>();
  const out: FoundLease[] = [];
  for (const t of await withTagPermission(client.listTagResources({ tag: { Key: LEASE_TAG } }))) {
    if (t.TagKey !== LEASE_TAG || seen.has(t.ResourceId)) continue;
    seen.add(t.ResourceId);
    out.push({ instanceId: t.ResourceId, lease: parseLease(t.TagValue), value: t.TagValue });
  }
  return out;
}

export function sortLeases(found: readonly FoundLease[], me: Identity, currentRun: string | undefined, now = Date.now()): LeaseFacts {
  const facts: LeaseFacts = { ownDead: [], expired: [], live: [] };
  for (const f of found) {
    if (leaseOf(f.lease, me.owner, me.legacyId)) {
      if (f.lease.run === undefined || f.lease.run !== currentRun) facts.ownDead.push(f);
    } else if (f.lease.expiresAtMs === undefined || f.lease.expiresAtMs < now) facts.expired.push(f); // no expiry: written before leases, by a run long over
    else facts.live.push(f);
  }
  return facts;
}

/** Lines a user should read about leases: those of this resource's interrupted runs, and live ones in its way. */
export function describeLeases(facts: LeaseFacts, scope: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  const ids = (fs: FoundLease[]) => `${fs.slice(0, 5).map((f) => f.instanceId).join(", ")}${fs.length > 5 ? ", ..." : ""}`;
  if (facts.ownDead.length) lines.push(`${facts.ownDead.length} instance(s) an interrupted run of this resource left stopped: ${ids(facts.ownDead)}; started again first`);
  const inWay = facts.live.filter((f) => scope.has(f.instanceId));
  for (const owner of new Set(inWay.map((f) => f.lease.owner))) {
    const mine = inWay.filter((f) => f.lease.owner === owner);
    const until = mine[0].lease.expiresAtMs ? ` until ${new Date(mine[0].lease.expiresAtMs).toISOString()}` : "";
    lines.push(`${mine.length} instance(s) are held by a run of ${owner}${until}; left alone: ${ids(mine)}`);
  }
  return lines;
}

/**
 * Starts what runs that are over left stopped. This resource's own: started and waited for (bounded, all at once),
 * since its plan needs them settled. Other resources' expired ones: started without waiting (a later pass removes
 * the lease once the instance runs), so that an unrelated stuck instance never holds this run up. A lease is removed
 * only while it is still the one read; one whose start ENS refuses is dropped with a warning, not retried forever.
 */
export async function recoverLeases(client: EnsClient, facts: LeaseFacts, waits: WaitOptions & { warn: (l: string) => void }): Promise<InstanceFailure[]> {
  const read = new Map([...facts.ownDead, ...facts.expired].map((f) => [f.instanceId, f.value]));
  const unmark = (ids: string[]) => untagIf(client, ids, LEASE_TAG, (id, t) => t.leaseValue === read.get(id));
  let problems: InstanceFailure[] = [];
  if (facts.ownDead.length) problems = (await bringBack(client, facts.ownDead.map((f) => f.instanceId), waits, unmark)).problems;
  const expired = facts.expired.map((f) => f.instanceId);
  if (!expired.length) return problems;
  const live = await client.describeInstancesById(expired);
  const stopped = expired.filter((id) => live.get(id)?.Status === "Stopped");
  const done = expired.filter((id) => !live.has(id) || live.get(id)!.Status === "Running");
  if (stopped.length) {
    waits.warn(`${stopped.length} instance(s) stopped by an interrupted run (expired lease): starting them again: ${stopped.slice(0, 5).join(", ")}${stopped.length > 5 ? ", ..." : ""}`);
    for (const f of await changePower(client, stopped, "start")) {
      waits.warn(`${f.instanceId}: could not be started again (${f.code}: ${f.message}); its lease is removed: start it with StartInstances or the ENS console`);
      done.push(f.instanceId);
    }
  }
  await unmark(done).catch(() => undefined);
  return problems;
}

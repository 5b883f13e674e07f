import { chunk, MAX_BINDING_BATCH } from "../batch";
import { runBatch } from "../bind";
import { EnsClient } from "../ens";
import { bringBack } from "../instances";
import { findLeases } from "./leases";
import { isMine, ownClaims } from "./owners";
import { untagIf } from "./tagging";
import { leaseOf, OWNER_TAG, LEASE_TAG } from "./tags";

/**
 * What an owner's runs left in ENS when no state will ever bring its resource back (F9: a `pulumi up` killed while it
 * created the resource, then `pulumi destroy`, which never calls the provider for a create the engine only has as
 * pending): its instances under expired leases are started again, and its claims are reported, released or unbound.
 * Run by hand (ens-keypair-recover); it follows the protocol's rules: a live lease is another run's business (left),
 * and a tag is removed only while it is still the owner's.
 */

export interface RecoverOptions {
  /** Remove the owner's claims; the key pairs stay bound (unowned: another resource may bind those instances). */
  release?: boolean;
  /** Detach the claimed key pair from the owner's Stopped instances and remove their claims; Running ones are named. */
  unbind?: boolean;
  /** Act also on fresh claims without a lease of the owner (a run binding Stopped instances writes no lease). */
  force?: boolean;
  waits: { timeoutMs: number; pollIntervalMs: number };
  log: (line: string) => void;
  now?: number;
}

export interface Recovered {
  started: string[];
  /** Instances a run of the owner may be working on now: under its live lease, or its fresh claim without a lease. */
  held: string[];
  /** Instances that carry the owner's key pair and claim (after the run: those still bound). */
  bound: string[];
  released: string[];
  unbound: string[];
  /** Left as they are, each with why: the caller exits non-zero. */
  problems: string[];
}

export async function recoverOwner(client: EnsClient, owner: string, o: RecoverOptions): Promise<Recovered> {
  const out: Recovered = { started: [], held: [], bound: [], released: [], unbound: [], problems: [] };
  const now = o.now ?? Date.now();
  const until = (ms: number) => new Date(ms).toISOString();
  const leases = (await findLeases(client)).filter((f) => leaseOf(f.lease, owner));
  const live = leases.filter((f) => (f.lease.expiresAtMs ?? 0) > now);
  if (live.length) out.problems.push(`${live.length} instance(s) are held by a live lease of ${owner} (a run of it may be under way), left alone: ${live.map((f) => f.instanceId).join(", ")}; run this again once ${until(Math.max(...live.map((f) => f.lease.expiresAtMs!)))} has passed`);
  const expired = new Map(leases.filter((f) => !live.includes(f)).map((f) => [f.instanceId, f.value]));

  const me = { owner, keyPairId: "" };
  // A scan of the account: claims written before owner-name tags are found too (a one-off command can afford it). The
  // claims come read again by ID: one another owner wrote since the listing is not this owner's any more.
  const tags = await ownClaims(client, me, true);
  const listed = [...tags.keys()].filter((i) => !live.some((f) => f.instanceId === i));
  const instances = await client.describeInstancesById(listed);
  let claimed = listed;
  // A run that binds Stopped instances claims them without a lease: a fresh claim without one may be a live run's.
  const fresh = claimed.filter((i) => !expired.has(i) && (tags.get(i)!.owner!.freshUntilMs ?? 0) > now);
  if (fresh.length && !o.force) {
    out.problems.push(`${fresh.length} instance(s) carry a fresh claim of ${owner} without a lease (a run of it may be binding them now), left alone: ${fresh.join(", ")}; run this again once ${until(Math.max(...fresh.map((i) => tags.get(i)!.owner!.freshUntilMs!)))} has passed, or with --force if no run of ${owner} is under way`);
    claimed = claimed.filter((i) => !fresh.includes(i));
  }
  out.held = [...live.map((f) => f.instanceId), ...(o.force ? [] : fresh)];
  // Nothing left and a misspelt name look alike: said either way, not an error (a second run finds nothing).
  if (!leases.length && !listed.length) o.log(`no lease and no owner tag at this endpoint names ${owner}: nothing is left of it, or the name or endpoint is not the one (the name is <project>/<stack>/<resource name>, as the owner tag pulumi-ens-keypair:owner shows it after the key pair ID)`);

  const keyNames = new Map<string, string | undefined>();
  for (const keyPairId of new Set(claimed.map((i) => tags.get(i)!.owner!.keyPairId).filter((k): k is string => !!k))) keyNames.set(keyPairId, (await client.findKeyPair({ keyPairId }))?.KeyPairName);
  const keyOf = (id: string) => keyNames.get(tags.get(id)!.owner!.keyPairId ?? "");
  const shows = (id: string) => instances.get(id)?.KeyPairName || undefined;
  const bound = claimed.filter((i) => keyOf(i) !== undefined && shows(i) === keyOf(i));
  // ENS lets a bound key pair be deleted (the instances keep its name): nothing can detach it by ID any more.
  const dangling = claimed.filter((i) => keyOf(i) === undefined && shows(i) !== undefined);
  const notBound = claimed.filter((i) => !bound.includes(i) && !dangling.includes(i));
  out.bound = bound;
  for (const i of dangling) out.problems.push(`${i}: its claim names key pair ${tags.get(i)!.owner!.keyPairId}, which ENS no longer lists, and it still shows ${shows(i)}: detach it in the ENS console (or bind another key pair to it)`);

  // Unbound while still Stopped (ENS detaches only stopped instances), before the leases' instances are started.
  if (o.unbind) {
    const running = bound.filter((i) => instances.get(i)!.Status !== "Stopped");
    for (const i of running) {
      // Its run's expired lease (the sign that run is over) goes with this run's restarts; its claim may stay fresh.
      const stillFresh = (tags.get(i)!.owner!.freshUntilMs ?? 0) > now;
      out.problems.push(`${i}: ${instances.get(i)!.Status}, and ENS unbinds key pairs only from stopped instances: stop it and run this again${stillFresh ? ` with --force (its claim stays fresh until ${until(tags.get(i)!.owner!.freshUntilMs!)})` : ""}`);
    }
    const stopped = bound.filter((i) => !running.includes(i));
    for (const [keyPairId, name] of keyNames) {
      if (name === undefined) continue;
      for (const instanceIds of chunk(stopped.filter((i) => tags.get(i)!.owner!.keyPairId === keyPairId), MAX_BINDING_BATCH)) {
        const outcome = await runBatch(client, { ref: { keyPairId }, name }, { action: "DetachKeyPair", instanceIds });
        const failed = new Set(outcome === "ok" ? [] : outcome.map((f) => f.instanceId));
        if (outcome !== "ok") for (const f of outcome) out.problems.push(`${f.instanceId}: DetachKeyPair failed: ${f.code}: ${f.message}`);
        out.unbound.push(...instanceIds.filter((i) => !failed.has(i)));
      }
    }
    out.bound = bound.filter((i) => !out.unbound.includes(i));
  }

  if (expired.size) {
    const unmark = (ids: string[]) => untagIf(client, ids, LEASE_TAG, (id, t) => t.leaseValue === expired.get(id));
    const back = await bringBack(client, [...expired.keys()], { ...o.waits, onProgress: o.log }, unmark);
    out.started = back.cameBack;
    for (const f of back.problems) out.problems.push(`${f.instanceId}: stopped by a run of ${owner} and not started again (${f.code}: ${f.message}); start it with StartInstances or the ENS console`);
  }

  if (!o.release && !o.unbind) {
    if (bound.length) o.log(`${bound.length} instance(s) carry ${owner}'s key pair and owner tag: ${bound.join(", ")}; --unbind detaches the key pair from them, --release only removes the owner tags`);
    if (notBound.length) o.log(`${notBound.length} instance(s) carry ${owner}'s owner tag without its key pair: ${notBound.join(", ")}; --release or --unbind removes the tags`);
    return out;
  }
  const toRelease = [...notBound, ...out.unbound, ...(o.release ? [...bound, ...dangling] : [])];
  out.released = await untagIf(client, toRelease, OWNER_TAG, (_, t) => isMine(t.owner, me));
  if (o.release) out.bound = [];
  return out;
}

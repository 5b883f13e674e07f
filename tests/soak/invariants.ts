/**
 * The promises the soak holds the provider to, checked after every command once its runs have ended, against what
 * ENS (the emulator) really holds: bindings, statuses, owner tags, leases, the journal of calls and the stop peaks.
 */
import type { InstanceView, JournalEntry } from "../../emulator";
import { LEASE_TAG, OWNER_TAG, parseLease, parseOwnerTag } from "../../provider/protocol/tags";
import type { Run } from "./system";

/**
 * What the invariants read of the system under test: the in-process SoakSystem (system.ts), or the soak through the
 * real CLI (cli-system.ts). Stacks give their secrets (and the wire's signatures) and their state, for invariant 6.
 */
export interface InvariantSystem {
  emu: { state(): { instances: InstanceView[] } };
  keyName(keyPairId: string): string | undefined;
  /** Resource ID to logical owner (legacy owner tags hold resource IDs). */
  idToOwner: Map<string, string>;
  stacks: { name: string; secret: string; token: string; proxy: { seenSecrets: Set<string> }; deadProxies: { seenSecrets: Set<string> }[]; state: Map<string, unknown> }[];
}

export interface Violation {
  invariant: string;
  message: string;
}

export type Snapshot = Map<string, InstanceView>;

export const snapshot = (sys: InvariantSystem): Snapshot => new Map(sys.emu.state().instances.map((i) => [i.instanceId, i]));

const LEGACY_ID = /^ssh-[A-Za-z0-9]+:att-[0-9a-f]{8}$/;
const BINDING = new Set(["AttachKeyPair", "DetachKeyPair"]);
const POWER = new Set(["StopInstances", "StopInstance", "StartInstances", "StartInstance"]);

/** What is remembered between commands to tell a broken promise from what a person or a crash did. */
export class Tracker {
  /** Stopped by a person (and not started by one since). */
  handStopped = new Set<string>();
  /** Key changed by a person since the owner last ran. */
  handKeyTouched = new Set<string>();
  /** Running before a crashed run, not Running after it: owner whose recovery run has not happened yet. */
  crashLeft = new Map<string, string>();
  /** Owners with a crashed run and no completed run since. */
  crashPending = new Set<string>();
  /** Each owner's last error (a completed run that failed). */
  lastFailure = new Map<string, string>();
  /** Owners that ever had a crashed run. */
  everCrashed = new Set<string>();
  /** Invariants not checked (a finding already written down, to look for others). */
  skip = new Set<string>();
}

export interface CommandFacts {
  kind: string;
  before: Snapshot;
  after: Snapshot;
  runs: Run[];
  /** Whole-command stop peaks and what was stopped when it began (concurrent commands). */
  peaks?: { stopped: number; byRegion: Record<string, number>; baseStopped: number; baseByRegion: Record<string, number> };
  /** Text the command produced besides runs (logs). */
  logs: string[];
}

export function checkCommand(sys: InvariantSystem, t: Tracker, f: CommandFacts): Violation[] {
  const v: Violation[] = [];
  const add = (invariant: string, message: string) => {
    if (!t.skip.has(invariant) && !t.skip.has(invariant.replace(/[a-z]$/, ""))) v.push({ invariant, message });
  };
  const owner = (value: string) => normalOwner(sys, value);
  const completed = f.runs.filter((r) => !r.crashed);
  const ranOwners = new Set(completed.map((r) => r.owner));
  /** Owners whose run got as far as changing ENS (create, update, delete): a recovery run after a crash. */
  const recoveryOwners = new Set(completed.filter((r) => r.op === "create" || r.op === "update" || r.op === "delete").map((r) => r.owner));
  const anyCrashPending = () => t.crashPending.size > 0 || f.runs.some((r) => r.crashed);
  const crashExcused = (o: string) => t.crashPending.has(o) || f.runs.some((r) => r.crashed && r.owner === o) || (o.startsWith("?") && anyCrashPending());

  for (const r of f.runs) if (r.hung) add("liveness", `${describeRun(sys, r)}: ${r.error}`);

  // 1. Each resource's recorded attachedInstanceIds equals what carries its key and its owner in ENS, or its last
  //    run failed naming every difference. Checked for the last completed run of each resource in this command.
  const lastRuns = new Map<string, Run>();
  for (const r of completed) lastRuns.set(`${r.stack}/${r.res}/${r.id ?? "new"}`, r);
  for (const r of lastRuns.values()) {
    if (r.hung) continue;
    // Refused in check (or diff) is no run: nothing could be recorded, the state is what the last real run left.
    if (!r.ok && (r.op === "check" || r.op === "diff")) continue;
    const keyName = sys.keyName(r.keyPairId);
    const inEns = new Set<string>();
    for (const [i, view] of f.after) {
      const tag = view.tags[OWNER_TAG];
      if (!tag || !keyName || view.keyPairName !== keyName) continue;
      const o = owner(tag);
      if (o.owner === r.owner && (o.keyPairId === undefined || o.keyPairId === r.keyPairId)) inEns.add(i);
    }
    const recorded = new Set(r.recorded ?? []);
    const differ = [...new Set([...recorded, ...inEns])].filter((i) => recorded.has(i) !== inEns.has(i));
    /** Taken over in this command by a run of another stack (takeOwnership), during or after this run. */
    const takenConcurrently = (i: string) => {
      const now = f.after.get(i)?.tags[OWNER_TAG];
      const taker = now ? owner(now).owner : undefined;
      return !!taker && taker !== r.owner && f.runs.some((o) => o.owner === taker && o.takeOwnership && o.stack !== r.stack && o.endedAt > r.startedAt);
    };
    const unexplained = differ.filter((i) => {
      if (r.error && r.error.includes(i)) return false;
      // After a crash, a run that failed as a whole has recorded nothing yet (nor had the crashed run): the next
      // successful run adopts what the crashed one bound.
      if (!r.ok && !r.partial && t.crashPending.has(r.owner)) return false;
      return !takenConcurrently(i);
    });
    const show = (i: string) => `${i}: recorded ${recorded.has(i) ? "bound" : "not bound"}, ENS ${describeInstance(sys, f.after.get(i))}`;
    // 1r: a run refused as a whole ("Nothing was changed") that keeps recording instances another owner now holds.
    const ownedByOther = (i: string) => {
      const tag = f.after.get(i)?.tags[OWNER_TAG];
      return !!tag && owner(tag).owner !== r.owner;
    };
    const refusedKeeps = !r.ok && !r.partial && /Nothing was changed/.test(r.error ?? "") ? unexplained.filter((i) => recorded.has(i) && (ownedByOther(i) || !inEns.has(i))) : [];
    // 1c: bound and claimed by a crashed run of this owner, no longer wanted, and nobody records it (F6).
    const asked = new Set<string>(r.inputs.instanceIds ?? []);
    const crashLeak = t.everCrashed.has(r.owner) ? unexplained.filter((i) => !recorded.has(i) && !asked.has(i) && !refusedKeeps.includes(i)) : [];
    if (crashLeak.length) add("1c", `${describeRun(sys, r)}: instance(s) bound and owned by ${r.owner} (left by its crashed run), not wanted, not recorded: ${crashLeak.map(show).join("; ")}`);
    const rest = unexplained.filter((i) => !refusedKeeps.includes(i) && !crashLeak.includes(i));
    if (refusedKeeps.length) add("1r", `${describeRun(sys, r)}: refused as a whole, its state still records instance(s) it lost (another owner holds them, or they are no longer bound), not named by its error: ${refusedKeeps.map(show).join("; ")}\n  error: ${clip(r.error ?? "")}`);
    if (rest.length) {
      add("1", `${describeRun(sys, r)}: recorded attachedInstanceIds differs from ENS (key + owner ${r.owner}) for ${rest.length} instance(s) not named by ${r.ok ? "a successful run" : "its error"}: ${rest.map(show).join("; ")}${r.error ? `\n  error: ${clip(r.error)}` : ""}`);
    }
    // 1y. Instances it asks for that another resource owns (bound with that owner's key) are listed as yielded.
    if (r.ok && r.outputs && (r.op === "create" || r.op === "update" || r.op === "noop" || r.op === "read")) {
      const asked: string[] = r.outputs.instanceIds ?? r.inputs.instanceIds ?? [];
      const elsewhere = asked.filter((i) => {
        const view = f.after.get(i);
        const tag = view?.tags[OWNER_TAG];
        if (!view || !tag) return false;
        const o = owner(tag);
        return o.owner !== r.owner && o.keyPairId !== undefined && sys.keyName(o.keyPairId) === view.keyPairName;
      });
      const yielded = new Set<string>(Array.isArray(r.outputs.yieldedInstanceIds) ? r.outputs.yieldedInstanceIds : []);
      const missing = elsewhere.filter((i) => !yielded.has(i) && !takenConcurrently(i));
      if (missing.length) add("1y", `${describeRun(sys, r)}: asked-for instance(s) owned by another resource are not in yieldedInstanceIds (${Array.isArray(r.outputs.yieldedInstanceIds) ? JSON.stringify(r.outputs.yieldedInstanceIds) : "output absent"}): ${missing.map((i) => `${i} (${describeInstance(sys, f.after.get(i))})`).join("; ")}`);
      const both = [...yielded].filter((i) => (r.recorded ?? []).includes(i));
      if (both.length) add("1y", `${describeRun(sys, r)}: instance(s) both attached and yielded: ${both.join(", ")}`);
    }
  }

  // 2. No instance left Stopped by the provider.
  if (f.kind !== "hand") {
    const recovered = [...t.crashLeft].filter(([, o]) => recoveryOwners.has(o)).map(([i]) => i);
    const expect = new Set([...[...f.before].filter(([, x]) => x.status === "Running").map(([i]) => i), ...recovered]);
    for (const i of expect) {
      const now = f.after.get(i);
      if (!now || now.status === "Running" || t.handStopped.has(i)) continue;
      const crashedHere = f.runs.some((r) => r.crashed);
      if (crashedHere) continue; // recorded into crashLeft below
      const left = t.crashLeft.get(i);
      if (left && !recoveryOwners.has(left)) continue;
      const who = f.runs.filter((r) => (r.inputs.instanceIds ?? []).includes(i) || (r.recorded ?? []).includes(i)).map((r) => describeRun(sys, r));
      add("2", `${i} was Running before (${recovered.includes(i) ? `left stopped by a crash of ${left}, whose run since should have started it` : "before this command"}) and is ${now.status} after it; runs touching it: ${who.join(", ") || "none"}`);
    }
    // 2b. No lease left by a run that has ended (a crashed run's lease waits for its owner's next run).
    if (!f.runs.some((r) => r.crashed)) {
      for (const [i, view] of f.after) {
        const value = view.tags[LEASE_TAG];
        if (value === undefined) continue;
        const lease = parseLease(value);
        const o = LEGACY_ID.test(lease.owner) ? normalOwner(sys, lease.owner).owner : lease.owner;
        if (crashExcused(o)) continue;
        add("2b", `${i} (${view.status}) still carries lease ${LEASE_TAG}=${value} (owner ${o}) after every run ended`);
      }
    }
  }

  // 3. At most one owner per instance, the owner's key is on it; no instance re-keyed away from its owner without
  //    takeOwnership.
  if (f.kind !== "hand") {
    for (const [i, view] of f.after) {
      const tag = view.tags[OWNER_TAG];
      if (!tag) continue;
      const o = owner(tag);
      const keyName = o.keyPairId ? sys.keyName(o.keyPairId) : undefined;
      if (!keyName || view.keyPairName === keyName) continue;
      if (crashExcused(o.owner) || t.handKeyTouched.has(i)) continue;
      const failure = [...f.runs.filter((r) => r.owner === o.owner && r.error).map((r) => r.error!), t.lastFailure.get(o.owner) ?? ""];
      if (failure.some((e) => e.includes(i))) continue;
      add("3s", `${i}: owner tag ${tag} (owner ${o.owner}) but it carries ${view.keyPairName ?? "no key pair"}, not ${keyName}`);
    }
    for (const [i, was] of f.before) {
      const tag = was.tags[OWNER_TAG];
      if (!tag) continue;
      const o1 = owner(tag);
      const key1 = o1.keyPairId ? sys.keyName(o1.keyPairId) : undefined;
      if (!key1 || was.keyPairName !== key1) continue; // not a live binding of its owner
      const now = f.after.get(i);
      if (!now) continue;
      const tag2 = now.tags[OWNER_TAG];
      const o2 = tag2 ? owner(tag2) : undefined;
      const sameOwner = o2?.owner === o1.owner;
      if (now.keyPairName === was.keyPairName && sameOwner) continue;
      if (ranOwners.has(o1.owner) || f.runs.some((r) => r.owner === o1.owner)) continue; // its own run changed it
      if (o2 && !sameOwner && f.runs.some((r) => r.owner === o2.owner && r.takeOwnership)) continue; // taken over
      if (now.keyPairName === was.keyPairName && !o2) {
        add("3", `${i}: owner tag of ${o1.owner} removed by another run while still bound (${now.keyPairName}); runs: ${f.runs.map((r) => describeRun(sys, r)).join(", ")}`);
        continue;
      }
      const by = f.runs.filter((r) => (r.inputs.instanceIds ?? []).includes(i)).map((r) => describeRun(sys, r));
      add("3", `${i}: re-keyed away from its owner ${o1.owner} (${was.keyPairName} -> ${now.keyPairName ?? "none"}, owner tag ${tag} -> ${tag2 ?? "none"}) without takeOwnership; runs asking for it: ${by.join(", ") || "none"}`);
    }
  }

  // 4. Each instance stopped at most once per run; the stop bounds never exceeded.
  for (const r of f.runs) {
    const counts = stopCounts(r.journal);
    const twice = [...counts].filter(([, n]) => n > 1);
    if (twice.length) add("4", `${describeRun(sys, r)} stopped instance(s) more than once: ${twice.map(([i, n]) => `${i} x${n}`).join(", ")}`);
    if (r.peak) {
      const p = r.peak;
      if (!r.stops && p.stopped > p.baseStopped) add("4", `${describeRun(sys, r)} has stopInstances false but ${p.stopped - p.baseStopped} instance(s) were stopped during it`);
      if (r.stops && p.stopped > p.baseStopped + r.maxStopped) add("4", `${describeRun(sys, r)}: ${p.stopped} stopped at once (${p.baseStopped} already stopped when it began), maxStoppedInstances ${r.maxStopped}`);
      if (r.stops && r.perRegion !== undefined) {
        for (const [region, n] of Object.entries(p.byRegion)) {
          const base = p.baseByRegion[region] ?? 0;
          if (n > base + r.perRegion) add("4", `${describeRun(sys, r)}: ${n} stopped at once in ${region} (${base} already), maxStoppedPerRegion ${r.perRegion}`);
        }
      }
    }
  }
  if (f.peaks) {
    const stopping = f.runs.filter((r) => r.stops && (r.op === "create" || r.op === "update" || r.op === "delete"));
    const p = f.peaks;
    if (stopping.length) {
      // The protocol's rule (README, Ownership): each run counts every run's instances against its own bounds, and keeps
      // another run's bounds while that run holds instances down. The emulator's peak cannot say whose instances were
      // down at the peak, so what is checked is that overlapping runs never add up: at most the largest bound.
      const bound = Math.max(...stopping.map((r) => r.maxStopped));
      if (p.stopped > p.baseStopped + bound) add("4c", `concurrent runs ${stopping.map((r) => describeRun(sys, r)).join(" and ")}: ${p.stopped} stopped at once (${p.baseStopped} already), the largest maxStoppedInstances is ${bound}`);
      const per = stopping.map((r) => r.perRegion ?? Infinity);
      if (per.some((x) => x !== Infinity)) {
        const b = Math.max(...per);
        for (const [region, n] of Object.entries(p.byRegion)) {
          const base = p.baseByRegion[region] ?? 0;
          if (n > base + b) add("4c", `concurrent runs ${stopping.map((r) => describeRun(sys, r)).join(" and ")}: ${n} stopped at once in ${region} (${base} already), the largest maxStoppedPerRegion is ${b}`);
        }
      }
    }
  }

  // 5. A second up with no change makes no binding or power call.
  for (const r of f.runs.filter((x) => x.repeat)) {
    const calls = r.journal.filter((j) => BINDING.has(j.action) || POWER.has(j.action));
    if (calls.length) add("5", `${describeRun(sys, r)} (second up, nothing changed) made ${calls.length} binding/power call(s): ${calls.map((j) => `${j.action}(${listed(j.params).join(",")})`).join(", ")}`);
  }

  // 6. No secret in any output, error, log line or state.
  const secrets = new Set<string>();
  for (const s of sys.stacks) {
    secrets.add(s.secret);
    secrets.add(s.token);
    for (const p of [s.proxy, ...s.deadProxies]) for (const x of p.seenSecrets) secrets.add(x);
  }
  const hay: [string, string][] = [
    ["ENS state (tags)", JSON.stringify([...f.after.values()])],
    ["logs", f.logs.join("\n")],
    ...f.runs.map((r) => [`${describeRun(sys, r)} outputs/error`, `${JSON.stringify(r.outputs ?? {})}\n${r.error ?? ""}`] as [string, string]),
    ...sys.stacks.map((s) => [`${s.name} state`, JSON.stringify([...s.state])] as [string, string]),
  ];
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    for (const [where, text] of hay) if (text.includes(secret)) add("6", `a secret (${secret.slice(0, 4)}...) appears in ${where}`);
  }

  // Bookkeeping for the next commands.
  for (const r of f.runs.filter((x) => x.crashed)) {
    t.crashPending.add(r.owner);
    t.everCrashed.add(r.owner);
    for (const [i, was] of f.before) if (was.status === "Running" && f.after.get(i) && f.after.get(i)!.status !== "Running" && !t.crashLeft.has(i)) t.crashLeft.set(i, r.owner);
  }
  for (const r of completed) {
    if (recoveryOwners.has(r.owner)) for (const [i, o] of [...t.crashLeft]) if (o === r.owner) t.crashLeft.delete(i);
    if ((r.ok || r.partial) && (r.op === "create" || r.op === "update" || r.op === "delete")) t.crashPending.delete(r.owner);
    if (r.op !== "check" && r.op !== "diff") {
      if (r.error) t.lastFailure.set(r.owner, r.error);
      else t.lastFailure.delete(r.owner);
    }
    // A person's change is excused until a run that went through (not one refused before any change) looked at it.
    if (r.ok || r.partial) for (const i of [...(r.inputs.instanceIds ?? []), ...(r.recorded ?? [])]) t.handKeyTouched.delete(i);
  }
  for (const [i, view] of f.after) if (view.status === "Running") t.handStopped.delete(i);
  return v;
}

/** Stop calls per instance that reached ENS; a call after a lost answer for the same instance is the same stop. */
export function stopCounts(journal: JournalEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  const lost = new Set<string>();
  for (const j of journal) {
    if (j.action !== "StopInstances" && j.action !== "StopInstance") continue;
    if (!(j.httpStatus === 200 || j.code === "AnswerLost")) continue;
    for (const i of listed(j.params)) {
      if (lost.has(i)) {
        lost.delete(i);
        if (j.code === "AnswerLost") lost.add(i);
        continue;
      }
      counts.set(i, (counts.get(i) ?? 0) + 1);
      if (j.code === "AnswerLost") lost.add(i);
    }
  }
  return counts;
}

/** Instance IDs a journaled call names: InstanceIds (JSON or comma list), InstanceIds.N, InstanceId, ResourceId.N. */
export function listed(params: Record<string, string>): string[] {
  if (params.InstanceIds?.startsWith("[")) return JSON.parse(params.InstanceIds);
  if (params.InstanceIds) return params.InstanceIds.split(",");
  if (params.InstanceId) return [params.InstanceId];
  return Object.entries(params)
    .filter(([k]) => /^(InstanceIds|ResourceId)\.\d+$/.test(k))
    .map(([, v]) => v);
}

function normalOwner(sys: InvariantSystem, value: string): { keyPairId?: string; owner: string } {
  const c = parseOwnerTag(value);
  if (LEGACY_ID.test(c.owner)) return { keyPairId: c.keyPairId, owner: sys.idToOwner.get(c.owner) ?? `?${c.owner}` };
  return c;
}

export function describeRun(sys: InvariantSystem, r: Run): string {
  const key = sys.keyName(r.keyPairId) ?? r.keyPairId;
  return `#${r.seq} ${r.op}${r.crashed ? " (crashed)" : ""}${r.repeat ? " (repeat)" : ""} of ${r.owner} [${key}${r.takeOwnership ? ", takeOwnership" : ""}${r.stops ? `, stop max ${r.maxStopped}${r.perRegion !== undefined ? `/${r.perRegion} per region` : ""}` : ""}]${r.ok ? "" : r.partial ? " partial failure" : " failed"}`;
}

function describeInstance(sys: InvariantSystem, v: InstanceView | undefined): string {
  if (!v) return "gone";
  const tag = v.tags[OWNER_TAG];
  return `${v.status}, key ${v.keyPairName ?? "none"}, owner ${tag ? `${tag}${LEGACY_ID.test(parseOwnerTag(tag).owner) ? ` (= ${sys.idToOwner.get(parseOwnerTag(tag).owner) ?? "unknown resource"})` : ""}` : "none"}`;
}

const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}...` : s);

/**
 * The soak's commands (fast-check model-based testing): each with its own generator, a `check` against the model
 * (what each stack's program says) and a `run` that drives the real system, then checks every invariant.
 */
import fc from "fast-check";
import type { Faults } from "../../emulator";
import { checkCommand, snapshot, Tracker, Violation } from "./invariants";
import type { Args, SoakSystem } from "./system";

export const RESOURCES = ["web", "db"];
export const KINDS = ["up", "rotate", "takeover", "destroy", "refresh", "crash", "hand", "fault", "concurrent"] as const;
export type Kind = (typeof KINDS)[number];

/** What the programs say; small on purpose. */
export interface Model {
  poolSize: number;
  stackCount: number;
  keyCount: number;
  programs: Map<string, Args>[];
  /** Pool indexes released by a person. */
  removed: Set<number>;
  /** Key pairs deleted by a person. */
  deletedKeys: Set<number>;
}

/** The real side: the system, what the invariants remember, and counts for the closing line. */
export interface Real {
  sys: SoakSystem;
  tracker: Tracker;
  counts: Record<Kind, number> & { steps: number };
  /** Every step's one-line story, for a failure report. */
  story: string[];
  verbose?: (line: string) => void;
}

export class InvariantBroken extends Error {
  constructor(readonly violations: Violation[], readonly story: string[]) {
    super(`invariant(s) ${[...new Set(violations.map((v) => v.invariant))].join(", ")} broken:\n${violations.map((v) => `  [${v.invariant}] ${v.message}`).join("\n")}`);
  }
}

// ------------------------------------------------------------------------------------------ generators

export interface UpSpec {
  stack: number;
  res: number;
  instances: number[];
  stopInstances: boolean;
  maxStopped: number;
  perRegion?: number;
  key: number;
  /** May name instances another stack's program names (else those are left out): most ups stay in their lane. */
  overlap: boolean;
}

const upSpec = (stopBias = 8): fc.Arbitrary<UpSpec> =>
  fc.record(
    {
      stack: fc.nat(2),
      res: fc.nat(1),
      instances: fc.uniqueArray(fc.nat(29), { minLength: 1, maxLength: 8 }),
      stopInstances: fc.oneof({ arbitrary: fc.constant(true), weight: stopBias }, { arbitrary: fc.constant(false), weight: 1 }),
      maxStopped: fc.integer({ min: 1, max: 6 }),
      perRegion: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 2 }),
      key: fc.nat(2),
      overlap: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
    },
    { requiredKeys: ["stack", "res", "instances", "stopInstances", "maxStopped", "key", "overlap"] },
  );

const show = (u: UpSpec) => `s${u.stack}/${RESOURCES[u.res]} [${u.instances.join(",")}]${u.overlap ? " overlap" : ""} key${u.key}${u.stopInstances ? ` stop<=${u.maxStopped}${u.perRegion ? `/${u.perRegion}` : ""}` : " nostop"}`;

// ------------------------------------------------------------------------------------------ model helpers

const liveKey = (m: Model, k: number): number | undefined => {
  for (let d = 0; d < m.keyCount; d++) {
    const c = (k + d) % m.keyCount;
    if (!m.deletedKeys.has(c)) return c;
  }
  return undefined;
};

/** A program's new args for one resource: instances in the pool, not released, not used by a sibling resource. */
function resolveUp(m: Model, u: UpSpec, extra: Partial<Args> = {}): { stack: number; res: string; args: Args } | undefined {
  const stack = u.stack % m.stackCount;
  const res = RESOURCES[u.res % RESOURCES.length];
  const prog = m.programs[stack];
  const existing = prog.get(res);
  const key = existing ? existing.key : liveKey(m, u.key % m.keyCount);
  if (key === undefined) return undefined;
  const siblings = new Set([...prog].filter(([n]) => n !== res).flatMap(([, a]) => a.instances));
  const elsewhere = new Set(u.overlap || extra.takeOwnership ? [] : m.programs.filter((_, i) => i !== stack).flatMap((p) => [...p.values()].flatMap((a) => a.instances)));
  const usable = (i: number) => !siblings.has(i) && !m.removed.has(i) && !elsewhere.has(i);
  let instances = [...new Set([...(extra.instances ?? []), ...u.instances.map((i) => i % m.poolSize)])].filter(usable);
  if (!instances.length) {
    const free = Array.from({ length: m.poolSize }, (_, i) => i).find(usable);
    if (free === undefined) return undefined;
    instances = [free];
  }
  const { instances: _ignored, ...rest } = extra;
  return { stack, res, args: { key, instances, stopInstances: u.stopInstances, maxStopped: u.maxStopped, ...(u.perRegion !== undefined ? { perRegion: u.perRegion } : {}), ...rest } };
}

function apply(m: Model, r: Real, stack: number, res: string, args: Args | undefined): void {
  if (args) m.programs[stack].set(res, args);
  else m.programs[stack].delete(res);
  const prog = r.sys.stacks[stack].program;
  prog.clear();
  for (const [k, v] of m.programs[stack]) prog.set(k, { ...v, instances: [...v.instances] });
}

/** Runs one command's body between two looks at ENS, then checks every invariant. */
async function step(r: Real, kind: Kind, label: string, body: () => Promise<void>, opts: { concurrent?: boolean } = {}): Promise<void> {
  const { sys } = r;
  r.counts[kind]++;
  r.counts.steps++;
  const before = snapshot(sys);
  const t0 = Date.now();
  sys.beginCommand(!opts.concurrent);
  const base = sys.emu.stats();
  try {
    await body();
  } finally {
    sys.endCommand();
  }
  const st = sys.emu.stats();
  const after = snapshot(sys);
  const runs = sys.runs;
  const leftDown = kind === "crash" ? [...before].filter(([i, v]) => v.status === "Running" && after.get(i) && after.get(i)!.status !== "Running").length : 0;
  r.story.push(`${label}${leftDown ? ` [left ${leftDown} not Running]` : ""}: ${runs.map((x) => `#${x.seq} ${x.owner} ${x.op}${x.crashed ? "(crashed)" : ""}${x.repeat ? "(repeat)" : ""} ${x.ok ? "ok" : x.partial ? "partial" : "failed"}${x.error ? ` (${x.error.split("\n")[0].slice(0, 140)})` : ""}`).join("; ") || "no run"}`);
  const violations = checkCommand(sys, r.tracker, {
    kind,
    before,
    after,
    runs,
    peaks: opts.concurrent ? { stopped: st.peakStopped, byRegion: st.peakStoppedByRegion, baseStopped: base.peakStopped, baseByRegion: base.peakStoppedByRegion } : undefined,
    logs: sys.stacks.flatMap((s) => s.logs),
  });
  sys.emu.reset();
  r.verbose?.(`  ${r.story.length - 1}. [${Date.now() - t0} ms] ${r.story[r.story.length - 1]}`);
  if (violations.length) throw new InvariantBroken(violations, r.story);
}

type Cmd = fc.AsyncCommand<Model, Real>;

// ------------------------------------------------------------------------------------------ commands

class UpCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly again: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const t = resolveUp(m, this.u);
    if (!t) return;
    apply(m, r, t.stack, t.res, t.args);
    const s = r.sys.stacks[t.stack];
    await step(r, "up", this.toString(), async () => {
      const runs = await r.sys.up(s);
      if (this.again && runs.length && runs.every((x) => x.ok && !x.crashed)) await r.sys.up(s, { repeat: true });
    });
  }
  toString() {
    return `up(${show(this.u)}${this.again ? ", again" : ""})`;
  }
}

/** The n-th resource of all programs (so that rotate and destroy always find one when any exists). */
function nthResource(m: Readonly<Model>, n: number): { stack: number; res: string } | undefined {
  const all = m.programs.flatMap((p, stack) => [...p.keys()].map((res) => ({ stack, res })));
  return all.length ? all[n % all.length] : undefined;
}

class RotateCommand implements Cmd {
  constructor(readonly pick: number, readonly key: number) {}
  check = (m: Readonly<Model>) => nthResource(m, this.pick) !== undefined;
  async run(m: Model, r: Real) {
    const { stack, res } = nthResource(m, this.pick)!;
    const a = m.programs[stack].get(res)!;
    const others = Array.from({ length: m.keyCount }, (_, k) => k).filter((k) => k !== a.key && !m.deletedKeys.has(k));
    if (!others.length) return;
    apply(m, r, stack, res, { ...a, key: others[this.key % others.length], takeOwnership: undefined });
    await step(r, "rotate", `${this.toString()} -> s${stack}/${res}`, async () => void (await r.sys.up(r.sys.stacks[stack])));
  }
  toString() {
    return `rotate(resource ${this.pick}, key+${this.key})`;
  }
}

class TakeoverCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly from: number, readonly count: number, readonly keep: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const stack = this.u.stack % m.stackCount;
    const other = (stack + 1 + (this.from % (m.stackCount - 1))) % m.stackCount;
    const theirs = [...m.programs[other].values()].flatMap((a) => a.instances);
    const victims = theirs.slice(0, this.count);
    const own = this.keep ? m.programs[stack].get(RESOURCES[this.u.res % RESOURCES.length])?.instances ?? [] : [];
    const t = resolveUp(m, { ...this.u, instances: victims.length ? [] : this.u.instances }, { instances: [...victims, ...own], takeOwnership: true });
    if (!t) return;
    apply(m, r, t.stack, t.res, t.args);
    await step(r, "takeover", `${this.toString()} -> [${t.args.instances.join(",")}] from s${other}`, async () => void (await r.sys.up(r.sys.stacks[t.stack])));
  }
  toString() {
    return `takeover(${show(this.u)}, from+${this.from}, ${this.count}${this.keep ? ", keep own" : ""})`;
  }
}

class DestroyCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => nthResource(m, this.pick) !== undefined;
  async run(m: Model, r: Real) {
    const { stack, res } = nthResource(m, this.pick)!;
    apply(m, r, stack, res, undefined);
    await step(r, "destroy", `${this.toString()} -> s${stack}/${res}`, async () => void (await r.sys.up(r.sys.stacks[stack])));
  }
  toString() {
    return `destroy(resource ${this.pick})`;
  }
}

class RefreshCommand implements Cmd {
  constructor(readonly stack: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const stack = this.stack % m.stackCount;
    await step(r, "refresh", this.toString(), () => r.sys.refresh(r.sys.stacks[stack]));
  }
  toString() {
    return `refresh(s${this.stack})`;
  }
}

class CrashCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly k: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const t = resolveUp(m, this.u);
    if (!t) return;
    apply(m, r, t.stack, t.res, t.args);
    await step(r, "crash", this.toString(), async () => void (await r.sys.up(r.sys.stacks[t.stack], { crashAfter: this.k })));
  }
  toString() {
    return `crash(${show(this.u)}, after ${this.k} calls)`;
  }
}

export type HandKind = "rekey" | "detach" | "stop" | "start" | "remove" | "deleteKey" | "tags";

class HandCommand implements Cmd {
  constructor(readonly kind: HandKind, readonly instances: number[], readonly key: number, readonly slack: number) {}
  check = (m: Readonly<Model>) => (this.kind === "deleteKey" ? m.deletedKeys.size + 1 < m.keyCount : true);
  async run(m: Model, r: Real) {
    const { sys, tracker } = r;
    const ids = [...new Set(this.instances.map((i) => i % m.poolSize))].filter((i) => !m.removed.has(i));
    const what: string[] = [];
    await step(r, "hand", this.toString(), async () => {
      const view = new Map(sys.emu.state().instances.map((i) => [i.instanceId, i]));
      for (const i of ids) {
        const id = sys.pool[i];
        const v = view.get(id);
        if (!v) continue;
        switch (this.kind) {
          case "rekey": {
            const k = sys.keys[this.key % sys.keys.length];
            sys.emu.world.setInstanceKey(id, k.keyPairName);
            tracker.handKeyTouched.add(id);
            what.push(`${id} key ${k.keyPairName}`);
            break;
          }
          case "detach":
            sys.emu.world.setInstanceKey(id, undefined);
            tracker.handKeyTouched.add(id);
            what.push(`${id} detached`);
            break;
          case "stop":
            if (v.status === "Running") {
              sys.emu.world.setInstanceStatus(id, "Stopped");
              tracker.handStopped.add(id);
              what.push(`${id} stopped`);
            }
            break;
          case "start":
            if (v.status !== "Running") {
              sys.emu.world.setInstanceStatus(id, "Running");
              tracker.handStopped.delete(id);
              what.push(`${id} started`);
            }
            break;
          case "remove":
            sys.emu.world.removeInstance(id);
            m.removed.add(i);
            for (const [s, prog] of m.programs.entries()) {
              for (const [res, a] of [...prog]) {
                if (!a.instances.includes(i)) continue;
                const left = a.instances.filter((x) => x !== i);
                apply(m, r, s, res, left.length ? { ...a, instances: left } : undefined);
              }
            }
            what.push(`${id} released`);
            break;
          case "tags": {
            const room = 20 - Object.keys(v.tags).length - this.slack;
            if (room > 0) sys.emu.world.setInstanceTags(id, Object.fromEntries(Array.from({ length: room }, (_, n) => [`team:${n}`, "by-hand"])));
            what.push(`${id} +${Math.max(0, room)} tags`);
            break;
          }
          case "deleteKey":
            break;
        }
        if (this.kind === "remove") break; // one at a time: releases are rare
      }
      if (this.kind === "deleteKey") {
        const k = liveKey(m, this.key % m.keyCount);
        if (k !== undefined && m.deletedKeys.size + 1 < m.keyCount) {
          sys.emu.world.deleteKeyPair(sys.keys[k].keyPairId);
          m.deletedKeys.add(k);
          what.push(`key pair ${sys.keys[k].keyPairName} deleted`);
        }
      }
    });
    r.story[r.story.length - 1] += ` [${what.join(", ") || "nothing"}]`;
  }
  toString() {
    return `hand(${this.kind}, [${this.instances.join(",")}]${this.kind === "rekey" || this.kind === "deleteKey" ? `, key${this.key}` : ""}${this.kind === "tags" ? `, leave ${this.slack}` : ""})`;
  }
}

export type FaultKind = "throttle" | "5xx" | "lostAnswer" | "drop" | "missingOnce" | "instanceFailure" | "slow" | "wholeCallPower";

class FaultCommand implements Cmd {
  constructor(readonly kind: FaultKind, readonly rate: number, readonly u: UpSpec, readonly pick: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const t = resolveUp(m, this.u);
    if (!t) return;
    apply(m, r, t.stack, t.res, t.args);
    const { sys } = r;
    const s = sys.stacks[t.stack];
    const target = sys.pool[t.args.instances[this.pick % t.args.instances.length]];
    await step(r, "fault", this.toString(), async () => {
      const f: Faults = {};
      if (this.kind === "throttle") f.throttleRate = this.rate;
      if (this.kind === "5xx") f.errorRate = this.rate;
      if (this.kind === "lostAnswer") f.lostAnswerRate = this.rate;
      if (this.kind === "drop") f.dropRate = this.rate;
      if (this.kind === "slow") f.latencyMs = Math.round(this.rate * 200);
      if (this.kind === "wholeCallPower") f.wholeCallPowerFailure = true;
      if (this.kind === "instanceFailure") f.instanceFailures = { [target]: { code: "NoPermission", message: "soak: injected per-instance failure" } };
      if (this.kind === "missingOnce") s.proxy.omitOnce(target);
      sys.emu.setFaults(f);
      try {
        await sys.up(s);
      } finally {
        s.proxy.clearOmit();
      }
    });
  }
  toString() {
    return `fault(${this.kind}${["throttle", "5xx", "lostAnswer", "drop", "slow"].includes(this.kind) ? ` ${this.rate}` : ""}, ${show(this.u)}, pick ${this.pick})`;
  }
}

class ConcurrentCommand implements Cmd {
  constructor(readonly a: UpSpec, readonly b: UpSpec, readonly takeover: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const ta = resolveUp(m, this.a);
    if (!ta) return;
    apply(m, r, ta.stack, ta.res, ta.args);
    const bStack = (this.b.stack % m.stackCount) === ta.stack ? (ta.stack + 1) % m.stackCount : this.b.stack % m.stackCount;
    // The second one may reach for the first one's instances at the same time.
    const reach = this.takeover ? ta.args.instances.slice(0, 2) : [];
    const tb = resolveUp(m, { ...this.b, stack: bStack }, { instances: reach, ...(this.takeover ? { takeOwnership: true } : {}) });
    if (!tb) return;
    apply(m, r, tb.stack, tb.res, tb.args);
    await step(
      r,
      "concurrent",
      `${this.toString()} -> s${ta.stack}/${ta.res} [${ta.args.instances.join(",")}] || s${tb.stack}/${tb.res} [${tb.args.instances.join(",")}]`,
      async () => void (await Promise.all([r.sys.up(r.sys.stacks[ta.stack]), r.sys.up(r.sys.stacks[tb.stack])])),
      { concurrent: true },
    );
  }
  toString() {
    return `concurrent(${show(this.a)} || ${show(this.b)}${this.takeover ? ", takeover" : ""})`;
  }
}

// ------------------------------------------------------------------------------------------ the arbitraries

export function commandArbitraries(kinds: readonly Kind[]): fc.Arbitrary<Cmd>[] {
  const all: Record<Kind, [number, fc.Arbitrary<Cmd>]> = {
    up: [4, fc.tuple(upSpec(), fc.boolean()).map(([u, again]) => new UpCommand(u, again))],
    rotate: [1, fc.tuple(fc.nat(5), fc.nat(2)).map(([n, k]) => new RotateCommand(n, k))],
    takeover: [1, fc.tuple(upSpec(), fc.nat(1), fc.integer({ min: 1, max: 4 }), fc.boolean()).map(([u, from, n, keep]) => new TakeoverCommand(u, from, n, keep))],
    destroy: [1, fc.nat(5).map((n) => new DestroyCommand(n))],
    refresh: [1, fc.nat(2).map((s) => new RefreshCommand(s))],
    crash: [1, fc.tuple(upSpec(16), fc.integer({ min: 1, max: 40 })).map(([u, k]) => new CrashCommand(u, k))],
    hand: [
      2,
      fc
        .tuple(
          fc.constantFrom<HandKind>("rekey", "detach", "stop", "start", "tags", "rekey", "detach", "stop", "start", "tags", "remove", "deleteKey"),
          fc.uniqueArray(fc.nat(29), { minLength: 1, maxLength: 3 }),
          fc.nat(2),
          fc.nat(2),
        )
        .map(([k, ids, key, slack]) => new HandCommand(k, ids, key, slack)),
    ],
    fault: [
      2,
      fc
        .tuple(
          fc.constantFrom<FaultKind>("throttle", "5xx", "lostAnswer", "drop", "missingOnce", "instanceFailure", "slow", "wholeCallPower"),
          fc.double({ min: 0.05, max: 0.2, noNaN: true }).map((x) => Math.round(x * 100) / 100),
          upSpec(),
          fc.nat(7),
        )
        .map(([k, rate, u, pick]) => new FaultCommand(k, rate, u, pick)),
    ],
    concurrent: [1, fc.tuple(upSpec(), upSpec(), fc.boolean()).map(([a, b, t]) => new ConcurrentCommand(a, b, t))],
  };
  const out: fc.Arbitrary<Cmd>[] = [];
  for (const k of kinds) for (let w = 0; w < all[k][0]; w++) out.push(all[k][1]);
  return out;
}

/**
 * The soak through the real CLI (issue 17): fast-check model-based histories (`fc.commands` + `fc.asyncModelRun`) of
 * two stacks over one emulator (cli-system.ts), every invariant of invariants.ts checked after every command, plus
 * what only the CLI shows: `pulumi preview --expect-no-changes` after an unchanged up (5) and the secret in other
 * encodings in CLI output, state and backend files (6). Run by tests/reliability/slow/soak-cli.slow.ts.
 */
import fc from "fast-check";
import { LEASE_TAG, OWNER_TAG, parseLease, parseOwnerTag } from "../../provider/protocol/tags";
import { checkCommand, snapshot, Tracker, Violation } from "./invariants";
import { InvariantBroken } from "./commands";
import { CliArgs, CliSoakSystem, CliStack, CliWorld, POOL_SIZE, stackFiles } from "./cli-system";

export const CLI_KINDS = ["up", "rotate", "takeover", "destroy", "refresh", "crash", "hand", "concurrent"] as const;
export type CliKind = (typeof CLI_KINDS)[number];

/** What the two programs say (undefined: not written, or destroyed). */
export interface CliModel {
  keyCount: number;
  programs: (CliArgs | undefined)[];
}

export interface CliReal {
  sys: CliSoakSystem;
  tracker: Tracker;
  counts: Record<CliKind, number> & { steps: number };
  story: string[];
  log: (line: string) => void;
}

// ------------------------------------------------------------------------------------------ generators

interface UpSpec {
  stack: number;
  instances: number[];
  stopInstances: boolean;
  maxStopped: number;
  key: number;
  /** May name instances the other stack's program names (else those are left out). */
  overlap: boolean;
}

const upSpec = (): fc.Arbitrary<UpSpec> =>
  fc.record({
    stack: fc.nat(1),
    instances: fc.uniqueArray(fc.nat(POOL_SIZE - 1), { minLength: 1, maxLength: 6 }),
    // stopInstances false is refused for Running instances (before any change): kept rarer, as overlaps (refused
    // without takeOwnership while the other stack holds them).
    stopInstances: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    maxStopped: fc.integer({ min: 1, max: 4 }),
    key: fc.nat(2),
    overlap: fc.oneof({ arbitrary: fc.constant(false), weight: 2 }, { arbitrary: fc.constant(true), weight: 1 }),
  });

const show = (u: UpSpec) => `s${u.stack} [${u.instances.join(",")}]${u.overlap ? " overlap" : ""} key${u.key}${u.stopInstances ? ` stop<=${u.maxStopped}` : " nostop"}`;
const showArgs = (a: CliArgs) => `[${a.instances.join(",")}] key${a.key}${a.stopInstances ? ` stop<=${a.maxStopped}` : " nostop"}${a.takeOwnership ? " takeOwnership" : ""}`;

/** A program's new args: the key it has (a rotation changes it), its instances, the other stack's left out unless overlapping. */
function resolveUp(m: CliModel, u: UpSpec, extra: Partial<CliArgs> = {}): { stack: number; args: CliArgs } {
  const stack = u.stack % 2;
  const existing = m.programs[stack];
  const key = existing ? existing.key : u.key % m.keyCount;
  const theirs = new Set(u.overlap || extra.takeOwnership ? [] : m.programs[1 - stack]?.instances ?? []);
  let instances = [...new Set([...(extra.instances ?? []), ...u.instances.map((i) => i % POOL_SIZE)])].filter((i) => !theirs.has(i));
  if (!instances.length) instances = [Array.from({ length: POOL_SIZE }, (_, i) => i).find((i) => !theirs.has(i)) ?? 0];
  const { instances: _ignored, ...rest } = extra;
  return { stack, args: { key, instances, stopInstances: u.stopInstances, maxStopped: u.maxStopped, ...rest } };
}

function apply(m: CliModel, r: CliReal, stack: number, args: CliArgs | undefined): CliStack {
  m.programs[stack] = args ? { ...args, instances: [...args.instances] } : undefined;
  const s = r.sys.stacks[stack];
  if (args) r.sys.writeProgram(s, args);
  else s.program = undefined;
  return s;
}

/** The stack `pick` names if its program exists, else the other one (rotate, destroy). */
const withProgram = (m: Readonly<CliModel>, pick: number): number | undefined => [pick % 2, 1 - (pick % 2)].find((s) => m.programs[s] !== undefined);

/** The secret as it could leak: plain, base64 (of itself), hex. */
function secretForms(secret: string): [string, string][] {
  return [
    ["plain", secret],
    ["base64", Buffer.from(secret).toString("base64").replace(/=+$/, "")],
    ["hex", Buffer.from(secret).toString("hex")],
  ];
}

/** Runs one command's body between two looks at ENS, then checks every invariant. */
async function step(r: CliReal, kind: CliKind, label: string | (() => string), body: () => Promise<Violation[] | void>, opts: { concurrent?: boolean } = {}): Promise<void> {
  const { sys } = r;
  r.counts[kind]++;
  r.counts.steps++;
  const before = snapshot(sys);
  const t0 = Date.now();
  sys.beginCommand(!opts.concurrent);
  const base = sys.emu.stats();
  let extra: Violation[] = [];
  try {
    extra = (await body()) ?? [];
  } finally {
    sys.endCommand();
  }
  const st = sys.emu.stats();
  const after = snapshot(sys);
  const runs = sys.runs;
  const leftDown = kind === "crash" ? [...before].filter(([i, v]) => v.status === "Running" && after.get(i) && after.get(i)!.status !== "Running").length : 0;
  r.story.push(
    `${typeof label === "string" ? label : label()}${leftDown ? ` [left ${leftDown} not Running]` : ""}: ${
      runs.map((x) => `#${x.seq} ${x.owner} ${x.op}${x.crashed ? "(crashed)" : ""}${x.repeat ? "(repeat)" : ""} ${x.ok ? "ok" : x.partial ? "partial" : "failed"}${x.error ? ` (${x.error.split("\n")[0].trim().slice(0, 200)})` : ""}`).join("; ") || "no run"
    }`,
  );
  const files = sys.stacks.map((s) => stackFiles(s));
  const violations = checkCommand(sys, r.tracker, {
    kind,
    before,
    after,
    runs,
    peaks: opts.concurrent ? { stopped: st.peakStopped, byRegion: st.peakStoppedByRegion, baseStopped: base.peakStopped, baseByRegion: base.peakStoppedByRegion } : undefined,
    logs: [...sys.logs, ...files],
  });
  // 6, in the encodings the reliability suite looks for too, in every CLI output and every file of both stacks.
  const hay: [string, string][] = [["CLI output", sys.logs.join("\n")], ...sys.stacks.map((s, i) => [`${s.name} backend, PULUMI_HOME and program`, files[i]] as [string, string])];
  for (const s of sys.stacks) {
    for (const [form, needle] of secretForms(s.secret).slice(1)) {
      for (const [where, text] of hay) if (text.includes(needle)) violations.push({ invariant: "6", message: `the access key secret of ${s.name} (${form}) appears in ${where}` });
    }
  }
  violations.push(...extra.filter((v) => !r.tracker.skip.has(v.invariant)));
  sys.emu.reset();
  r.log(`  ${r.story.length - 1}. [${((Date.now() - t0) / 1000).toFixed(1)} s] ${r.story[r.story.length - 1]}`);
  if (violations.length) throw new InvariantBroken(violations, r.story);
}

type Cmd = fc.AsyncCommand<CliModel, CliReal>;

// ------------------------------------------------------------------------------------------ commands

class UpCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly again: boolean) {}
  check = () => true;
  async run(m: CliModel, r: CliReal) {
    const t = resolveUp(m, this.u);
    const s = apply(m, r, t.stack, t.args);
    await step(r, "up", `${this.toString()} -> ${s.name} ${showArgs(t.args)}`, async () => {
      const { runs, result } = await r.sys.command(s, "up");
      if (!this.again || result.code !== 0 || !runs.every((x) => x.ok)) return;
      // 5: nothing changed since: the preview says so, and a second up makes no binding or power call.
      const v: Violation[] = [];
      const p = await r.sys.cli(s, ["preview", "--expect-no-changes"]);
      if (p.code !== 0) v.push({ invariant: "5", message: `${s.name}: pulumi preview --expect-no-changes right after a successful up exited ${p.code}:\n  ${(p.stdout + p.stderr).trim().split("\n").slice(-25).join("\n  ")}` });
      await r.sys.command(s, "up", { repeat: true });
      return v;
    });
  }
  toString() {
    return `up(${show(this.u)}${this.again ? ", again" : ""})`;
  }
}

class RotateCommand implements Cmd {
  constructor(readonly pick: number, readonly key: number) {}
  check = (m: Readonly<CliModel>) => withProgram(m, this.pick) !== undefined;
  async run(m: CliModel, r: CliReal) {
    const stack = withProgram(m, this.pick)!;
    const a = m.programs[stack]!;
    const others = Array.from({ length: m.keyCount }, (_, k) => k).filter((k) => k !== a.key);
    const s = apply(m, r, stack, { ...a, key: others[this.key % others.length], takeOwnership: undefined });
    await step(r, "rotate", `${this.toString()} -> ${s.name} ${showArgs(s.program!)}`, async () => void (await r.sys.command(s, "up")));
  }
  toString() {
    return `rotate(s${this.pick}, key+${this.key})`;
  }
}

class TakeoverCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly count: number, readonly keep: boolean) {}
  check = () => true;
  async run(m: CliModel, r: CliReal) {
    const stack = this.u.stack % 2;
    const victims = (m.programs[1 - stack]?.instances ?? []).slice(0, this.count);
    const own = this.keep ? m.programs[stack]?.instances ?? [] : [];
    const t = resolveUp(m, { ...this.u, instances: victims.length ? [] : this.u.instances }, { instances: [...victims, ...own], takeOwnership: true });
    const s = apply(m, r, t.stack, t.args);
    await step(r, "takeover", `${this.toString()} -> ${s.name} ${showArgs(t.args)}`, async () => void (await r.sys.command(s, "up")));
  }
  toString() {
    return `takeover(${show(this.u)}, ${this.count} of the other's${this.keep ? ", keep own" : ""})`;
  }
}

class DestroyCommand implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<CliModel>) => withProgram(m, this.pick) !== undefined;
  async run(m: CliModel, r: CliReal) {
    const stack = withProgram(m, this.pick)!;
    const s = apply(m, r, stack, undefined);
    await step(r, "destroy", `${this.toString()} -> ${s.name}`, async () => {
      const { result } = await r.sys.command(s, "destroy");
      if (result.code !== 0 || s.exported.live) return;
      // `pulumi destroy` said all was deleted: the stack's state holds nothing, so (1) nothing may carry its key under
      // its owner tag, and (2) nothing may stay Stopped under its leases (a killed run's too: no later run of it comes).
      const v: Violation[] = [];
      for (const i of r.sys.emu.state().instances) {
        const claim = i.tags[OWNER_TAG] ? parseOwnerTag(i.tags[OWNER_TAG]) : undefined;
        if (claim?.owner === s.owner && claim.keyPairId && r.sys.keyName(claim.keyPairId) === i.keyPairName) {
          v.push({ invariant: "1d", message: `${s.name}: pulumi destroy exited 0 and its state holds no attachment, but ${i.instanceId} (${i.status}) carries ${i.keyPairName} under its owner tag ${i.tags[OWNER_TAG]}` });
        }
        const lease = i.tags[LEASE_TAG] ? parseLease(i.tags[LEASE_TAG]) : undefined;
        if (lease?.owner === s.owner && i.status !== "Running" && !r.tracker.handStopped.has(i.instanceId)) {
          v.push({ invariant: "2d", message: `${s.name}: pulumi destroy exited 0, but ${i.instanceId} stays ${i.status} under its lease ${i.tags[LEASE_TAG]}` });
        }
      }
      return v;
    });
  }
  toString() {
    return `destroy(s${this.pick})`;
  }
}

class RefreshCommand implements Cmd {
  constructor(readonly stack: number) {}
  check = () => true;
  async run(_m: CliModel, r: CliReal) {
    const s = r.sys.stacks[this.stack % 2];
    await step(r, "refresh", `${this.toString()} -> ${s.name}`, async () => void (await r.sys.command(s, "refresh")));
  }
  toString() {
    return `refresh(s${this.stack})`;
  }
}

class CrashCommand implements Cmd {
  constructor(readonly u: UpSpec, readonly k: number) {}
  check = () => true;
  async run(m: CliModel, r: CliReal) {
    // A stop-first run, killed (SIGKILL, the whole process tree) once it has made k ENS calls.
    const t = resolveUp(m, { ...this.u, stopInstances: true });
    const s = apply(m, r, t.stack, t.args);
    let how = "";
    await step(r, "crash", () => `${this.toString()} -> ${s.name} ${showArgs(t.args)}${how}`, async () => {
      const { result } = await r.sys.command(s, "up", { crashAfter: this.k });
      how = result.killed === "crash" ? ` [killed after ${this.k} calls]` : ` [ended before ${this.k} calls, exit ${result.code}]`;
    });
  }
  toString() {
    return `crash(${show(this.u)}, after ${this.k} calls)`;
  }
}

type HandKind = "rekey" | "detach" | "stop" | "start";

/** A person in the console: binds another key, detaches, stops or starts instances (the emulator's world API). */
class HandCommand implements Cmd {
  constructor(readonly kind: HandKind, readonly instances: number[], readonly key: number) {}
  check = () => true;
  async run(_m: CliModel, r: CliReal) {
    const { sys, tracker } = r;
    const what: string[] = [];
    await step(r, "hand", () => `${this.toString()} [${what.join(", ") || "nothing"}]`, async () => {
      const view = new Map(sys.emu.state().instances.map((i) => [i.instanceId, i]));
      for (const i of new Set(this.instances.map((x) => x % POOL_SIZE))) {
        const id = sys.pool[i];
        const v = view.get(id)!;
        if (this.kind === "rekey") {
          const k = sys.keys[this.key % sys.keys.length];
          sys.emu.world.setInstanceKey(id, k.keyPairName);
          tracker.handKeyTouched.add(id);
          what.push(`${id} key ${k.keyPairName}`);
        } else if (this.kind === "detach") {
          sys.emu.world.setInstanceKey(id, undefined);
          tracker.handKeyTouched.add(id);
          what.push(`${id} detached`);
        } else if (this.kind === "stop" && v.status === "Running") {
          sys.emu.world.setInstanceStatus(id, "Stopped");
          tracker.handStopped.add(id);
          what.push(`${id} stopped`);
        } else if (this.kind === "start" && v.status !== "Running") {
          sys.emu.world.setInstanceStatus(id, "Running");
          tracker.handStopped.delete(id);
          what.push(`${id} started`);
        }
      }
    });
  }
  toString() {
    return `hand(${this.kind}, [${this.instances.join(",")}]${this.kind === "rekey" ? `, key${this.key}` : ""})`;
  }
}

/** Both stacks' `pulumi up` started at once; the second may reach for the first one's instances with takeOwnership. */
class ConcurrentCommand implements Cmd {
  constructor(readonly a: UpSpec, readonly b: UpSpec, readonly takeover: boolean) {}
  check = () => true;
  async run(m: CliModel, r: CliReal) {
    const ta = resolveUp(m, { ...this.a, stack: 0 });
    const sa = apply(m, r, 0, ta.args);
    const tb = resolveUp(m, { ...this.b, stack: 1 }, this.takeover ? { instances: ta.args.instances.slice(0, 2), takeOwnership: true } : {});
    const sb = apply(m, r, 1, tb.args);
    await step(
      r,
      "concurrent",
      `${this.toString()} -> ${sa.name} ${showArgs(ta.args)} || ${sb.name} ${showArgs(tb.args)}`,
      async () => void (await Promise.all([r.sys.command(sa, "up"), r.sys.command(sb, "up")])),
      { concurrent: true },
    );
  }
  toString() {
    return `concurrent(${show(this.a)} || ${show(this.b)}${this.takeover ? ", takeover" : ""})`;
  }
}

export function cliCommandArbitraries(): fc.Arbitrary<Cmd>[] {
  const w: [number, fc.Arbitrary<Cmd>][] = [
    [3, fc.tuple(upSpec(), fc.boolean()).map(([u, again]) => new UpCommand(u, again))],
    [1, fc.tuple(fc.nat(1), fc.nat(2)).map(([n, k]) => new RotateCommand(n, k))],
    [1, fc.tuple(upSpec(), fc.integer({ min: 1, max: 3 }), fc.boolean()).map(([u, n, keep]) => new TakeoverCommand(u, n, keep))],
    [1, fc.nat(1).map((n) => new DestroyCommand(n))],
    [1, fc.nat(1).map((n) => new RefreshCommand(n))],
    [1, fc.tuple(upSpec(), fc.integer({ min: 3, max: 35 })).map(([u, k]) => new CrashCommand(u, k))],
    [1, fc.tuple(fc.constantFrom<HandKind>("rekey", "detach", "stop", "stop", "start"), fc.uniqueArray(fc.nat(POOL_SIZE - 1), { minLength: 1, maxLength: 3 }), fc.nat(2)).map(([k, ids, key]) => new HandCommand(k, ids, key))],
    [1, fc.tuple(upSpec(), upSpec(), fc.boolean()).map(([a, b, t]) => new ConcurrentCommand(a, b, t))],
  ];
  return w.flatMap(([n, a]) => Array.from({ length: n }, () => a));
}

export const cliWorldArbitrary: fc.Arbitrary<CliWorld> = fc.record({
  keyCount: fc.integer({ min: 2, max: 3 }),
  stopped: fc.uniqueArray(fc.nat(POOL_SIZE - 1), { maxLength: 4 }),
  randomSeed: fc.nat(),
});

// ------------------------------------------------------------------------------------------ histories

export interface CliSoakOptions {
  runs: number;
  seed: number;
  /** Commands per history (each history has exactly this many, a few may be skipped by their precondition). */
  steps: number;
  /** fast-check's path, to replay one history with runs 1. */
  path?: string;
  /** Invariants not checked (already written down in FINDINGS.md). */
  skip: string[];
  log: (line: string) => void;
}

export interface CliSoakViolation {
  seed: number;
  path: string | null;
  invariants: string[];
  message: string;
  commands: string;
  story: string[];
  /** Backends, PULUMI_HOMEs and program folders, kept to look at. */
  dirs: string[];
}

export interface CliSoakResult {
  histories: number;
  counts: CliReal["counts"];
  violations: CliSoakViolation[];
  ms: number;
}

export function zeroCliCounts(): CliReal["counts"] {
  return { up: 0, rotate: 0, takeover: 0, destroy: 0, refresh: 0, crash: 0, hand: 0, concurrent: 0, steps: 0 };
}

/** A history starts by writing a program (the commands a history holds are fast-check's wrappers: told apart by name). */
const creates = (c: Cmd) => /^(up|takeover|crash|concurrent)\(/.test(String(c));

export async function runCliSoak(o: CliSoakOptions): Promise<CliSoakResult> {
  const t0 = Date.now();
  const counts = zeroCliCounts();
  const violations: CliSoakViolation[] = [];
  let histories = 0;
  for (let i = 0; i < o.runs; i++) {
    const seed = o.seed + i;
    let last: InvariantBroken | undefined;
    let dirs: string[] = [];
    const commands = fc.commands(cliCommandArbitraries(), { maxCommands: o.steps, size: "max" }).filter((c) => {
      const list = [...c];
      return list.length === o.steps && creates(list[0]);
    });
    const property = fc.asyncProperty(cliWorldArbitrary, commands, async (world, cmds) => {
      histories++;
      const sys = new CliSoakSystem(world);
      const tracker = new Tracker();
      for (const s of o.skip) tracker.skip.add(s);
      const story = [`world: ${POOL_SIZE} instances in 2 regions, ${world.keyCount} key pairs, 2 stacks (soak-alice/dev, soak-bob/prod), Stopped at start: [${world.stopped.join(",")}]`];
      const real: CliReal = { sys, tracker, counts, story, log: o.log };
      let failed = false;
      try {
        await sys.start();
        await fc.asyncModelRun(() => ({ model: { keyCount: world.keyCount, programs: [undefined, undefined] }, real }), cmds);
      } catch (e) {
        failed = true;
        if (e instanceof InvariantBroken) last = e;
        throw e;
      } finally {
        dirs = await sys.close(failed);
        o.log(`  CLI: ${sys.cliLog.length} pulumi commands, ${(sys.cliLog.reduce((a, c) => a + c.ms, 0) / 1000).toFixed(0)} s in them`);
      }
    });
    const started = Date.now();
    o.log(`soak-cli: history seed ${seed}...`);
    const res = await fc.check(property, { numRuns: 1, seed, unbiased: true, endOnFailure: true, ...(o.path ? { path: o.path } : {}) });
    const took = ((Date.now() - started) / 1000).toFixed(1);
    if (!res.failed) {
      o.log(`soak-cli: history seed ${seed} held every promise (${took} s)`);
      continue;
    }
    const err = res.errorInstance as Error | undefined;
    const broken = err instanceof InvariantBroken ? err : last;
    const v: CliSoakViolation = {
      seed,
      path: res.counterexamplePath,
      invariants: broken ? [...new Set(broken.violations.map((x) => x.invariant))] : ["error"],
      message: broken ? broken.message : String(err?.stack ?? err),
      commands: res.counterexample ? String(res.counterexample[1]) : "?",
      story: broken?.story ?? [],
      dirs,
    };
    violations.push(v);
    o.log(formatCliViolation(v, took));
  }
  return { histories, counts, violations, ms: Date.now() - t0 };
}

export function formatCliViolation(v: CliSoakViolation, took?: string): string {
  return [
    `soak-cli: VIOLATION in history seed ${v.seed}${took ? ` (${took} s)` : ""}: invariant(s) ${v.invariants.join(", ")}`,
    `  replay: SOAK_CLI_SEED=${v.seed} SOAK_CLI_RUNS=1${v.path ? ` SOAK_CLI_PATH=${v.path}` : ""} node scripts/jest.js --config tests/reliability/jest.config.js tests/reliability/slow/soak-cli.slow.ts`,
    `  commands: ${v.commands}`,
    `  ${v.message.split("\n").join("\n  ")}`,
    `  what happened:`,
    ...v.story.map((s, i) => `    ${i}. ${s}`),
    ...(v.dirs.length ? [`  kept: ${v.dirs.join(" ")}`] : []),
  ].join("\n");
}

export function cliSummaryLine(r: CliSoakResult): string {
  const c = r.counts;
  return `soak-cli: ${r.histories} histories, ${c.steps} steps (up ${c.up}, rotate ${c.rotate}, takeover ${c.takeover}, destroy ${c.destroy}, refresh ${c.refresh}, crash ${c.crash}, hand ${c.hand}, concurrent ${c.concurrent}), ${r.violations.length} violations, ${(r.ms / 1000).toFixed(0)} s`;
}

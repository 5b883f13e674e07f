/**
 * The soak through the real Pulumi CLI (issue 17; run by tests/reliability/slow/soak-cli.slow.ts): one ENS emulator
 * with a small shared pool, and two stacks as two users would have them: each its own project and stack name, its
 * own local backend and PULUMI_HOME, its own access key, the package installed from `npm pack`, and its own wire (a
 * proxy in front of the emulator that counts calls, to SIGKILL the whole `pulumi` process tree after k ENS calls).
 * Every CLI run is read back (its JSON events, `pulumi stack export`) into the soak's `Run` records, so that the
 * in-process soak's invariants (invariants.ts) judge it.
 */
import { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { IncomingHttpHeaders } from "node:http";
import { JournalEntry, RunningEmulator, startEmulator } from "../../emulator";
import { programFolder } from "../helpers/installed-package";
import { alive, killAll, processTree } from "../helpers/rel-process";
import { RAW_PROGRAM, RelStack } from "../helpers/rel-stack";
import { REL_ACCESS_KEY_ID, REL_SECRET } from "../helpers/rel-secrets";
import { startWireProxy } from "../helpers/wire-proxy";
import type { InvariantSystem } from "./invariants";
import type { Run } from "./system";

type Props = Record<string, any>;

export const POOL_SIZE = 12;
/** One CLI command not ended by then is a liveness finding (its process tree is killed). */
export const CLI_TIMEOUT_MS = 120_000;
const TYPE = "pulumi-nodejs:dynamic/ens:KeyPairAttachment";

/** A history's world: key pairs, which pool instances start Stopped, the emulator's random seed. */
export interface CliWorld {
  keyCount: number;
  stopped: number[];
  randomSeed: number;
}

/** What a stack's program (its config `args`) says. Instances and key are pool / key indexes. */
export interface CliArgs {
  key: number;
  instances: number[];
  stopInstances: boolean;
  maxStopped: number;
  takeOwnership?: boolean;
}

/** The two users: distinct projects, stack names, access keys (the first one's secret is the reliability suite's canary). */
const USERS = [
  { project: "soak-alice", stack: "dev", accessKeyId: REL_ACCESS_KEY_ID, secret: REL_SECRET },
  { project: "soak-bob", stack: "prod", accessKeyId: "bobAK7Rw2Yq", secret: "bobCanarySecret3Nd8Wq5Hs1Jx6Fv" },
];

/** A stack's resource state as `pulumi stack export` shows it (the KeyPairAttachment only). */
interface Exported {
  text: string;
  live?: { id: string; outputs: Props; inputs: Props };
  /** Old resources of a replacement not deleted yet. */
  doomed: { id: string; outputs: Props }[];
  pending: number;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed after k ENS calls (crash), or for running too long. */
  killed?: "crash" | "timeout";
  ms: number;
  /** What the user reads: every non-debug diagnostic of the JSON event stream, and stderr. */
  shown: string;
  /** The first error the user reads (for the one-line story). */
  firstError?: string;
  events: any[];
}

export class CliStack {
  pulumi!: RelStack;
  /** The wire: signatures and tokens it saw (invariant 6). */
  readonly proxy = { seenSecrets: new Set<string>() };
  readonly deadProxies: { seenSecrets: Set<string> }[] = [];
  readonly token = "";
  /** For invariant 6: the last `stack export` text. */
  readonly state = new Map<string, unknown>();
  exported: Exported = { text: "", doomed: [], pending: 0 };
  program?: CliArgs;
  /** Calls through the wire; the crash gate trips past `limit`. */
  gate = { calls: 0, limit: Infinity, tripped: false, onTrip: undefined as undefined | (() => void) };
  closeWire: () => Promise<void> = async () => {};
  constructor(
    readonly index: number,
    readonly project: string,
    readonly stackName: string,
    readonly accessKeyId: string,
    readonly secret: string,
  ) {}
  get name() {
    return `${this.project}/${this.stackName}`;
  }
  get owner() {
    return `${this.project}/${this.stackName}/fleet`;
  }
}

export class CliSoakSystem implements InvariantSystem {
  emu!: RunningEmulator;
  pool: string[] = [];
  keys: { keyPairId: string; keyPairName: string }[] = [];
  stacks: CliStack[] = [];
  readonly idToOwner = new Map<string, string>();
  /** Runs of the command going on. */
  runs: Run[] = [];
  /** CLI output of the command going on (invariant 6 looks into it). */
  logs: string[] = [];
  /** Every CLI command of the history, for the report. */
  readonly cliLog: { stack: string; args: string; code: number; ms: number; killed?: string }[] = [];
  private seq = 0;
  private journalSoFar: JournalEntry[] = [];
  perRunPeaks = true;
  private dirs: string[] = [];

  constructor(readonly world: CliWorld) {}

  async start(): Promise<void> {
    const w = this.world;
    this.emu = await startEmulator({
      instances: POOL_SIZE,
      regions: 2,
      initialStatus: "Running",
      stopDelayMs: "20-80",
      startDelayMs: "20-80",
      randomSeed: w.randomSeed,
      accessKeys: Object.fromEntries(USERS.map((u) => [u.accessKeyId, u.secret])),
      seed: { keyPairs: Array.from({ length: w.keyCount }, (_, i) => ({ keyPairName: `soak-key-${String.fromCharCode(97 + i)}` })) },
    });
    this.pool = this.emu.state().instances.map((i) => i.instanceId);
    for (const i of w.stopped) if (i < POOL_SIZE) this.emu.world.setInstanceStatus(this.pool[i], "Stopped");
    this.keys = this.emu.state().keyPairs.map((k) => ({ keyPairId: k.keyPairId, keyPairName: k.keyPairName })).sort((a, b) => a.keyPairName.localeCompare(b.keyPairName));
    for (const [i, u] of USERS.entries()) {
      const s = new CliStack(i, u.project, u.stack, u.accessKeyId, u.secret);
      const wire = await startWireProxy(this.emu.url, {
        before: async (_action, _n, req) => {
          remember(req.headers, req.url, s.proxy.seenSecrets);
          s.gate.calls++;
          if (s.gate.calls > s.gate.limit) {
            if (!s.gate.tripped) {
              s.gate.tripped = true;
              s.gate.onTrip?.();
            }
            // Held: the process that sent it is being killed; it never gets an answer.
            await new Promise(() => {});
          }
        },
      });
      s.closeWire = () => Promise.race([wire.close(), new Promise<void>((r) => setTimeout(r, 2000).unref())]);
      const dir = programFolder(RAW_PROGRAM);
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8").replace(/^name:.*$/m, `name: ${u.project}`));
      s.pulumi = new RelStack(dir, {
        ENS_ENDPOINT: wire.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: u.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: u.secret,
        ENS_POLL_INTERVAL_MS: "20",
        // A killed run's leases hold the other stack's stop slots until they expire (FINDINGS.md F5).
        ENS_LEASE_SECONDS: process.env.ENS_LEASE_SECONDS ?? "15",
        // Other provider settings for a replay, e.g. SOAK_CLI_ENV='{"ENS_CLAIM_SETTLE_MS":"0"}'.
        ...(process.env.SOAK_CLI_ENV ? (JSON.parse(process.env.SOAK_CLI_ENV) as Record<string, string>) : {}),
      });
      this.dirs.push(dir, s.pulumi.home, s.pulumi.backend);
      await s.pulumi.run(["stack", "init", u.stack], { scan: false });
      this.stacks.push(s);
    }
    this.emu.reset();
  }

  /** Leaves nothing running; removes the temporary folders unless `keep` (a violation, to look at). */
  async close(keep = false): Promise<string[]> {
    for (const s of this.stacks) await s.closeWire();
    await this.emu?.close();
    if (!keep) for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    return this.dirs;
  }

  keyName(keyPairId: string): string | undefined {
    return this.keys.find((k) => k.keyPairId === keyPairId)?.keyPairName;
  }

  /** The program's config, as a user writes it. */
  writeProgram(s: CliStack, a: CliArgs): void {
    s.program = { ...a, instances: [...a.instances] };
    s.pulumi.writeConfig({ args: this.inputsOf(a) }, s.stackName);
  }

  inputsOf(a: CliArgs): Props {
    return {
      keyPairId: this.keys[a.key].keyPairId,
      instanceIds: a.instances.map((i) => this.pool[i]),
      stopInstances: a.stopInstances,
      maxStoppedInstances: a.maxStopped,
      stopTimeoutSeconds: 20,
      ...(a.takeOwnership ? { takeOwnership: true } : {}),
    };
  }

  // ---------------------------------------------------------------- commands' bookkeeping (as system.ts)

  beginCommand(perRunPeaks: boolean): void {
    this.runs = [];
    this.logs = [];
    this.journalSoFar = [];
    this.perRunPeaks = perRunPeaks;
    this.emu.reset();
  }

  endCommand(): void {
    const all = [...this.journalSoFar, ...this.emu.journal()];
    for (const r of this.runs) {
      const key = this.stacks[r.stack].accessKeyId;
      r.journal = all.filter((j) => j.accessKeyId === key && Date.parse(j.at) >= r.startedAt - 2 && Date.parse(j.at) <= r.endedAt + 2);
    }
  }

  private restartPeaks(): { baseStopped: number; baseByRegion: Record<string, number> } {
    this.journalSoFar.push(...this.emu.journal());
    this.emu.reset();
    const st = this.emu.stats();
    return { baseStopped: st.peakStopped, baseByRegion: { ...st.peakStoppedByRegion } };
  }

  // ---------------------------------------------------------------- the CLI

  /** One `pulumi` command of a stack (async: the emulator answering it lives in this process). */
  cli(s: CliStack, args: string[], opts: { crashAfter?: number; timeoutMs?: number } = {}): Promise<CliResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const child: ChildProcess = s.pulumi.spawnRaw(args);
      let stdout = "";
      let stderr = "";
      let killed: CliResult["killed"];
      const killTree = (why: "crash" | "timeout") => {
        if (killed) return;
        killed = why;
        // The whole tree: the CLI, the language host, the dynamic-provider host (each in a process group of its own).
        const tree = processTree(child.pid!);
        killAll(tree);
        setTimeout(() => killAll(tree.filter(alive)), 500).unref();
      };
      if (opts.crashAfter !== undefined) {
        s.gate = { calls: 0, limit: opts.crashAfter, tripped: false, onTrip: () => killTree("crash") };
      }
      const timer = setTimeout(() => killTree("timeout"), opts.timeoutMs ?? CLI_TIMEOUT_MS);
      child.stdout!.on("data", (d) => (stdout += d));
      child.stderr!.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        s.gate = { calls: 0, limit: Infinity, tripped: false, onTrip: undefined };
        const events = parseEvents(stdout);
        const shown = [...events.filter((e) => e.diagnosticEvent && e.diagnosticEvent.severity !== "debug").map((e) => e.diagnosticEvent.message as string), stderr].join("\n");
        const errors = events.filter((e) => e.diagnosticEvent?.severity === "error").map((e) => String(e.diagnosticEvent.message).trim());
        const firstError = errors.find((m) => !/^update failed$|^destroy failed$|^refresh failed$/.test(m)) ?? errors[0] ?? (stderr.trim().split("\n").find((l) => /error/i.test(l)) || undefined);
        const res: CliResult = { code: code ?? -1, stdout, stderr, killed, ms: Date.now() - t0, shown, firstError, events };
        if (process.env.SOAK_CLI_DEBUG_DIR) {
          fs.mkdirSync(process.env.SOAK_CLI_DEBUG_DIR, { recursive: true });
          const n = String(this.cliLog.length + 1).padStart(3, "0");
          fs.writeFileSync(path.join(process.env.SOAK_CLI_DEBUG_DIR, `${this.world.randomSeed}-${n}-${s.project}-${args[0]}.txt`), `pulumi ${args.join(" ")}\nexit ${res.code}${killed ? ` (killed: ${killed})` : ""}\n--- shown\n${shown}\n--- stdout\n${stdout}`);
        }
        this.cliLog.push({ stack: s.name, args: args.join(" "), code: res.code, ms: res.ms, ...(killed ? { killed } : {}) });
        this.logs.push(stdout, stderr);
        resolve(res);
      });
    });
  }

  async exportState(s: CliStack): Promise<Exported> {
    const r = await this.cli(s, ["stack", "export"]);
    if (r.code !== 0) throw new Error(`pulumi stack export (${s.name}) exited ${r.code}: ${r.stderr}`);
    const d = JSON.parse(r.stdout).deployment ?? {};
    const mine = (d.resources ?? []).filter((x: any) => x.type === TYPE);
    const liveRes = mine.find((x: any) => !x.delete);
    const e: Exported = {
      text: r.stdout,
      live: liveRes ? { id: liveRes.id, outputs: liveRes.outputs ?? {}, inputs: liveRes.inputs ?? {} } : undefined,
      doomed: mine.filter((x: any) => x.delete).map((x: any) => ({ id: x.id, outputs: x.outputs ?? {} })),
      pending: (d.pending_operations ?? []).length,
    };
    for (const x of mine) this.idToOwner.set(x.id, s.owner);
    s.exported = e;
    s.state.set("stack export", r.stdout);
    return e;
  }

  private newRun(s: CliStack, op: Run["op"], inputs: Props, t0: number, id?: string): Run {
    return {
      seq: ++this.seq,
      stack: s.index,
      res: "fleet",
      owner: s.owner,
      op,
      id,
      keyPairId: inputs.keyPairId,
      inputs,
      ok: false,
      partial: false,
      crashed: false,
      startedAt: t0,
      endedAt: 0,
      journal: [],
      stops: inputs.stopInstances === true,
      maxStopped: inputs.maxStoppedInstances ?? 30,
      perRegion: inputs.maxStoppedPerRegion,
      takeOwnership: inputs.takeOwnership === true,
    };
  }

  /**
   * `pulumi up|destroy|refresh` of a stack, read back into runs: one per step the engine took for the attachment
   * (create, update, same, create-replacement, delete-replaced, delete, refresh), each with what the state records
   * after it. `crashAfter`: SIGKILL of the whole process tree once k ENS calls went through (then `pulumi cancel`).
   */
  async command(s: CliStack, verb: "up" | "destroy" | "refresh", opts: { crashAfter?: number; repeat?: boolean } = {}): Promise<{ runs: Run[]; result: CliResult }> {
    const before = s.exported;
    const base = this.perRunPeaks ? this.restartPeaks() : undefined;
    const extra = verb === "refresh" ? ["--clear-pending-creates"] : [];
    const t0 = Date.now();
    const result = await this.cli(s, [verb, "--yes", "--skip-preview", "--json", ...extra], { crashAfter: opts.crashAfter });
    const t1 = Date.now();
    const st = this.emu.stats();
    const peak = base ? { stopped: st.peakStopped, byRegion: { ...st.peakStoppedByRegion }, ...base } : undefined;
    const crashed = result.killed === "crash";
    if (crashed) {
      // What the user is told to do next: the dead update's lock is cleared with `pulumi cancel`.
      const c = await this.cli(s, ["cancel", "--yes"]);
      if (c.code !== 0) throw new Error(`pulumi cancel (${s.name}) exited ${c.code}: ${c.stdout}${c.stderr}`);
    }
    const after = await this.exportState(s);
    const asked = s.program ? this.inputsOf(s.program) : before.live?.inputs ?? {};
    const failed = result.code !== 0;
    const error = crashed ? `killed (SIGKILL of the pulumi process tree) after ${opts.crashAfter} ENS calls\n${result.shown}` : failed ? (result.killed === "timeout" ? `HANG: pulumi ${verb} did not end within ${CLI_TIMEOUT_MS / 1000} s\n` : "") + `${result.firstError ? `${result.firstError}\n` : ""}${result.shown.trim() || `exit ${result.code}`}` : undefined;

    // The attachment's steps, in order, with their outcome (an outputs or failure event ends the last open step of
    // its URN: a refresh step's outputs say "same" or "update"; the "replace" marker between the halves of a
    // replacement is no step).
    const steps: { urn: string; op: string; oldId?: string; newId?: string; ok: boolean; done: boolean }[] = [];
    for (const e of result.events) {
      const k = e.resourcePreEvent ? "pre" : e.resOutputsEvent ? "out" : e.resOpFailedEvent ? "failed" : undefined;
      if (!k) continue;
      const m = (e.resourcePreEvent ?? e.resOutputsEvent ?? e.resOpFailedEvent).metadata;
      if (m?.type !== TYPE || m.op === "replace") continue;
      if (k === "pre") steps.push({ urn: m.urn, op: m.op, oldId: m.old?.id || undefined, ok: false, done: false });
      else {
        const step = [...steps].reverse().find((x) => x.urn === m.urn && !x.done);
        if (!step) continue;
        step.done = true;
        step.ok = k === "out";
        if (k === "out") step.newId = m.new?.id || undefined;
      }
    }

    const runs: Run[] = [];
    const add = (r: Run) => {
      r.endedAt = t1;
      if (failed && result.killed === "timeout") r.hung = true;
      if (r.error === undefined && error !== undefined && !r.ok) r.error = error;
      runs.push(r);
      this.runs.push(r);
    };
    const outputsOf = (id: string | undefined) => (id && after.live?.id === id ? after.live.outputs : after.doomed.find((d) => d.id === id)?.outputs);
    for (const step of steps) {
      if (step.op === "create" || step.op === "create-replacement" || step.op === "update" || step.op === "same") {
        const op: Run["op"] = step.op === "same" ? "noop" : step.op === "update" ? "update" : "create";
        const r = this.newRun(s, op, asked, t0, op === "create" ? step.newId : step.oldId);
        r.ok = step.ok && !crashed;
        const live = after.live;
        if (live && (op !== "create" || live.id !== before.live?.id)) {
          // Recorded (also a partial failure: the engine keeps the properties the provider handed back).
          r.id = live.id;
          r.recorded = live.outputs.attachedInstanceIds ?? [];
          r.outputs = live.outputs;
          r.keyPairId = live.outputs.keyPairId ?? r.keyPairId;
          r.partial = !r.ok && (op === "create" || JSON.stringify(live.outputs) !== JSON.stringify(before.live?.outputs));
        } else if (live) {
          // A replacement that failed as a whole: the old resource stays as it was; it is the one checked.
          r.id = live.id;
          r.recorded = live.outputs.attachedInstanceIds ?? [];
          r.outputs = live.outputs;
          r.keyPairId = live.outputs.keyPairId;
        } else r.recorded = [];
        if (peak) r.peak = peak;
        add(r);
      } else if (step.op === "delete" || step.op === "delete-replaced") {
        const old = before.live?.id === step.oldId ? before.live!.outputs : before.doomed.find((d) => d.id === step.oldId)?.outputs ?? {};
        const r = this.newRun(s, "delete", old, t0, step.oldId);
        r.keyPairId = old.keyPairId;
        const left = outputsOf(step.oldId);
        r.ok = step.ok && !crashed;
        r.removed = !left;
        r.recorded = left ? left.attachedInstanceIds ?? [] : [];
        if (left) r.outputs = left;
        // A replacement's old resource: its delete makes no stop (the new one took the instances); a destroy's may.
        if (peak && step.op === "delete") r.peak = peak;
        add(r);
      } else if (step.op === "refresh" || step.op === "read") {
        const r = this.newRun(s, "read", before.live?.inputs ?? asked, t0, step.oldId);
        r.ok = step.ok && !crashed;
        r.keyPairId = (after.live ?? before.live)?.outputs.keyPairId ?? r.keyPairId;
        if (after.live) {
          r.recorded = after.live.outputs.attachedInstanceIds ?? [];
          r.outputs = after.live.outputs;
        } else {
          r.recorded = [];
          r.removed = true;
        }
        add(r);
      }
    }
    if (!runs.length && (verb === "up" || crashed)) {
      // Refused before any step (check: the provider's validation) or killed before the engine began one.
      const r = this.newRun(s, crashed ? (before.live ? "update" : "create") : "check", asked, t0, before.live?.id);
      r.recorded = before.live?.outputs.attachedInstanceIds ?? [];
      if (before.live) r.outputs = before.live.outputs;
      r.ok = !failed && !crashed;
      if (peak) r.peak = peak;
      add(r);
    }
    if (crashed)
      for (const r of runs) {
        r.crashed = true;
        r.recorded = undefined;
      }
    if (opts.repeat) for (const r of runs) r.repeat = true;
    return { runs, result };
  }
}

/** `pulumi ... --json` prints one JSON engine event per line (the stack export, one document). */
function parseEvents(stdout: string): any[] {
  const out: any[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      /* not an event line */
    }
  }
  return out;
}

/** Signatures (ACS3 Authorization header, v2 Signature parameter) and security tokens of a request. */
function remember(headers: IncomingHttpHeaders, url: string, into: Set<string>): void {
  const auth = headers.authorization;
  const m = typeof auth === "string" ? /Signature=([^,\s]+)/.exec(auth) : null;
  if (m) into.add(m[1]);
  const token = headers["x-acs-security-token"];
  if (typeof token === "string" && token) into.add(token);
  const q = new URL(url, "http://x").searchParams;
  for (const k of ["Signature", "SecurityToken"]) {
    const v = q.get(k);
    if (v) into.add(v);
  }
}

/** Every file of a stack's backend, PULUMI_HOME and program folder (no node_modules), for invariant 6. */
export function stackFiles(s: CliStack): string {
  const parts: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== "node_modules") walk(p);
      else if (e.isFile() && fs.statSync(p).size < 4 * 1024 * 1024) parts.push(`--- ${p}\n${fs.readFileSync(p, "latin1")}`);
    }
  };
  for (const d of [s.pulumi.backend, s.pulumi.home, s.pulumi.dir]) walk(d);
  return parts.join("\n");
}

/**
 * The system under test for the soak: one ENS emulator, a pool of instances and key pairs, and 2-3 stacks. Each
 * stack is what one `pulumi` process tree would be: its own provider process (a fresh copy of the provider module,
 * configured with its own stack config: endpoint, access key, STS token), its own wire (a kill switch in front of the
 * emulator), its own state. A small engine drives the provider as Pulumi does (check, diff, create / update / delete,
 * create-before-delete replacements, partial failures, refresh).
 */
import { randomBytes } from "node:crypto";
import { JournalEntry, RunningEmulator, startEmulator } from "../../emulator";
import { KillSwitch, startKillSwitch } from "./kill-switch";

export type ProviderModule = typeof import("../../provider");
/** Loads a fresh copy of the provider module (a new provider process). */
export type LoadProvider = () => ProviderModule;

type Props = Record<string, any>;

/** A history's world: how many instances, regions, key pairs and stacks, and which instances start Stopped. */
export interface WorldConfig {
  poolSize: number;
  regions: number;
  keyCount: number;
  stackCount: number;
  /** Pool indexes that start Stopped. */
  stopped: number[];
  randomSeed: number;
}

/** What a stack's program says about one resource. Instances are pool indexes. */
export interface Args {
  key: number;
  instances: number[];
  stopInstances: boolean;
  maxStopped: number;
  perRegion?: number;
  takeOwnership?: boolean;
}

export interface Res {
  id: string;
  outputs: Props;
  inputs: Props;
}

export type Op = "check" | "diff" | "create" | "update" | "delete" | "read" | "noop";

/** One provider operation (with the check and diff before it), as the invariants see it. */
export interface Run {
  seq: number;
  stack: number;
  res: string;
  /** The logical owner (`__owner`). */
  owner: string;
  op: Op;
  /** The resource ID the operation was about (a create: the new one, when known). */
  id?: string;
  keyPairId: string;
  inputs: Props;
  ok: boolean;
  partial: boolean;
  crashed: boolean;
  /** Error text (message, and properties when a partial failure). */
  error?: string;
  /** attachedInstanceIds the engine recorded after this operation (undefined: nothing recorded). */
  recorded?: string[];
  /** Outputs recorded (or returned) by this operation. */
  outputs?: Props;
  /** For a delete: whether the resource left the state. */
  removed?: boolean;
  startedAt: number;
  endedAt: number;
  journal: JournalEntry[];
  /** Bounds of this run's stops. */
  stops: boolean;
  maxStopped: number;
  perRegion?: number;
  takeOwnership: boolean;
  /** Peaks seen over this run alone (sequential commands), with what was already stopped when it began. */
  peak?: { stopped: number; byRegion: Record<string, number>; baseStopped: number; baseByRegion: Record<string, number> };
  /** Part of the second, unchanged `up` (invariant 5). */
  repeat?: boolean;
  /** The operation did not end in time. */
  hung?: boolean;
}

export class Stack {
  proxy!: KillSwitch;
  deadProxies: KillSwitch[] = [];
  provider!: ProviderModule["provider"];
  logs: string[] = [];
  readonly state = new Map<string, Res>();
  /** Old resources of replacements whose delete failed: deleted at the next up. */
  pendingDeletes: { res: string; r: Res }[] = [];
  readonly program = new Map<string, Args>();
  constructor(
    readonly index: number,
    readonly accessKeyId: string,
    readonly secret: string,
    readonly token: string,
  ) {}
  get name() {
    return `stack${this.index}`;
  }
  owner(res: string) {
    return `soak/${this.name}/${res}`;
  }
}

export const OP_TIMEOUT_MS = 90_000;

export class SoakSystem {
  emu!: RunningEmulator;
  pool: string[] = [];
  keys: { keyPairId: string; keyPairName: string }[] = [];
  stacks: Stack[] = [];
  /** Every resource ID ever seen, to its logical owner (legacy owner tags and leases hold resource IDs). */
  readonly idToOwner = new Map<string, string>();
  /** Runs of the command going on. */
  runs: Run[] = [];
  private seq = 0;
  /** Journal of the command going on (kept across the resets that measure peaks per run). */
  private journalSoFar: JournalEntry[] = [];
  /** Sequential commands measure stop peaks per run; concurrent ones over the whole command. */
  perRunPeaks = true;

  constructor(
    readonly config: WorldConfig,
    private readonly load: LoadProvider,
  ) {}

  async start(): Promise<void> {
    const { config } = this;
    const accessKeys: Record<string, string> = {};
    const creds = Array.from({ length: config.stackCount }, (_, i) => ({
      id: `soak-key-${i}`,
      secret: `soak-secret-${i}-${randomBytes(8).toString("hex")}`,
      token: `soak-sts-token-${i}-${randomBytes(8).toString("hex")}`,
    }));
    for (const c of creds) accessKeys[c.id] = c.secret;
    this.emu = await startEmulator({
      instances: config.poolSize,
      regions: config.regions,
      initialStatus: "Running",
      stopDelayMs: "5-40",
      startDelayMs: "5-40",
      randomSeed: config.randomSeed,
      accessKeys,
      seed: { keyPairs: Array.from({ length: config.keyCount }, (_, i) => ({ keyPairName: `soak-key-${String.fromCharCode(97 + i)}` })) },
    });
    this.pool = this.emu.state().instances.map((i) => i.instanceId);
    for (const i of config.stopped) if (i < this.pool.length) this.emu.world.setInstanceStatus(this.pool[i], "Stopped");
    this.keys = this.emu.state().keyPairs.map((k) => ({ keyPairId: k.keyPairId, keyPairName: k.keyPairName }));
    this.keys.sort((a, b) => a.keyPairName.localeCompare(b.keyPairName));
    for (const [i, c] of creds.entries()) {
      const s = new Stack(i, c.id, c.secret, c.token);
      await this.spawnProvider(s);
      this.stacks.push(s);
    }
    this.emu.reset();
  }

  /** A new provider process for the stack: a fresh module, a new wire, its stack config. */
  async spawnProvider(s: Stack): Promise<void> {
    if (s.proxy) s.deadProxies.push(s.proxy);
    s.proxy = await startKillSwitch(this.emu.url);
    const mod = this.load();
    mod.setLogger({ info: (l) => s.logs.push(l), warn: (l) => s.logs.push(`warning: ${l}`) });
    const cfg: Record<string, string> = {
      "ens:endpoint": s.proxy.url,
      "alicloud:accessKey": s.accessKeyId,
      "alicloud:secretKey": s.secret,
      "alicloud:securityToken": s.token,
      "ens:pollIntervalMs": "10",
      "ens:callsPerSecond": "1000",
    };
    await mod.provider.configure({ config: { get: (k: string) => cfg[k], keys: () => Object.keys(cfg) } });
    s.provider = mod.provider;
  }

  async close(): Promise<void> {
    for (const s of this.stacks) {
      for (const p of [s.proxy, ...s.deadProxies]) await p?.close().catch(() => {});
    }
    await this.emu?.close();
  }

  keyName(keyPairId: string): string | undefined {
    return this.keys.find((k) => k.keyPairId === keyPairId)?.keyPairName;
  }

  /** Inputs as the SDK sends them. */
  sdkInputs(s: Stack, res: string, a: Args): Props {
    return {
      __provider: "X",
      __attachmentName: res,
      __owner: s.owner(res),
      keyPairId: this.keys[a.key].keyPairId,
      instanceIds: a.instances.map((i) => this.pool[i]),
      stopInstances: a.stopInstances,
      maxStoppedInstances: a.maxStopped,
      ...(a.perRegion !== undefined ? { maxStoppedPerRegion: a.perRegion } : {}),
      ...(a.takeOwnership !== undefined ? { takeOwnership: a.takeOwnership } : {}),
      stopTimeoutSeconds: 20,
    };
  }

  // ---------------------------------------------------------------- commands' bookkeeping

  beginCommand(perRunPeaks: boolean): void {
    this.runs = [];
    this.journalSoFar = [];
    this.perRunPeaks = perRunPeaks;
    for (const s of this.stacks) s.logs.length = 0;
    this.emu.reset();
  }

  /** Ends the command: every run gets its journal entries (by access key and time). */
  endCommand(): JournalEntry[] {
    const all = [...this.journalSoFar, ...this.emu.journal()];
    for (const r of this.runs) {
      const key = this.stacks[r.stack].accessKeyId;
      r.journal = all.filter((j) => j.accessKeyId === key && Date.parse(j.at) >= r.startedAt - 2 && Date.parse(j.at) <= r.endedAt + 2);
    }
    return all;
  }

  /** Restarts the stop peaks (emu.reset()), keeping the journal so far and the faults. */
  private restartPeaks(): { baseStopped: number; baseByRegion: Record<string, number> } {
    const faults = this.emu.faults();
    this.journalSoFar.push(...this.emu.journal());
    this.emu.reset();
    this.emu.setFaults(faults);
    const st = this.emu.stats();
    return { baseStopped: st.peakStopped, baseByRegion: { ...st.peakStoppedByRegion } };
  }

  private begin(s: Stack, res: string, op: Op, inputs: Props, id?: string): Run {
    const base = this.perRunPeaks ? this.restartPeaks() : undefined;
    const run: Run = {
      seq: ++this.seq,
      stack: s.index,
      res,
      owner: s.owner(res),
      op,
      id,
      keyPairId: inputs.keyPairId,
      inputs,
      ok: false,
      partial: false,
      crashed: false,
      startedAt: Date.now(),
      endedAt: 0,
      journal: [],
      stops: inputs.stopInstances === true,
      maxStopped: inputs.maxStoppedInstances ?? 30,
      perRegion: inputs.maxStoppedPerRegion,
      takeOwnership: inputs.takeOwnership === true,
      ...(base ? { peak: { stopped: 0, byRegion: {}, ...base } } : {}),
    };
    this.runs.push(run);
    return run;
  }

  private end(run: Run): void {
    if (run.endedAt) return;
    run.endedAt = Date.now();
    if (run.error?.startsWith("HANG:")) run.hung = true;
    if (run.peak) {
      const st = this.emu.stats();
      run.peak.stopped = st.peakStopped;
      run.peak.byRegion = { ...st.peakStoppedByRegion };
    }
  }

  // ---------------------------------------------------------------- the engine

  /**
   * `pulumi up` of a stack: every resource of its program (check, diff, create/update/replace), then deletes of
   * resources no longer in the program and of replaced ones whose delete failed before. `crashAfter`: the provider
   * process dies after that many ENS calls, and the engine records nothing.
   */
  async up(s: Stack, opts: { crashAfter?: number; repeat?: boolean } = {}): Promise<Run[]> {
    const first = this.runs.length;
    const snapshot = opts.crashAfter !== undefined ? { state: new Map(s.state), pending: [...s.pendingDeletes] } : undefined;
    if (opts.crashAfter !== undefined) s.proxy.kill(opts.crashAfter);
    try {
      for (const [res, a] of s.program) await this.upResource(s, res, a);
      for (const p of s.pendingDeletes.splice(0)) await this.deleteResource(s, p.res, p.r, true);
      for (const [res, r] of [...s.state]) if (!s.program.has(res)) await this.deleteResource(s, res, r, false);
    } finally {
      const mine = this.runs.slice(first);
      if (opts.repeat) for (const r of mine) r.repeat = true;
      if (snapshot) {
        // The engine died with the provider: nothing of this run reaches the state.
        for (const r of mine) {
          r.crashed = true;
          r.recorded = undefined;
        }
        s.state.clear();
        for (const [k, v] of snapshot.state) s.state.set(k, v);
        s.pendingDeletes = snapshot.pending;
        await this.spawnProvider(s);
      }
    }
    return this.runs.slice(first);
  }

  private async upResource(s: Stack, res: string, a: Args): Promise<void> {
    const news = this.sdkInputs(s, res, a);
    const prev = s.state.get(res);
    const olds = prev?.inputs ?? {};
    const run = this.begin(s, res, "check", news, prev?.id);
    try {
      const c = await timed(s.provider.check(olds, news), "check");
      if (c.failures.length) {
        run.error = c.failures.map((f: any) => `${f.property}: ${f.reason}`).join("\n");
        run.recorded = prev ? prev.outputs.attachedInstanceIds : [];
        if (prev) run.outputs = prev.outputs;
        return;
      }
      const inputs = c.inputs;
      Object.assign(run, { inputs, stops: inputs.stopInstances === true, maxStopped: inputs.maxStoppedInstances, perRegion: inputs.maxStoppedPerRegion, takeOwnership: inputs.takeOwnership === true, keyPairId: inputs.keyPairId });
      if (!prev) return await this.create(s, res, inputs, run);
      run.op = "diff";
      const d = await timed(s.provider.diff(prev.id, prev.outputs, inputs), "diff");
      if (d.replaces?.length) {
        await this.create(s, res, inputs, run);
        this.end(run);
        // Create-before-delete: the old one goes once the new one is in the state (not after a partial failure).
        if (run.ok) await this.deleteResource(s, res, prev, true);
        return;
      }
      if (!d.changes) {
        run.op = "noop";
        run.ok = true;
        run.recorded = prev.outputs.attachedInstanceIds;
        run.outputs = prev.outputs;
        return;
      }
      run.op = "update";
      try {
        const r = await timed(s.provider.update(prev.id, prev.outputs, inputs), "update");
        s.state.set(res, { id: prev.id, outputs: r.outs, inputs });
        run.ok = true;
        run.outputs = r.outs;
        run.recorded = r.outs.attachedInstanceIds;
      } catch (e: any) {
        run.error = errorText(e);
        if (e?.id && e?.properties) {
          run.partial = true;
          s.state.set(res, { id: prev.id, outputs: e.properties, inputs });
          run.outputs = e.properties;
          run.recorded = e.properties.attachedInstanceIds;
        } else {
          run.recorded = prev.outputs.attachedInstanceIds;
          run.outputs = prev.outputs;
        }
      }
    } catch (e: any) {
      // check or diff threw: nothing changes in the state.
      run.error = errorText(e);
      if (e instanceof HangError) run.hung = true;
      run.recorded ??= prev ? prev.outputs.attachedInstanceIds : [];
      if (prev) {
        run.recorded = prev.outputs.attachedInstanceIds;
        run.outputs = prev.outputs;
      }
    } finally {
      this.end(run);
    }
  }

  private async create(s: Stack, res: string, inputs: Props, run: Run): Promise<void> {
    run.op = "create";
    const replacing = s.state.get(res);
    try {
      const r = await timed(s.provider.create(inputs), "create");
      run.id = r.id;
      this.idToOwner.set(r.id, s.owner(res));
      s.state.set(res, { id: r.id, outputs: r.outs, inputs });
      run.ok = true;
      run.outputs = r.outs;
      run.recorded = r.outs.attachedInstanceIds;
    } catch (e: any) {
      run.error = errorText(e);
      if (e?.id && e?.properties) {
        run.partial = true;
        run.id = e.id;
        this.idToOwner.set(e.id, s.owner(res));
        s.state.set(res, { id: e.id, outputs: e.properties, inputs });
        // A replacement that failed half-way: the old resource is deleted at the next up.
        if (replacing) s.pendingDeletes.push({ res, r: replacing });
        run.outputs = e.properties;
        run.recorded = e.properties.attachedInstanceIds;
      } else if (!replacing) {
        run.recorded = [];
      } else {
        // The replacement failed as a whole: the old resource stays as it was; it is the one checked.
        run.recorded = replacing.outputs.attachedInstanceIds;
        run.outputs = replacing.outputs;
        run.id = replacing.id;
        run.keyPairId = replacing.outputs.keyPairId;
      }
    }
  }

  /** Deletes a resource with its stored outputs; `old`: a replaced resource (not the one the state names now). */
  private async deleteResource(s: Stack, res: string, r: Res, old: boolean): Promise<void> {
    const run = this.begin(s, res, "delete", r.outputs, r.id);
    run.keyPairId = r.outputs.keyPairId;
    try {
      await timed(s.provider.delete(r.id, r.outputs), "delete");
      run.ok = true;
      run.removed = true;
      run.recorded = [];
      if (!old) s.state.delete(res);
    } catch (e: any) {
      run.error = errorText(e);
      run.recorded = r.outputs.attachedInstanceIds;
      run.outputs = r.outputs;
      if (old) s.pendingDeletes.push({ res, r });
    } finally {
      this.end(run);
    }
  }

  /** `pulumi refresh` of a stack: read every resource, store what it says. */
  async refresh(s: Stack): Promise<void> {
    for (const [res, r] of [...s.state]) {
      const run = this.begin(s, res, "read", r.outputs, r.id);
      try {
        const got = await timed(s.provider.read(r.id, r.outputs), "read");
        run.ok = true;
        if (!got.id) {
          s.state.delete(res);
          run.removed = true;
          run.recorded = [];
        } else {
          s.state.set(res, { id: got.id, outputs: got.props, inputs: r.inputs });
          run.outputs = got.props;
          run.recorded = got.props.attachedInstanceIds;
        }
      } catch (e: any) {
        run.error = errorText(e);
        run.recorded = r.outputs.attachedInstanceIds;
        run.outputs = r.outputs;
      } finally {
        this.end(run);
      }
    }
  }
}

export class HangError extends Error {}

/** An operation that does not end within OP_TIMEOUT_MS is a finding of its own (liveness). */
function timed<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not end within ${OP_TIMEOUT_MS / 1000} s`)), OP_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function errorText(e: any): string {
  if (e instanceof HangError) return `HANG: ${e.message}`;
  const parts = [String(e?.message ?? e)];
  if (e?.properties) parts.push(JSON.stringify(e.properties));
  if (Array.isArray(e?.reasons)) parts.push(e.reasons.join("\n"));
  return parts.join("\n");
}

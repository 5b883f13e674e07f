/**
 * The emulator without its HTTP server: world, authenticator, edge faults, journal, statistics,
 * persistence, and the out-of-band world controls. server.ts puts this on the wire.
 */
import { readFileSync } from "node:fs";
import { Authenticator } from "./auth";
import { DelayDraw, parseDelay } from "./delays";
import { EdgeFaults } from "./faults";
import { validateResultCodes } from "./results";
import { World } from "./model";
import { StateFile, loadStateFile } from "./persist";
import type {
  EmulatorOptions,
  EmulatorSeed,
  EmulatorStateView,
  EmulatorStats,
  InstanceStatus,
  JournalEntry,
  ResultCodeStyle,
  SeedInstance,
  SeedKeyPair,
  WorldControl,
} from "./types";

/** ENS's limit of tags per resource (TagResources answers InvalidParameter.TagCount beyond it). */
const MAX_TAGS_PER_INSTANCE = 20;

export const DEFAULT_ACCESS_KEYS: Record<string, string> = { "ens-emulator-key": "ens-emulator-secret" };

function readSeed(seed: string | EmulatorSeed): EmulatorSeed {
  if (typeof seed !== "string") return seed;
  try {
    return JSON.parse(readFileSync(seed, "utf8")) as EmulatorSeed;
  } catch (e) {
    throw new Error(`cannot read seed file ${seed}: ${(e as Error).message}`);
  }
}

function delaysOf(o: EmulatorOptions): DelayDraw {
  return new DelayDraw(parseDelay(o.stopDelayMs, "stopDelayMs"), parseDelay(o.startDelayMs, "startDelayMs"), o.randomSeed);
}

function buildWorld(o: EmulatorOptions, now: number): World {
  if (o.regions !== undefined && !(Number.isInteger(o.regions) && o.regions >= 1)) throw new Error(`regions must be a whole number >= 1, got ${o.regions}`);
  const world = new World(delaysOf(o));
  const seed = o.seed === undefined ? {} : readSeed(o.seed);
  if (seed.keyPairs !== undefined && !Array.isArray(seed.keyPairs)) throw new Error("seed.keyPairs must be an array");
  if (seed.instances !== undefined && !Array.isArray(seed.instances)) throw new Error("seed.instances must be an array");
  for (const kp of seed.keyPairs ?? []) world.addKeyPair(kp, now);
  for (const inst of seed.instances ?? []) world.addInstance(inst, now);
  if (o.instances) world.generateInstances(o.instances, o.initialStatus ?? "Stopped", now, o.regions ?? 1);
  return world;
}

export class EmulatorCore {
  readonly world: World;
  readonly auth: Authenticator;
  readonly edge: EdgeFaults;
  readonly stateFile?: StateFile;
  private entries: JournalEntry[] = [];
  private calls: Record<string, number> = {};
  private readonly journalLimit: number;
  private readonly startupQuota: number | undefined;
  private readonly startupResultCodes: ResultCodeStyle;
  private resultCodeStyle: ResultCodeStyle;

  constructor(o: EmulatorOptions) {
    const now = Date.now();
    const keys = o.accessKeys ?? DEFAULT_ACCESS_KEYS;
    if (Object.keys(keys).length === 0) throw new Error("accessKeys must hold at least one id -> secret pair");
    const loaded = o.statePath ? loadStateFile(o.statePath) : undefined;
    this.world = loaded !== undefined ? World.fromJSON(loaded, delaysOf(o)) : buildWorld(o, now);
    this.world.resetPeak(now);
    this.auth = new Authenticator(new Map(Object.entries(keys)), o.maxSkewMs ?? 15 * 60_000);
    this.edge = new EdgeFaults(o.latencyMs ?? 0, o.faults, o.quotaPerSecond, o.randomSeed);
    this.startupQuota = this.edge.quotaPerSecond;
    this.startupResultCodes = this.resultCodeStyle = validateResultCodes(o.resultCodes ?? "number");
    this.journalLimit = o.journalLimit ?? 100_000;
    if (o.statePath) {
      const file = new StateFile(o.statePath, o.persistIntervalMs ?? 100, () => this.world.toJSON());
      this.stateFile = file;
      this.world.onMutate = () => file.markDirty();
    }
  }

  get resultCodes(): ResultCodeStyle {
    return this.resultCodeStyle;
  }
  setResultCodes(style: unknown): void {
    this.resultCodeStyle = validateResultCodes(style);
  }

  record(e: JournalEntry): void {
    this.entries.push(e);
    if (this.entries.length > this.journalLimit) this.entries.splice(0, this.entries.length - this.journalLimit);
    this.calls[e.action] = (this.calls[e.action] ?? 0) + 1;
  }

  journal(): JournalEntry[] {
    return this.entries.map((e) => ({ ...e, params: { ...e.params } }));
  }

  stats(): EmulatorStats {
    const now = Date.now();
    return {
      peakStopped: this.world.peakStopped,
      stoppedNow: this.world.stoppedNow(now),
      peakStoppedByRegion: Object.fromEntries(this.world.peakByRegion),
      downtime: this.world.downtimes.stats(now),
      calls: { ...this.calls },
    };
  }

  state(): EmulatorStateView {
    const now = Date.now();
    return {
      instances: this.world.list().map((i) => this.world.instanceView(i, now)),
      keyPairs: this.world.keyPairs().map(World.keyPairView),
    };
  }

  reset(): void {
    this.entries = [];
    this.calls = {};
    this.world.resetPeak(Date.now());
    this.edge.set({});
    this.edge.setQuota(this.startupQuota);
    this.resultCodeStyle = this.startupResultCodes;
    this.auth.clearNonces();
  }

  readonly control: WorldControl = {
    setInstanceStatus: (id: string, status: InstanceStatus) => this.world.forceStatus(this.instance(id), status),
    setInstanceKey: (id: string, keyPairName: string | undefined) => this.world.setKey(this.instance(id), keyPairName),
    deleteKeyPair: (nameOrId: string) => {
      const kp = this.world.keyPairById(nameOrId) ?? this.world.keyPairByName(nameOrId);
      if (!kp) throw new Error(`no key pair named or with id ${nameOrId}`);
      this.world.deleteKeyPair(kp);
    },
    addKeyPair: (kp: SeedKeyPair) => this.world.addKeyPair(kp, Date.now()).keyPairId,
    addInstances: (countOrSpecs: number | SeedInstance[], status: InstanceStatus = "Stopped") =>
      typeof countOrSpecs === "number"
        ? this.world.generateInstances(countOrSpecs, status, Date.now())
        : countOrSpecs.map((s) => this.world.addInstance(s, Date.now(), status).instanceId),
    removeInstance: (id: string) => {
      if (!this.world.removeInstance(id)) throw new Error(`no instance ${id}`);
    },
    setInstanceTags: (id: string, tags: Record<string, string | undefined>) => {
      const inst = this.instance(id);
      const next: Record<string, string> = { ...(inst.tags ?? {}) };
      for (const [k, v] of Object.entries(tags)) {
        if (v === undefined) delete next[k];
        else next[k] = v;
      }
      if (Object.keys(next).length > MAX_TAGS_PER_INSTANCE) throw new Error(`instance ${id} would have ${Object.keys(next).length} tags; ENS allows ${MAX_TAGS_PER_INSTANCE}`);
      this.world.setTags(inst, next);
    },
  };

  private instance(id: string) {
    const inst = this.world.instances.get(id);
    if (!inst) throw new Error(`no instance ${id}`);
    return inst;
  }
}

/**
 * The emulated ENS world: instances, key pairs, tags and the instance lifecycle.
 * No HTTP here. Transitions are lazy: Stopping/Starting carry an `until` timestamp and
 * resolve when read, so 10,000 instances cost no timers.
 */
import { createHash, randomBytes } from "node:crypto";
import { DelayDraw, Downtimes } from "./delays";
import { INSTANCE_STATUSES, InstanceStatus, InstanceView, KeyPairView, SeedInstance, SeedKeyPair } from "./types";

export interface Instance {
  instanceId: string;
  instanceName: string;
  ensRegionId: string;
  status: InstanceStatus;
  /** Epoch ms at which Stopping/Starting completes; undefined = stays until changed. */
  until?: number;
  keyPairName?: string;
  tags?: Record<string, string>;
  creationTime: string;
}

export interface KeyPair {
  keyPairId: string;
  keyPairName: string;
  keyPairFingerPrint: string;
  creationTime: string;
  publicKeyBody?: string;
}

export const DEFAULT_REGION = "cn-hangzhou-telecom";
/** Edge regions for generated instances (`regions`): real ENS region IDs (one city and carrier each), then numbered. */
const REGIONS = [DEFAULT_REGION, "cn-beijing-unicom", "cn-shanghai-mobile", "cn-guangzhou-telecom", "cn-chengdu-unicom", "cn-wuhan-telecom", "cn-xian-unicom", "cn-nanjing-mobile", "cn-shenzhen-telecom", "cn-tianjin-unicom"];
export const regionName = (i: number): string => REGIONS[i] ?? `cn-edge${i}-telecom`;
const STATE_FORMAT = "ens-emulator-state";

/** ISO 8601 without milliseconds, the form ENS uses: 2020-04-26T15:38:27Z. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
export const generatedId = (n: number): string => `i-emu${String(n).padStart(8, "0")}`;
export const newKeyPairId = (): string => `ssh-${randomBytes(12).toString("hex")}`;

/** MD5 of the decoded OpenSSH key blob, hex (RFC 4716 style without colons), or of random bytes. */
export function fingerprintOf(publicKeyBody?: string): string {
  const blob = publicKeyBody?.trim().split(/\s+/)[1];
  return createHash("md5")
    .update(blob ? Buffer.from(blob, "base64") : randomBytes(32))
    .digest("hex");
}

export class World {
  readonly instances = new Map<string, Instance>();
  /** Insertion order, used for paging. */
  private order: Instance[] = [];
  private keyPairsById = new Map<string, KeyPair>();
  private keyPairsByName = new Map<string, KeyPair>();
  /** Instances not Running because StopInstance(s) stopped them (Stopping, Stopped or Starting). */
  private apiStopped = new Set<string>();
  private sweptAt = -1;
  peakStopped = 0;
  /** peakStopped per EnsRegionId. */
  peakByRegion = new Map<string, number>();
  /** When each API-stopped instance was asked to stop, and how many times each instance was stopped. */
  private stoppedAt = new Map<string, number>();
  private stops = new Map<string, number>();
  readonly downtimes = new Downtimes();
  private nextIndex = 1;
  /** Called after every mutation (persistence hooks here). */
  onMutate: () => void = () => {};

  constructor(public delays: DelayDraw = new DelayDraw({ min: 0, max: 0 }, { min: 0, max: 0 })) {}

  // ---------- instances

  addInstance(spec: SeedInstance, now: number, status: InstanceStatus = "Stopped"): Instance {
    if (!spec.instanceId) throw new Error("instanceId is required");
    if (this.instances.has(spec.instanceId)) throw new Error(`duplicate instance ${spec.instanceId}`);
    const st = spec.status ?? status;
    if (!INSTANCE_STATUSES.includes(st)) throw new Error(`instance ${spec.instanceId}: unknown status ${st}`);
    const inst: Instance = {
      instanceId: spec.instanceId,
      instanceName: spec.instanceName ?? spec.instanceId,
      ensRegionId: spec.ensRegionId ?? DEFAULT_REGION,
      status: st,
      keyPairName: spec.keyPairName || undefined,
      tags: spec.tags && Object.keys(spec.tags).length ? { ...spec.tags } : undefined,
      creationTime: isoSeconds(now),
    };
    this.instances.set(inst.instanceId, inst);
    this.order.push(inst);
    const m = /^i-emu(\d{8})$/.exec(inst.instanceId);
    if (m) this.nextIndex = Math.max(this.nextIndex, Number(m[1]) + 1);
    this.onMutate();
    return inst;
  }

  /** `regions` > 1: grouped by region in ID order (the first count/regions IDs in the first region, ...). */
  generateInstances(count: number, status: InstanceStatus, now: number, regions = 1): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = generatedId(this.nextIndex);
      const ensRegionId = regions > 1 ? regionName(Math.floor((i * regions) / count)) : undefined;
      ids.push(this.addInstance({ instanceId: id, ensRegionId }, now, status).instanceId);
    }
    return ids;
  }

  removeInstance(id: string): boolean {
    const inst = this.instances.get(id);
    if (!inst) return false;
    this.instances.delete(id);
    this.order = this.order.filter((i) => i !== inst);
    this.apiStopped.delete(id);
    this.stoppedAt.delete(id);
    this.onMutate();
    return true;
  }

  /** All instances in creation order (statuses not resolved; use statusOf). */
  list(): readonly Instance[] {
    return this.order;
  }

  /** Current status, resolving a finished Stopping/Starting transition. */
  statusOf(inst: Instance, now: number): InstanceStatus {
    if (inst.until !== undefined && now >= inst.until) {
      if (inst.status === "Stopping") inst.status = "Stopped";
      else if (inst.status === "Starting") {
        inst.status = "Running";
        this.apiStopped.delete(inst.instanceId);
      }
      inst.until = undefined;
    }
    return inst.status;
  }

  /** Running -> Stopping (-> Stopped after the stop delay drawn for it). Caller checks the status first. */
  stop(inst: Instance, now: number): void {
    this.sweep(now);
    const cycle = (this.stops.get(inst.instanceId) ?? 0) + 1;
    this.stops.set(inst.instanceId, cycle);
    inst.status = "Stopping";
    inst.until = now + this.delays.draw("stop", inst.instanceId, cycle);
    this.apiStopped.add(inst.instanceId);
    this.stoppedAt.set(inst.instanceId, now);
    this.peakStopped = Math.max(this.peakStopped, this.apiStopped.size);
    const inRegion = [...this.apiStopped].filter((id) => this.instances.get(id)?.ensRegionId === inst.ensRegionId).length;
    this.peakByRegion.set(inst.ensRegionId, Math.max(this.peakByRegion.get(inst.ensRegionId) ?? 0, inRegion));
    this.onMutate();
  }

  /** Stopped -> Starting (-> Running after the start delay drawn for it). Caller checks the status first. */
  start(inst: Instance, now: number): void {
    this.sweptAt = -1; // with a start delay of 0 this instance counts as Running again from `now` on
    inst.status = "Starting";
    inst.until = now + this.delays.draw("start", inst.instanceId, this.stops.get(inst.instanceId) ?? 0);
    const stoppedAt = this.stoppedAt.get(inst.instanceId);
    if (stoppedAt !== undefined) this.downtimes.add(stoppedAt, inst.until);
    this.stoppedAt.delete(inst.instanceId);
    this.onMutate();
  }

  /** Out-of-band status change (tests): no transition timer, not counted as an API stop. */
  forceStatus(inst: Instance, status: InstanceStatus): void {
    if (!INSTANCE_STATUSES.includes(status)) throw new Error(`unknown status ${status}`);
    inst.status = status;
    inst.until = undefined;
    if (status === "Running") {
      this.apiStopped.delete(inst.instanceId);
      this.stoppedAt.delete(inst.instanceId);
    }
    this.sweptAt = -1;
    this.onMutate();
  }

  setKey(inst: Instance, keyPairName: string | undefined): void {
    inst.keyPairName = keyPairName || undefined;
    this.onMutate();
  }

  setTags(inst: Instance, tags: Record<string, string>): void {
    inst.tags = Object.keys(tags).length ? tags : undefined;
    this.onMutate();
  }

  /** Drops API-stopped instances that are Running again (or gone); once per distinct `now`. */
  private sweep(now: number): void {
    if (this.sweptAt === now) return;
    this.sweptAt = now;
    for (const id of this.apiStopped) {
      const inst = this.instances.get(id);
      if (!inst || this.statusOf(inst, now) === "Running") this.apiStopped.delete(id);
    }
  }

  stoppedNow(now: number): number {
    this.sweptAt = -1;
    this.sweep(now);
    return this.apiStopped.size;
  }

  /** Peaks restart at what is stopped now; downtimes are forgotten. */
  resetPeak(now: number): void {
    this.peakStopped = this.stoppedNow(now);
    this.peakByRegion.clear();
    for (const id of this.apiStopped) {
      const r = this.instances.get(id)!.ensRegionId;
      this.peakByRegion.set(r, (this.peakByRegion.get(r) ?? 0) + 1);
    }
    this.downtimes.clear();
  }

  // ---------- key pairs

  keyPairByName(name: string): KeyPair | undefined {
    return this.keyPairsByName.get(name);
  }
  keyPairById(id: string): KeyPair | undefined {
    return this.keyPairsById.get(id);
  }
  keyPairs(): KeyPair[] {
    return [...this.keyPairsById.values()];
  }

  addKeyPair(kp: SeedKeyPair, now: number, fingerPrint?: string): KeyPair {
    if (!kp.keyPairName) throw new Error("keyPairName is required");
    if (this.keyPairsByName.has(kp.keyPairName)) throw new Error(`duplicate key pair ${kp.keyPairName}`);
    const keyPairId = kp.keyPairId ?? newKeyPairId();
    if (this.keyPairsById.has(keyPairId)) throw new Error(`duplicate key pair id ${keyPairId}`);
    const rec: KeyPair = {
      keyPairId,
      keyPairName: kp.keyPairName,
      keyPairFingerPrint: fingerPrint ?? fingerprintOf(kp.publicKeyBody),
      creationTime: isoSeconds(now),
      publicKeyBody: kp.publicKeyBody,
    };
    this.keyPairsById.set(rec.keyPairId, rec);
    this.keyPairsByName.set(rec.keyPairName, rec);
    this.onMutate();
    return rec;
  }

  /** Allowed while attached: instances keep the (now dangling) keyPairName, as ENS does. */
  deleteKeyPair(kp: KeyPair): void {
    this.keyPairsById.delete(kp.keyPairId);
    this.keyPairsByName.delete(kp.keyPairName);
    this.onMutate();
  }

  // ---------- views

  instanceView(inst: Instance, now: number): InstanceView {
    return {
      instanceId: inst.instanceId,
      status: this.statusOf(inst, now),
      keyPairName: inst.keyPairName,
      ensRegionId: inst.ensRegionId,
      tags: { ...(inst.tags ?? {}) },
    };
  }

  static keyPairView(kp: KeyPair): KeyPairView {
    const { keyPairId, keyPairName, keyPairFingerPrint, creationTime } = kp;
    return { keyPairId, keyPairName, keyPairFingerPrint, creationTime };
  }

  // ---------- persistence (the file format; I/O lives in persist.ts)

  toJSON(): object {
    return {
      format: STATE_FORMAT,
      version: 1,
      nextIndex: this.nextIndex,
      apiStopped: [...this.apiStopped],
      instances: this.order,
      keyPairs: [...this.keyPairsById.values()],
    };
  }

  static fromJSON(data: unknown, delays: DelayDraw): World {
    const d = data as Record<string, unknown>;
    if (!d || d.format !== STATE_FORMAT || !Array.isArray(d.instances) || !Array.isArray(d.keyPairs)) {
      throw new Error(`not an ${STATE_FORMAT} file (expected {format:"${STATE_FORMAT}", instances:[], keyPairs:[]})`);
    }
    const w = new World(delays);
    for (const kp of d.keyPairs as KeyPair[]) {
      if (typeof kp?.keyPairId !== "string" || typeof kp.keyPairName !== "string") {
        throw new Error(`bad key pair record ${JSON.stringify(kp)}`);
      }
      w.keyPairsById.set(kp.keyPairId, { ...kp });
      w.keyPairsByName.set(kp.keyPairName, w.keyPairsById.get(kp.keyPairId)!);
    }
    for (const raw of d.instances as Instance[]) {
      if (typeof raw?.instanceId !== "string" || !INSTANCE_STATUSES.includes(raw.status)) {
        throw new Error(`bad instance record ${JSON.stringify(raw)}`);
      }
      const inst: Instance = { ...raw };
      w.instances.set(inst.instanceId, inst);
      w.order.push(inst);
    }
    for (const id of (d.apiStopped as string[] | undefined) ?? []) if (w.instances.has(id)) w.apiStopped.add(id);
    w.nextIndex = typeof d.nextIndex === "number" ? d.nextIndex : w.order.length + 1;
    return w;
  }
}

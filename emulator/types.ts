/** Public types of the ENS emulator (re-exported from emulator/index.ts). */

export type InstanceStatus = "Running" | "Stopped" | "Stopping" | "Starting" | "Expired";
export const INSTANCE_STATUSES: readonly InstanceStatus[] = ["Running", "Stopped", "Stopping", "Starting", "Expired"];

export interface SeedKeyPair {
  keyPairName: string;
  keyPairId?: string;
  publicKeyBody?: string;
}
export interface SeedInstance {
  instanceId: string;
  status?: InstanceStatus;
  keyPairName?: string;
  ensRegionId?: string;
  instanceName?: string;
  tags?: Record<string, string>;
}
export interface EmulatorSeed {
  keyPairs?: SeedKeyPair[];
  instances?: SeedInstance[];
}

export interface InstanceFailure {
  code: string;
  message: string;
}

/** Faults injected at the edge of the wire layer (see emulator/faults.ts). */
export interface Faults {
  /** Extra latency per API call, added to EmulatorOptions.latencyMs. */
  latencyMs?: number;
  /** 0..1: share of API calls answered 400 Throttling.User. */
  throttleRate?: number;
  /** 0..1: share of API calls answered 503 ServiceUnavailable. */
  errorRate?: number;
  /** 0..1: share of API calls whose socket is destroyed without any response. */
  dropRate?: number;
  /** Per-instance failures reported inside AttachKeyPair / DetachKeyPair Results (nothing else is affected). */
  instanceFailures?: Record<string, InstanceFailure>;
  /** Limits the random faults (throttle, error, drop) to these actions; all actions when unset. */
  actions?: string[];
}

export interface EmulatorOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 = any free port. */
  port?: number;
  /** id -> secret; default { "ens-emulator-key": "ens-emulator-secret" }. */
  accessKeys?: Record<string, string>;
  /** Generate N instances "i-emu00000001"... in cn-hangzhou-telecom. */
  instances?: number;
  /** Status of generated instances; default "Stopped". */
  initialStatus?: "Running" | "Stopped";
  /** Path to a JSON seed file or the seed itself. */
  seed?: string | EmulatorSeed;
  /** Persist the world here; loaded at start when the file exists (then seed/instances are ignored). */
  statePath?: string;
  /** Latency added to every API call. */
  latencyMs?: number;
  /** Stopping -> Stopped duration; default 0 (the next read sees Stopped). */
  stopDelayMs?: number;
  /** Starting -> Running duration; default 0. */
  startDelayMs?: number;
  /** Per-second API request quota per access key (all actions); beyond it: 400 Throttling.User. */
  quotaPerSecond?: number;
  faults?: Faults;
  /** Seed for the PRNG used by the fault rates; Math.random when unset. */
  randomSeed?: number | string;
  /** Journal entries kept in memory (oldest dropped first); default 100000. */
  journalLimit?: number;
  /** Coalescing window for state-file writes; default 100 ms. */
  persistIntervalMs?: number;
  /** Allowed clock skew for Timestamp / x-acs-date and the nonce memory; default 15 minutes. */
  maxSkewMs?: number;
}

export interface JournalEntry {
  action: string;
  params: Record<string, string>;
  /** 0 when the connection was dropped by a fault. */
  httpStatus: number;
  code?: string;
  at: string;
  accessKeyId?: string;
}

export interface EmulatorStats {
  peakStopped: number;
  stoppedNow: number;
  calls: Record<string, number>;
}

export interface InstanceView {
  instanceId: string;
  status: InstanceStatus;
  keyPairName?: string;
  ensRegionId: string;
  tags: Record<string, string>;
}
export interface KeyPairView {
  keyPairId: string;
  keyPairName: string;
  keyPairFingerPrint: string;
  creationTime: string;
}
export interface EmulatorStateView {
  instances: InstanceView[];
  keyPairs: KeyPairView[];
}

/** Out-of-band world mutations for tests (no API call, not journaled). */
export interface WorldControl {
  setInstanceStatus(instanceId: string, status: InstanceStatus): void;
  setInstanceKey(instanceId: string, keyPairName: string | undefined): void;
  /** Deletes even when attached; instances keep the (now dangling) KeyPairName. */
  deleteKeyPair(nameOrId: string): void;
  /** Adds a key pair; returns its KeyPairId. */
  addKeyPair(kp: SeedKeyPair): string;
  /** Adds N generated instances (continuing the i-emu numbering) or the given ones; returns their ids. */
  addInstances(countOrSpecs: number | SeedInstance[], status?: InstanceStatus): string[];
  /** Removes an instance as if it had been released. */
  removeInstance(instanceId: string): void;
}

export interface RunningEmulator {
  url: string;
  endpoint: string;
  /** "127.0.0.1:PORT", the form @alicloud/openapi-client wants in Config.endpoint. */
  hostPort: string;
  accessKeyId: string;
  accessKeySecret: string;
  state(): EmulatorStateView;
  journal(): JournalEntry[];
  stats(): EmulatorStats;
  setFaults(f: Faults): void;
  faults(): Faults;
  setQuota(perSecond: number | undefined): void;
  /** Clears journal, stats (peakStopped restarts at stoppedNow), faults, nonce memory; restores the startup quota. Keeps the world. */
  reset(): void;
  world: WorldControl;
  /** Stops the server and flushes the state file. */
  close(): Promise<void>;
}

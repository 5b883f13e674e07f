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

/**
 * How per-instance outcomes (AttachKeyPair/DetachKeyPair `Results`, Stop/StartInstances `InstanceResponses`) carry
 * their `Code`: "number" as the SDK models type it (200 ok; 400 on failure with "<ErrorName>: <text>" in Message),
 * "string" = the error name itself in Code (the emulator's former answer). See emulator/CONFORMANCE.md.
 */
export type ResultCodeStyle = "number" | "string";
export const RESULT_CODE_STYLES: readonly ResultCodeStyle[] = ["number", "string"];

export type ThrottleCode = "Throttling" | "Throttling.User" | "Throttling.Api";
export const THROTTLE_CODES: readonly ThrottleCode[] = ["Throttling", "Throttling.User", "Throttling.Api"];

/** Faults injected at the edge of the wire layer (see emulator/faults.ts). */
export interface Faults {
  /** Extra latency per API call, added to EmulatorOptions.latencyMs. */
  latencyMs?: number;
  /** 0..1: share of API calls answered as throttled (throttleCode / throttleStatus; default 400 Throttling.User). */
  throttleRate?: number;
  /** 0..1: share of API calls answered 503 ServiceUnavailable. */
  errorRate?: number;
  /** 0..1: share of API calls whose socket is destroyed without any response. */
  dropRate?: number;
  /** 0..1: share of API calls carried out on the world whose answer is then lost (the connection is destroyed). */
  lostAnswerRate?: number;
  /** Per-instance failures reported inside AttachKeyPair / DetachKeyPair Results (nothing else is affected). */
  instanceFailures?: Record<string, InstanceFailure>;
  /** Limits the random faults (throttle, error, drop, lost answer) to these actions; all actions when unset. */
  actions?: string[];
  /**
   * StopInstances/StartInstances fail as a whole call (nothing changes) when any listed instance is in the wrong
   * state (400 IncorrectInstanceStatus) or unknown (400 InstanceIdNotFound / InstanceNotFound), instead of
   * answering per-instance results.
   */
  wholeCallPowerFailure?: boolean;
  /** Error code of the throttle fault and of the quota answer; default "Throttling.User". */
  throttleCode?: ThrottleCode;
  /** HTTP status of the throttle fault and of the quota answer; default 400. */
  throttleStatus?: 400 | 429;
}

/**
 * A transition delay in ms: a number, or a range drawn uniformly per instance and transition, as "MIN-MAX"
 * (e.g. "1000-3000") or [min, max]. Deterministic with `randomSeed`.
 */
export type DelayMs = number | string | readonly [number, number];

export interface EmulatorOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 = any free port. */
  port?: number;
  /** id -> secret; default { "ens-emulator-key": "ens-emulator-secret" }. */
  accessKeys?: Record<string, string>;
  /** Generate N instances "i-emu00000001"... in cn-hangzhou-telecom (see `regions`). */
  instances?: number;
  /**
   * Spread the generated instances over this many edge regions (EnsRegionId), grouped by region in ID order (the
   * first n/R IDs in the first region, ...), as one city's instances often come together. Default 1.
   */
  regions?: number;
  /** Status of generated instances; default "Stopped". */
  initialStatus?: "Running" | "Stopped";
  /** Path to a JSON seed file or the seed itself. */
  seed?: string | EmulatorSeed;
  /** Persist the world here; loaded at start when the file exists (then seed/instances are ignored). */
  statePath?: string;
  /** Latency added to every API call. */
  latencyMs?: number;
  /** Stopping -> Stopped duration, or a range drawn per instance and stop; default 0 (the next read sees Stopped). */
  stopDelayMs?: DelayMs;
  /** Starting -> Running duration, or a range drawn per instance and start; default 0. */
  startDelayMs?: DelayMs;
  /** Per-second API request quota per access key (all actions); beyond it: 400 Throttling.User. */
  quotaPerSecond?: number;
  faults?: Faults;
  /** Form of per-instance result codes; default "number" (as the SDK models type them). */
  resultCodes?: ResultCodeStyle;
  /** Seed for the PRNG used by the fault rates and the delay ranges; Math.random when unset. */
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
  /** 0 when no answer reached the client (dropRate: code ConnectionDropped; lostAnswerRate: code AnswerLost). */
  httpStatus: number;
  code?: string;
  at: string;
  accessKeyId?: string;
}

/** Downtime per instance and stop-start cycle (Stopping until Running again), in ms, over the cycles ended so far. */
export interface DowntimeStats {
  mean: number;
  p95: number;
  max: number;
  /** Cycles counted. */
  count: number;
}

export interface EmulatorStats {
  peakStopped: number;
  stoppedNow: number;
  /** peakStopped per EnsRegionId (regions where an API stop happened since start or reset). */
  peakStoppedByRegion: Record<string, number>;
  /** Since start or reset. */
  downtime: DowntimeStats;
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
  /**
   * Sets tags on an instance as a person would in the console: merged into its tags (a value of `undefined`
   * removes that key), at most 20 per instance as TagResources enforces (beyond: an Error, nothing changes).
   */
  setInstanceTags(instanceId: string, tags: Record<string, string | undefined>): void;
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
  /** Switches the form of per-instance result codes at run time. */
  setResultCodes(style: ResultCodeStyle): void;
  resultCodes(): ResultCodeStyle;
  /**
   * Clears journal, stats (peakStopped restarts at stoppedNow), faults, nonce memory; restores the startup quota
   * and result-code style. Keeps the world.
   */
  reset(): void;
  world: WorldControl;
  /** Stops the server and flushes the state file. */
  close(): Promise<void>;
}

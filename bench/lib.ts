/** Shared pieces of the benchmark: the record type, the emulator + provider environment, counting and bounds. */
import { EmulatorOptions, RunningEmulator, startEmulator } from "../emulator";
import { checkInputs, getClient, readSettings, setLogger } from "../provider";

export type Variant = "ours" | "per-instance" | "sequential-batches" | "fixed-budget";

/** One measured row, as written by --json. Optional fields only where they apply. */
export interface Row {
  scenario: string;
  variant: Variant;
  n: number;
  latencyMs?: number;
  /** Calls ENS served (HTTP 200) per action; throttled attempts show up as retries. */
  calls?: Record<string, number>;
  retries?: number;
  wallMs: number;
  /** The bound: max(ceil(n/30) x latency / concurrency, ceil(n/30) / quota), per Attach/Detach phase. */
  lowerBoundMs?: number;
  /** Same bound counting every call the variant needed (describes, tags...), not only Attach/Detach. */
  callsBoundMs?: number;
  maxStopped?: number;
  leftStopped?: number;
  /** Anything else a scenario reports (settings, per-round figures, bytes...). */
  extra?: Record<string, number | string | boolean>;
  /** Set when wallMs was not measured at n but scaled linearly from a run at this n. */
  extrapolatedFromN?: number;
  failures?: number;
}

export interface BenchOptions {
  quick: boolean;
  /** Measure the one-call-per-instance baseline at every n instead of extrapolating the largest. */
  fullBaseline: boolean;
  log: (line: string) => void;
}

export const BATCH = 30;
export const KEY_NAME = "bench-key";
export const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);

export interface ProviderSettings {
  maxConcurrent?: number;
  perSecond?: number;
  pollIntervalMs?: number;
}

/** An emulator on loopback and the provider pointed at it through the environment, as users configure it. */
export async function benchEnv(emuOpts: EmulatorOptions, s: ProviderSettings = {}) {
  const emu = await startEmulator({ seed: { keyPairs: [{ keyPairName: KEY_NAME }] }, ...emuOpts });
  const env: Record<string, string> = {
    ENS_ENDPOINT: emu.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  };
  if (s.maxConcurrent) env.ENS_MAX_CONCURRENT_CALLS = String(s.maxConcurrent);
  if (s.perSecond) env.ENS_CALLS_PER_SECOND = String(s.perSecond);
  if (s.pollIntervalMs) env.ENS_POLL_INTERVAL_MS = String(s.pollIntervalMs);
  for (const k of ["ENS_MAX_CONCURRENT_CALLS", "ENS_CALLS_PER_SECOND", "ENS_POLL_INTERVAL_MS", "ENS_SIGNATURE_ALGORITHM"]) delete process.env[k];
  Object.assign(process.env, env);
  setLogger({ info: () => {}, warn: () => {} });
  const keyPairId = emu.state().keyPairs.find((k) => k.keyPairName === KEY_NAME)!.keyPairId;
  /** The provider's process-wide client (what every resource shares) and the settings it runs with. */
  const client = () => getClient(readSettings());
  return {
    emu,
    keyPairId,
    client,
    settings: () => readSettings(),
    /** Inputs as check() normalizes them (pure part only: no live call is counted). */
    inputs: (instanceIds: string[], more: Record<string, unknown> = {}) => {
      const { inputs, failures } = checkInputs({ keyPairId, instanceIds, ...more });
      if (failures.length) throw new Error(JSON.stringify(failures));
      return { __provider: "BENCH", ...inputs };
    },
    /** Runs fn with a clean journal; returns its wall time, served calls per action and the client's retries. */
    async measure<T>(fn: () => Promise<T>, retriesOf: () => number = () => client().stats.retries) {
      emu.reset();
      const r0 = retriesOf();
      const t0 = performance.now();
      const value = await fn();
      const wallMs = Math.round(performance.now() - t0);
      return { value, wallMs, calls: servedCalls(emu), retries: retriesOf() - r0 };
    },
    notRunning: () => emu.state().instances.filter((i) => i.status !== "Running").length,
    close: () => emu.close(),
  };
}

export type BenchEnv = Awaited<ReturnType<typeof benchEnv>>;

export function servedCalls(emu: RunningEmulator): Record<string, number> {
  const out: Record<string, number> = {};
  for (const j of emu.journal()) if (j.httpStatus === 200) out[j.action] = (out[j.action] ?? 0) + 1;
  return out;
}

/** max(calls x latency / concurrency, calls / quota), in ms. */
export function callBound(calls: number, latencyMs: number, concurrency: number, perSecond: number): number {
  return Math.round(Math.max((calls * latencyMs) / concurrency, (calls / perSecond) * 1000));
}

export const batches = (n: number) => Math.ceil(n / BATCH);
export const sum = (calls: Record<string, number> = {}) => Object.values(calls).reduce((a, b) => a + b, 0);

/**
 * Edge faults: latency, random throttling / 503 / dropped connections, the per-access-key quota,
 * and the per-instance failure table handed to actions. The wire layer consults this in one place.
 */
import { EnsFault, Errors } from "./errors";
import type { Faults, InstanceFailure } from "./types";

export type EdgeDecision = { kind: "pass" } | { kind: "drop" } | { kind: "fail"; fault: EnsFault };

/** mulberry32 over a 32-bit hash of the seed: small, fast, deterministic. */
export function seededRandom(seed: number | string): () => number {
  let h = 2166136261;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Throws a readable Error when `f` is not a valid Faults object; returns a clean copy. */
export function validateFaults(f: unknown): Faults {
  if (f === null || typeof f !== "object" || Array.isArray(f)) throw new Error("faults must be a JSON object");
  const o = f as Record<string, unknown>;
  const out: Faults = {};
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (k === "latencyMs") {
      if (typeof v !== "number" || !(v >= 0)) throw new Error("latencyMs must be a number >= 0");
      out.latencyMs = v;
    } else if (k === "throttleRate" || k === "errorRate" || k === "dropRate") {
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new Error(`${k} must be a number between 0 and 1`);
      out[k] = v;
    } else if (k === "instanceFailures") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("instanceFailures must be an object");
      const table: Record<string, InstanceFailure> = {};
      for (const [id, e] of Object.entries(v as Record<string, unknown>)) {
        const ee = e as Record<string, unknown> | null;
        if (!ee || typeof ee.code !== "string" || !ee.code || typeof (ee.message ?? "") !== "string") {
          throw new Error(`instanceFailures.${id} must be {code: string, message: string}`);
        }
        table[id] = { code: ee.code, message: (ee.message as string | undefined) ?? ee.code };
      }
      out.instanceFailures = table;
    } else if (k === "actions") {
      if (!Array.isArray(v) || !v.every((a) => typeof a === "string" && a)) throw new Error("actions must be a list of action names");
      out.actions = [...v];
    } else if (k !== "quotaPerSecond") {
      throw new Error(`unknown fault "${k}" (known: latencyMs, throttleRate, errorRate, dropRate, instanceFailures, actions, quotaPerSecond)`);
    }
  }
  return out;
}

export function validateQuota(q: unknown): number | undefined {
  if (q === undefined || q === null || q === 0) return undefined;
  if (typeof q !== "number" || !Number.isInteger(q) || q < 0) throw new Error("quotaPerSecond must be a positive integer (0 or null = unlimited)");
  return q;
}

export class EdgeFaults {
  private faults: Faults;
  private quota: number | undefined;
  private windows = new Map<string, { second: number; count: number }>();
  private readonly random: () => number;

  constructor(
    private readonly baseLatencyMs: number,
    faults: Faults | undefined,
    quotaPerSecond: number | undefined,
    randomSeed?: number | string,
  ) {
    this.faults = validateFaults(faults ?? {});
    this.quota = validateQuota(quotaPerSecond);
    this.random = randomSeed === undefined ? Math.random : seededRandom(randomSeed);
  }

  get current(): Faults {
    return JSON.parse(JSON.stringify(this.faults));
  }
  get quotaPerSecond(): number | undefined {
    return this.quota;
  }
  set(f: Faults): void {
    this.faults = validateFaults(f);
  }
  setQuota(q: number | undefined): void {
    this.quota = validateQuota(q);
    this.windows.clear();
  }

  latencyMs(): number {
    return this.baseLatencyMs + (this.faults.latencyMs ?? 0);
  }

  instanceFault(instanceId: string): InstanceFailure | undefined {
    return this.faults.instanceFailures?.[instanceId];
  }

  /** Quota first (every call counts), then drop, throttle and error, each drawn independently. */
  decide(accessKeyId: string, now: number, action: string): EdgeDecision {
    if (this.quota !== undefined) {
      const second = Math.floor(now / 1000);
      const w = this.windows.get(accessKeyId);
      if (!w || w.second !== second) this.windows.set(accessKeyId, { second, count: 1 });
      else if (++w.count > this.quota) return { kind: "fail", fault: Errors.throttled() };
    }
    const { dropRate = 0, throttleRate = 0, errorRate = 0, actions } = this.faults;
    if (actions && !actions.includes(action)) return { kind: "pass" };
    if (dropRate > 0 && this.random() < dropRate) return { kind: "drop" };
    if (throttleRate > 0 && this.random() < throttleRate) return { kind: "fail", fault: Errors.throttled() };
    if (errorRate > 0 && this.random() < errorRate) return { kind: "fail", fault: Errors.serviceUnavailable() };
    return { kind: "pass" };
  }
}

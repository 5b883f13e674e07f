/**
 * Edge faults: latency, random throttling / 503 / dropped connections / lost answers, the per-access-key quota,
 * and the per-instance failure table and whole-call switch handed to actions. The wire layer consults this in
 * one place.
 */
import { EnsFault, Errors } from "./errors";
import { THROTTLE_CODES } from "./types";
import type { Faults, InstanceFailure, ThrottleCode } from "./types";

/** "lose": carry the action out, then destroy the connection without an answer. */
export type EdgeDecision = { kind: "pass" } | { kind: "drop" } | { kind: "lose" } | { kind: "fail"; fault: EnsFault };

const RATES = ["throttleRate", "errorRate", "dropRate", "lostAnswerRate"] as const;
/** Keys the admin endpoint accepts next to the faults (handled there). */
const ADMIN_KEYS = new Set(["quotaPerSecond", "resultCodes"]);
const KNOWN = [
  "latencyMs", ...RATES, "instanceFailures", "actions", "wholeCallPowerFailure", "throttleCode", "throttleStatus", ...ADMIN_KEYS,
];

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
    } else if ((RATES as readonly string[]).includes(k)) {
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new Error(`${k} must be a number between 0 and 1`);
      out[k as (typeof RATES)[number]] = v;
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
    } else if (k === "wholeCallPowerFailure") {
      if (typeof v !== "boolean") throw new Error("wholeCallPowerFailure must be true or false");
      out.wholeCallPowerFailure = v;
    } else if (k === "throttleCode") {
      if (!THROTTLE_CODES.includes(v as ThrottleCode)) throw new Error(`throttleCode must be one of ${THROTTLE_CODES.join(", ")}`);
      out.throttleCode = v as ThrottleCode;
    } else if (k === "throttleStatus") {
      if (v !== 400 && v !== 429) throw new Error("throttleStatus must be 400 or 429");
      out.throttleStatus = v;
    } else if (!ADMIN_KEYS.has(k)) {
      throw new Error(`unknown fault "${k}" (known: ${KNOWN.join(", ")})`);
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

  get wholeCallPowerFailure(): boolean {
    return this.faults.wholeCallPowerFailure === true;
  }

  private throttled(): EnsFault {
    return Errors.throttled(this.faults.throttleCode ?? "Throttling.User", this.faults.throttleStatus ?? 400);
  }

  /** Quota first (every call counts), then drop, throttle, error and lost answer, each drawn independently. */
  decide(accessKeyId: string, now: number, action: string): EdgeDecision {
    if (this.quota !== undefined) {
      const second = Math.floor(now / 1000);
      const w = this.windows.get(accessKeyId);
      if (!w || w.second !== second) this.windows.set(accessKeyId, { second, count: 1 });
      else if (++w.count > this.quota) return { kind: "fail", fault: this.throttled() };
    }
    const { dropRate = 0, throttleRate = 0, errorRate = 0, lostAnswerRate = 0, actions } = this.faults;
    if (actions && !actions.includes(action)) return { kind: "pass" };
    if (dropRate > 0 && this.random() < dropRate) return { kind: "drop" };
    if (throttleRate > 0 && this.random() < throttleRate) return { kind: "fail", fault: this.throttled() };
    if (errorRate > 0 && this.random() < errorRate) return { kind: "fail", fault: Errors.serviceUnavailable() };
    if (lostAnswerRate > 0 && this.random() < lostAnswerRate) return { kind: "lose" };
    return { kind: "pass" };
  }
}

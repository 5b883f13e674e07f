/**
 * Transition delays (Stopping -> Stopped, Starting -> Running) as ranges drawn per instance and transition, and the
 * downtime each instance sees (from Stopping to Running again). With a random seed a draw depends only on the seed,
 * the instance, the transition and how many times that instance was stopped before, so the order of requests does not
 * change it.
 */
import { seededRandom } from "./faults";
import type { DelayMs, DowntimeStats } from "./types";

export interface DelayRange {
  min: number;
  max: number;
}

/** A delay as given: a number, "MIN-MAX" (or "N"), or [min, max]. Throws a readable Error otherwise. */
export function parseDelay(v: DelayMs | undefined, name: string): DelayRange {
  if (v === undefined) return { min: 0, max: 0 };
  let min: number;
  let max: number;
  if (typeof v === "number") min = max = v;
  else if (Array.isArray(v)) [min, max] = v;
  else {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(String(v));
    if (!m) throw new Error(`${name} must be a number of milliseconds or a range MIN-MAX (e.g. 1000-3000), got ${JSON.stringify(v)}`);
    min = Number(m[1]);
    max = m[2] === undefined ? min : Number(m[2]);
  }
  if (![min, max].every((x) => Number.isInteger(x) && x >= 0) || max < min) {
    throw new Error(`${name} must be whole milliseconds >= 0 with MIN <= MAX, got ${JSON.stringify(v)}`);
  }
  return { min, max };
}

export const formatDelay = (r: DelayRange): string => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`);

/** Draws delays: uniform whole milliseconds in [min, max]. */
export class DelayDraw {
  constructor(
    readonly stop: DelayRange,
    readonly start: DelayRange,
    private readonly seed?: number | string,
  ) {}

  draw(kind: "stop" | "start", instanceId: string, cycle: number): number {
    const r = kind === "stop" ? this.stop : this.start;
    if (r.max === r.min) return r.min;
    const u = this.seed === undefined ? Math.random() : seededRandom(`${this.seed}|${instanceId}|${kind}|${cycle}`)();
    return r.min + Math.floor(u * (r.max - r.min + 1));
  }
}

/** Completed stop-start cycles: the downtime of each, counted once it has ended. */
export class Downtimes {
  private cycles: { endsAt: number; ms: number }[] = [];

  add(stoppedAt: number, runningAt: number): void {
    this.cycles.push({ endsAt: runningAt, ms: runningAt - stoppedAt });
  }

  clear(): void {
    this.cycles = [];
  }

  /** Mean, 95th percentile (nearest rank) and max in ms over the cycles ended by `now`; zeros when none has. */
  stats(now: number): DowntimeStats {
    const ms = this.cycles.filter((c) => c.endsAt <= now).map((c) => c.ms).sort((a, b) => a - b);
    if (!ms.length) return { mean: 0, p95: 0, max: 0, count: 0 };
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    return { mean: Math.round(mean), p95: ms[Math.ceil(0.95 * ms.length) - 1], max: ms[ms.length - 1], count: ms.length };
  }
}

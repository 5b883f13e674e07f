import { currentAccountKey } from "../settings";
import { LeaseBounds } from "./tags";

/**
 * Stop limits for the fleet, not per resource. Every rolling window of this provider process registers the
 * instances it holds down; leases of other runs (other stacks) read from ENS count too. A window's scheduler counts
 * all of these against its own bounds, so two attachments with `maxStoppedPerRegion: 2` never put four instances of
 * one city down together.
 */

export interface Down {
  /** Instance → its EnsRegionId ("" when ENS did not say). */
  readonly byInstance: ReadonlyMap<string, string>;
}

/** Windows per ENS account (settings.ts currentAccountKey): another account's instances (same IDs maybe) are not ours. */
const windows = new Map<symbol, { down: () => Iterable<[string, string]>; bounds: LeaseBounds; account: string }>();

/**
 * Registers a window's instances that are down now (a function, read at each decision) under the account of the
 * running operation; returns the unregister.
 */
export function registerWindow(down: () => Iterable<[string, string]>, bounds: LeaseBounds): { self: symbol; done: () => void } {
  const self = Symbol("window");
  windows.set(self, { down, bounds, account: currentAccountKey() });
  return { self, done: () => windows.delete(self) };
}

/**
 * The bounds a window keeps: its own, and those of every other window and run that holds an instance down now (a
 * user's `maxStoppedInstances: 1` holds while any of their instances is down, whoever stops the others).
 */
export function effectiveBounds(own: LeaseBounds, self: symbol, foreign: readonly LeaseBounds[]): LeaseBounds {
  const all = [own, ...foreign];
  for (const [key, w] of windows) if (key !== self && sameAccount(w, self) && [...w.down()].length) all.push(w.bounds);
  return tightest(all);
}

/** The smallest of each bound. */
export function tightest(all: readonly LeaseBounds[]): LeaseBounds {
  const per = all.map((b) => b.maxStoppedPerRegion).filter((n): n is number => n !== undefined);
  return { maxStopped: Math.min(...all.map((b) => b.maxStopped)), ...(per.length ? { maxStoppedPerRegion: Math.min(...per) } : {}) };
}

/**
 * Instances down elsewhere: in the other windows of this process, and under live leases of other runs (`leased`,
 * instance → region), each counted once.
 */
export function downElsewhere(self: symbol, leased: ReadonlyMap<string, string>, mine: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, w] of windows) if (key !== self && sameAccount(w, self)) for (const [id, region] of w.down()) out.set(id, region);
  for (const [id, region] of leased) if (!mine.has(id)) out.set(id, region);
  return out;
}

/** The effective concurrency of a window over `regions` regions, for preview: "at most 10 at once: 5 per region x 2 region(s)". */
export function concurrencyLine(maxStopped: number, perRegion: number | undefined, regions: number): string {
  if (perRegion === undefined || regions === 0) return `at most ${maxStopped} at once`;
  const byRegions = perRegion * regions;
  return byRegions <= maxStopped ? `at most ${byRegions} at once: ${perRegion} per region x ${regions} region(s)` : `at most ${maxStopped} at once, ${perRegion} per region`;
}

function sameAccount(w: { account: string }, self: symbol): boolean {
  const mine = windows.get(self);
  return !mine || mine.account === w.account;
}

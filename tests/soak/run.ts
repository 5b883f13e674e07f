/**
 * Runs soak histories: each is a fresh world (emulator, pool, key pairs, stacks with their own provider processes)
 * and a random list of commands (fast-check's model-based testing), every invariant checked after every command.
 * Used by the CLI (tests/soak/cli.ts, `npm run soak`) and by the jest test (tests/soak/soak.test.ts).
 */
import fc from "fast-check";
import { commandArbitraries, InvariantBroken, Kind, KINDS, Model, Real } from "./commands";
import { Tracker } from "./invariants";
import { LoadProvider, SoakSystem, WorldConfig } from "./system";

export interface SoakOptions {
  /** Histories to run: seeds seed, seed+1, ... (each replayable alone with --runs 1 --seed <that seed>). */
  runs: number;
  seed: number;
  /** fast-check's counterexample path, to replay one shrunk history (with runs 1). */
  path?: string;
  /** Commands per history: at most (and at least, about: fast-check draws the length). */
  maxCommands: number;
  /** Fewer commands than this are not drawn (before shrinking). */
  minCommands: number;
  kinds: readonly Kind[];
  /** Invariants not checked (already written down in FINDINGS.md), e.g. ["1y", "4"]. */
  skip: string[];
  shrink: boolean;
  /** Time given to shrinking one failing history. */
  shrinkTimeMs: number;
  load: LoadProvider;
  log: (line: string) => void;
  /** Prints each history's steps as they happen. */
  verbose?: boolean;
}

export interface SoakViolation {
  seed: number;
  path: string | null;
  invariants: string[];
  message: string;
  commands: string;
  story: string[];
}

export interface SoakResult {
  histories: number;
  counts: Real["counts"];
  violations: SoakViolation[];
}

export const worldArbitrary: fc.Arbitrary<WorldConfig> = fc.record({
  poolSize: fc.integer({ min: 12, max: 30 }),
  regions: fc.integer({ min: 2, max: 4 }),
  keyCount: fc.integer({ min: 2, max: 3 }),
  stackCount: fc.integer({ min: 2, max: 3 }),
  stopped: fc.uniqueArray(fc.nat(29), { maxLength: 8 }),
  randomSeed: fc.nat(),
});

export function zeroCounts(): Real["counts"] {
  return { up: 0, rotate: 0, takeover: 0, destroy: 0, refresh: 0, crash: 0, hand: 0, fault: 0, concurrent: 0, steps: 0 };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const saved = { ...process.env };
  // As provider-env.ts: small poll interval, high call ceiling (each stack's config says the same and wins).
  Object.assign(process.env, { ENS_POLL_INTERVAL_MS: "10", ENS_CALLS_PER_SECOND: "1000" });
  // A crashed run's leases hold other stacks' stop slots until they expire (FINDINGS.md F5): short leases keep the
  // soak going. Runs here last seconds, far below a third of this (when leases are renewed).
  process.env.ENS_LEASE_SECONDS ??= "15";
  const counts = zeroCounts();
  const violations: SoakViolation[] = [];
  let histories = 0;
  try {
    for (let i = 0; i < o.runs; i++) {
      const seed = o.seed + i;
      let last: InvariantBroken | undefined;
      let shrinking = false;
      const property = fc.asyncProperty(worldArbitrary, fc.commands(commandArbitraries(o.kinds), { maxCommands: o.maxCommands, size: "max" }).filter((c) => [...c].length >= Math.min(o.minCommands, o.maxCommands)), async (config, cmds) => {
        // Counts cover the histories as first drawn, not the shrinking replays.
        const mine = shrinking ? zeroCounts() : counts;
        if (!shrinking) histories++;
        const sys = new SoakSystem(config, o.load);
        const tracker = new Tracker();
        for (const s of o.skip) tracker.skip.add(s);
        const real: Real = { sys, tracker, counts: mine, verbose: o.verbose && !shrinking ? o.log : undefined, story: [`world: ${config.poolSize} instances in ${config.regions} regions, ${config.keyCount} key pairs, ${config.stackCount} stacks, Stopped at start: [${config.stopped.filter((x) => x < config.poolSize).join(",")}]`] };
        try {
          await sys.start();
          const model: Model = { poolSize: config.poolSize, stackCount: config.stackCount, keyCount: config.keyCount, programs: Array.from({ length: config.stackCount }, () => new Map()), removed: new Set(), deletedKeys: new Set() };
          await fc.asyncModelRun(() => ({ model, real }), cmds);
        } catch (e) {
          if (e instanceof InvariantBroken) last = e;
          shrinking = true;
          throw e;
        } finally {
          await sys.close();
        }
      });
      const started = Date.now();
      o.log(`soak: history seed ${seed}...`);
      const res = await fc.check(property, {
        numRuns: 1,
        seed,
        // Each history is the first (and only) run of its check: without this fast-check draws it small on purpose.
        unbiased: true,
        ...(o.path ? { path: o.path } : {}),
        endOnFailure: !o.shrink,
        interruptAfterTimeLimit: o.shrink ? o.shrinkTimeMs : undefined,
        markInterruptAsFailure: false,
      });
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (!res.failed) {
        o.log(`soak: history seed ${seed} held every promise (${took} s)`);
        continue;
      }
      const err = (res.errorInstance ?? last) as Error | undefined;
      const broken = err instanceof InvariantBroken ? err : last;
      const commands = res.counterexample ? String(res.counterexample[1]) : "?";
      const v: SoakViolation = {
        seed,
        path: res.counterexamplePath,
        invariants: broken ? [...new Set(broken.violations.map((x) => x.invariant))] : ["error"],
        message: broken ? broken.message : String(err?.stack ?? err ?? res.errorInstance),
        commands,
        story: broken?.story ?? [],
      };
      violations.push(v);
      o.log(formatViolation(v, took));
    }
  } finally {
    process.env = saved;
  }
  return { histories, counts, violations };
}

export function formatViolation(v: SoakViolation, took?: string): string {
  return [
    `soak: VIOLATION in history seed ${v.seed}${took ? ` (${took} s with shrinking)` : ""}: invariant(s) ${v.invariants.join(", ")}`,
    `  replay: npm run soak -- --runs 1 --seed ${v.seed}${v.path ? ` --path ${v.path}` : ""}`,
    `  commands (shrunk): ${v.commands}`,
    `  ${v.message.split("\n").join("\n  ")}`,
    `  what happened:`,
    ...v.story.map((s, i) => `    ${i}. ${s}`),
  ].join("\n");
}

export function summaryLine(r: SoakResult): string {
  const c = r.counts;
  return `soak: ${r.histories} histories, ${c.steps} steps (up ${c.up}, rotate ${c.rotate}, takeover ${c.takeover}, destroy ${c.destroy}, crash ${c.crash}, hand ${c.hand}, fault ${c.fault}, concurrent ${c.concurrent}), ${r.violations.length} violations`;
}

export const ALL_KINDS = KINDS;

/**
 * Issue 17: random lifecycles, many writers. A bounded run of the model-based soak (tests/soak/run.ts): a few
 * histories of 2-3 stacks over one pool of instances, every invariant checked after every command. On a violation
 * it fails with the seed and fast-check's path, to replay with `npm run soak -- --runs 1 --seed S --path P`.
 * SOAK_SEED / SOAK_RUNS / SOAK_SKIP (invariants not checked, e.g. "4c,1y") change the run; findings: FINDINGS.md.
 */
import { KINDS } from "./commands";
import { formatViolation, runSoak, summaryLine } from "./run";
import type { ProviderModule } from "./system";

/** A new provider process: jest's isolated module registry gives each stack its own copy of the provider. */
function loadProvider(): ProviderModule {
  let mod: ProviderModule | undefined;
  jest.isolateModules(() => {
    mod = require("../../provider");
  });
  return mod!;
}

const seed = Number(process.env.SOAK_SEED ?? 1700);
const runs = Number(process.env.SOAK_RUNS ?? 5);
const skip = (process.env.SOAK_SKIP ?? "").split(",").filter(Boolean);

test(`${runs} soak histories from seed ${seed} hold every promise`, async () => {
  const lines: string[] = [];
  const r = await runSoak({ runs, seed, maxCommands: 12, minCommands: 5, kinds: KINDS, skip, shrink: false, shrinkTimeMs: 0, load: loadProvider, log: (l) => lines.push(l) });
  const summary = summaryLine(r);
  if (r.violations.length) throw new Error(`${summary}\n\n${r.violations.map((v) => formatViolation(v)).join("\n\n")}`);
  expect(r.histories).toBe(runs);
  expect(r.counts.steps).toBeGreaterThan(0);
}, 170_000);

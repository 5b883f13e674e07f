/**
 * Issue 17 through the real Pulumi CLI (slow): the model-based soak (tests/soak) with two stacks as two users would
 * have them (own project, stack name, backend and access key), the package installed from `npm pack`, one emulator
 * with a shared pool of 12 instances (Running and Stopped, 2 regions), 2-3 key pairs. Each history: 10 random commands
 * (up with overlapping instance sets, rotate, takeover, destroy, refresh, crash = SIGKILL of the whole `pulumi` tree
 * after k ENS calls, hand = a console change, concurrent = both stacks' up at once), every invariant checked after
 * every command against the exported states and the emulator (tests/soak/invariants.ts, tests/soak/cli-commands.ts).
 *   SOAK_CLI_SEED (default 1744: its 3 histories draw 6 destroys, so 1d and 2d are checked), SOAK_CLI_RUNS (3), SOAK_CLI_STEPS (10), SOAK_CLI_PATH (replay), SOAK_CLI_SKIP ("4c,1y"),
 *   SOAK_CLI_ENV (JSON: more provider environment), SOAK_CLI_VERBOSE (steps on stderr as they end), SOAK_CLI_DEBUG_DIR
 *   (every CLI output written there)
 * A violation fails with the seed and the replay command; findings go to tests/soak/FINDINGS.md.
 */
import { cliSummaryLine, formatCliViolation, runCliSoak } from "../../soak/cli-commands";
import { summarize } from "../../helpers/rel-summary";

const seed = Number(process.env.SOAK_CLI_SEED ?? 1744);
const runs = Number(process.env.SOAK_CLI_RUNS ?? 3);
const steps = Number(process.env.SOAK_CLI_STEPS ?? 10);
const path = process.env.SOAK_CLI_PATH || undefined;
const skip = (process.env.SOAK_CLI_SKIP ?? "").split(",").filter(Boolean);

test(`${runs} CLI soak histories of ${steps} steps from seed ${seed} hold every promise`, async () => {
  const lines: string[] = [];
  const log = (l: string) => {
    lines.push(l);
    if (process.env.SOAK_CLI_VERBOSE) process.stderr.write(`${l}\n`);
  };
  log(`soak-cli: ${runs} histories of ${steps} steps from seed ${seed}${skip.length ? `, not checking ${skip.join(",")}` : ""} (replay one: SOAK_CLI_SEED=<seed> SOAK_CLI_RUNS=1)`);
  const r = await runCliSoak({ runs, seed, steps, path, skip, log });
  const summary = cliSummaryLine(r);
  lines.push(summary);
  console.log(lines.join("\n"));
  summarize("soak-cli", { seed, histories: r.histories, ...r.counts, violations: r.violations.length, wallMs: r.ms });
  if (r.violations.length) throw new Error(`${summary}\n\n${r.violations.map((v) => formatCliViolation(v)).join("\n\n")}`);
  expect(r.histories).toBe(runs);
  expect(r.counts.steps).toBeGreaterThan(0);
}, 1_800_000);

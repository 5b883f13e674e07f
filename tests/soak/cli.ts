/**
 * npm run soak -- --runs N --seed S [--path P] [--commands up,destroy,...] [--skip 1y,4] [--min-commands 5] [--max-commands 12]
 *                 [--no-shrink] [--shrink-seconds 120]
 * Runs N histories (seeds S, S+1, ...); the last line is the summary; exit code 1 when an invariant broke.
 */
import path from "node:path";
import { KINDS, Kind } from "./commands";
import { runSoak, summaryLine } from "./run";
import type { ProviderModule } from "./system";

function parse(argv: string[]) {
  const o = { runs: 5, seed: Date.now() % 1_000_000, path: undefined as string | undefined, kinds: [...KINDS] as Kind[], skip: [] as string[], maxCommands: 12, minCommands: 5, shrink: true, shrinkSeconds: 120, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--runs") o.runs = Number(next());
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--path") o.path = next();
    else if (a === "--commands") o.kinds = next().split(",").filter(Boolean) as Kind[];
    else if (a === "--skip") o.skip = next().split(",").filter(Boolean);
    else if (a === "--max-commands") o.maxCommands = Number(next());
    else if (a === "--min-commands") o.minCommands = Number(next());
    else if (a === "--no-shrink") o.shrink = false;
    else if (a === "--verbose") o.verbose = true;
    else if (a === "--shrink-seconds") o.shrinkSeconds = Number(next());
    else throw new Error(`unknown option ${a} (known: --runs, --seed, --path, --commands, --skip, --max-commands, --no-shrink, --shrink-seconds)`);
  }
  for (const k of o.kinds) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`unknown command ${k} (known: ${KINDS.join(", ")})`);
  if (!Number.isInteger(o.runs) || o.runs < 1 || !Number.isInteger(o.seed)) throw new Error("--runs must be >= 1 and --seed a whole number");
  return o;
}

/** A new provider process: the provider's modules loaded afresh (their module-level state is per process). */
const providerDir = path.resolve(__dirname, "../../provider") + path.sep;
function loadProvider(): ProviderModule {
  for (const k of Object.keys(require.cache)) if (k.startsWith(providerDir)) delete require.cache[k];
  return require("../../provider");
}

async function main() {
  let o: ReturnType<typeof parse>;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`soak: ${(e as Error).message}`);
    process.exit(2);
  }
  console.log(`soak: ${o.runs} histories from seed ${o.seed}, at most ${o.maxCommands} commands each, commands ${o.kinds.join(",")}${o.skip.length ? `, not checking ${o.skip.join(",")}` : ""}`);
  const r = await runSoak({ runs: o.runs, seed: o.seed, path: o.path, maxCommands: o.maxCommands, minCommands: o.minCommands, kinds: o.kinds, skip: o.skip, shrink: o.shrink, shrinkTimeMs: o.shrinkSeconds * 1000, load: loadProvider, log: (l) => console.log(l), verbose: o.verbose });
  if (r.counts.refresh) console.log(`soak: also ${r.counts.refresh} refresh step(s)`);
  console.log(summaryLine(r));
  process.exit(r.violations.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(3);
});

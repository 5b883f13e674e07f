/**
 * Benchmark runner: `npm run bench [-- --quick] [--json FILE] [--markdown FILE] [--only 1,3] [--full-baseline]`.
 * Runs the scenarios against the ENS emulator on loopback, prints one table with each figure's ratio to its
 * lower bound and to its baseline, then the targets met or missed.
 *   --json FILE       one record per measured row (see Row in lib.ts)
 *   --markdown FILE   the same as Markdown with the command, date and machine (bench/RESULTS.md)
 *   --full-baseline   measure one-call-per-instance at the largest n too (else scaled from the next n, and said)
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { footprint } from "./footprint";
import { batches, BenchOptions, Row } from "./lib";
import { manyResources } from "./many-resources";
import { CONCURRENCY, QUOTA, scale } from "./scale";
import { stopFirst, stopFirstTargets } from "./stop-first";
import { callsCell, ms, ratio, renderTable } from "./table";
import { THROTTLED_QUOTA, throttled } from "./throttled";
import { hundredResources } from "./hundred-resources";
import { tenThousand } from "./ten-thousand";
import { rotation } from "./rotation";

const SCENARIOS: [string, (o: BenchOptions) => Promise<Row[]>][] = [
  ["1", scale],
  ["2", stopFirst],
  ["3", throttled],
  ["4", manyResources],
  ["5", footprint],
  ["6", tenThousand],
  ["7", hundredResources],
  ["8", rotation],
];

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      markdown: { type: "string" },
      only: { type: "string" },
      "full-baseline": { type: "boolean", default: false },
    },
  });
  const only = values.only?.split(",").map((s) => s.trim());
  const started = Date.now();
  const opts: BenchOptions = {
    quick: values.quick!,
    fullBaseline: values["full-baseline"]!,
    log: (l) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${l}\n`),
  };
  const rows: Row[] = [];
  for (const [id, run] of SCENARIOS) if (!only || only.includes(id)) rows.push(...(await run(opts)));
  const totalS = Math.round((Date.now() - started) / 1000);

  const headers = ["scenario", "variant", "n", "lat", "calls served", "retries", "wall", "bound", "x bound", "x calls bound", "speed-up vs baselines", "note"];
  const table = rows.map((r, i) => [
    r.extra?.label ? `${r.scenario} (${r.extra.label})` : r.scenario,
    r.variant,
    String(r.n),
    r.latencyMs === undefined ? "" : `${r.latencyMs} ms`,
    callsCell(r.calls),
    r.retries === undefined ? "" : String(Math.round(r.retries)),
    `${ms(r.wallMs)}${r.extrapolatedFromN ? "*" : ""}`,
    ms(r.lowerBoundMs),
    r.lowerBoundMs ? ratio(r.wallMs / r.lowerBoundMs) : "",
    r.callsBoundMs ? ratio(r.wallMs / r.callsBoundMs) : "",
    versus(r, rows),
    notes(r) ? `[${i + 1}]` : "",
  ]);
  const footnotes = rows.map((r, i) => (notes(r) ? `[${i + 1}] ${r.scenario} ${r.variant} n=${r.n}: ${notes(r)}` : "")).filter(Boolean);
  const verdicts = targets(rows, opts.quick);
  const setup = [
    `Emulator in this process on loopback. Scenarios 1, 2, 4: emulated quota ${QUOTA}/s and ENS_CALLS_PER_SECOND=${QUOTA}, ENS_MAX_CONCURRENT_CALLS=${CONCURRENCY} (= DEFAULT_BUDGET); baselines use the same budget.`,
    `Scenario 3: emulated quota ${THROTTLED_QUOTA}/s, provider at its defaults (16 in flight, at most 50/s, adaptive), the same with a fixed budget (never adapts: the provider before), then ENS_CALLS_PER_SECOND=${THROTTLED_QUOTA}; then no quota, defaults and fixed. Scenario 5: no latency, no quota.`,
    `bound = max(ceil(n/30) x latency / concurrency, ceil(n/30) / quota) per Attach/Detach phase; calls bound = the same over every call the row made.`,
    `Scenario 6: n=10,000 in one resource, the provider (built, dist/) in a process of its own, quota ${QUOTA}/s, defaults. Scenario 7: 100 attachments of 100 instances in one stack through the Pulumi CLI, quota ${QUOTA}/s, defaults, against the same stack of no-op dynamic resources.`,
    `"calls served" = HTTP 200 answers per action; throttled attempts count as retries. * = extrapolated linearly (see notes).`,
  ];
  console.log(`\n${setup.join("\n")}\n\n${renderTable(headers, table)}\n\n${footnotes.join("\n")}\n\n${renderTable(["target", "figure", "verdict"], verdicts)}\n\nTotal ${totalS} s`);

  if (values.json) fs.writeFileSync(values.json, JSON.stringify(rows, null, 2) + "\n");
  if (values.markdown) {
    const command = `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join("")}`;
    const machine = `${os.cpus().length} CPUs (nproc ${os.availableParallelism?.() ?? os.cpus().length}, ${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}, ${os.platform()} ${os.release()}`;
    const md = [
      "# Benchmark results",
      "",
      `Command: \`${command.replace(/ --$/, "")}\` (total ${totalS} s)  `,
      `Date: ${new Date().toISOString()}  `,
      `Machine: ${machine}  `,
      `Code: ${revision()}`,
      "",
      ...setup.map((s) => `- ${s}`),
      "",
      renderTable(headers, table, true),
      "",
      ...footnotes.map((f) => `${f}  `),
      "",
      "## Targets",
      "",
      renderTable(["target", "figure", "verdict"], verdicts, true),
      "",
    ].join("\n");
    fs.writeFileSync(values.markdown, md);
  }
}

/** Speed-up of ours over each baseline of the same (scenario, n, latency), or footprint's up against no-op resources. */
function versus(r: Row, rows: Row[]): string {
  if (r.variant !== "ours") return "";
  if (r.extra?.noopUpMs) return `${ratio(r.wallMs / Number(r.extra.noopUpMs))} of no-op up`;
  const base = rows.filter((b) => b.variant !== "ours" && b.scenario === r.scenario && b.n === r.n && b.latencyMs === r.latencyMs);
  const short: Record<string, string> = { "per-instance": "per-inst", "sequential-batches": "seq-batch", "fixed-budget": "fixed" };
  return base.map((b) => `${short[b.variant]} ${ratio(b.wallMs / r.wallMs)}${b.extrapolatedFromN ? "*" : ""}`).join(", ");
}

function notes(r: Row): string {
  const e = r.extra ?? {};
  const out: string[] = [];
  if (r.extrapolatedFromN) out.push(`*scaled x${r.n / r.extrapolatedFromN} from n=${r.extrapolatedFromN}`);
  if (e.maxStoppedInstances) out.push(`maxStoppedInstances ${e.maxStoppedInstances}: peak stopped ${r.maxStopped}, left stopped ${r.leftStopped}`);
  if (e.maxStoppedPerRegion) out.push(`${e.regions} regions grouped in ID order, maxStoppedPerRegion ${e.maxStoppedPerRegion}: peak per region ${e.peakPerRegion}`);
  if (e.maxDescribePerRound !== undefined) out.push(`DI per round <= ${e.maxDescribePerRound} over ${e.pollingRounds} rounds; stop/start ${e.stopDelayMs}/${e.startDelayMs} ms, poll ${e.pollIntervalMs} ms`);
  if (e.downtimeMeanMs !== undefined) out.push(`downtime per instance mean ${ms(Number(e.downtimeMeanMs))}, p95 ${ms(Number(e.downtimeP95Ms))}, max ${ms(Number(e.downtimeMaxMs))}`);
  const how = e.adaptive === true ? " ceiling, adaptive," : e.adaptive === false ? " fixed" : "";
  if (e.quotaPerSecond) out.push(`emulated quota ${e.quotaPerSecond}/s, provider budget ${e.budgetPerSecond}/s${how} and ${e.budgetConcurrent} in flight`);
  else if (e.adaptive !== undefined) out.push(`no quota, provider budget ${e.budgetPerSecond}/s${how} and ${e.budgetConcurrent} in flight`);
  if (e.throttledAttempts !== undefined) out.push(`throttled attempts ${e.throttledAttempts}`);
  if (e.stoppedOnce !== undefined) out.push(`stopped once ${e.stoppedOnce}, more than once ${e.stoppedMoreThanOnce}; the old resource's delete: ${e.oldDeleteBindingOrPowerCalls} binding or power calls; protocol calls ${e.protocolCalls}`);
  if (e.peakRssMB !== undefined) out.push(`provider process (its own): peak RSS ${e.peakRssMB} MB (${e.loadedRssMB} MB loaded, before the first call); create ${ms(Number(e.createMs))}, delete ${ms(Number(e.deleteMs))}`);
  if (e.beyondCallsPerResourceMs !== undefined) out.push(`${e.resources} resources x ${e.instancesPerResource} through the CLI: ${e.beyondCallsPerResourceMs} ms per resource beyond the all-calls bound; no-op up ${ms(Number(e.noopUpMs))} (${e.noopPerResourceMs} ms per resource)`);
  if (r.failures !== undefined && !e.providerBytes) out.push(`failed ${r.failures}`);
  if (e.providerBytes) {
    out.push(`${e.resources} resources; __provider ${e.providerBytes} B (no-op's ${e.noopProviderBytes} B); state ${e.stateBytesPerResource} B/resource (no-op ${e.noopStateBytesPerResource}), ${e.stateBytesPerInstance} B/instance`);
    out.push(`cold start ${e.coldStartMs} ms (${e.coldStartSinceProcessStartMs} ms from process start), warm call ${e.warmCallMs} ms; no-op up ${ms(Number(e.noopUpMs))}; the provider's default 50/s budget alone needs ${ms(Number(e.budgetBoundMs))} for these calls`);
  }
  return out.join("; ");
}

function targets(rows: Row[], quick: boolean): string[][] {
  const out: string[][] = [];
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
  const exact = rows.filter((r) => r.variant === "ours" && (r.extra?.expectedAttach !== undefined || r.scenario === "1 scale"));
  const wrong = exact.filter((r) => {
    const want = r.scenario === "1 scale" ? { a: batches(r.n), d: batches(r.n) } : { a: r.extra?.expectedAttach, d: r.extra?.expectedDetach };
    return (r.calls?.AttachKeyPair ?? 0) !== want.a || (want.d !== undefined && (r.calls?.DetachKeyPair ?? 0) !== want.d);
  });
  out.push(["Attach/Detach calls = ceil(n/30) per phase", wrong.length ? wrong.map((r) => `${r.scenario} n=${r.n}: ${callsCell(r.calls)}`).join("; ") : `exact in ${exact.length} runs`, verdict(!wrong.length)]);

  const head = rows.find((r) => r.scenario === "1 scale" && r.variant === "ours" && r.n === 3000 && r.latencyMs === 50);
  const perInst = rows.find((r) => r.scenario === "1 scale" && r.variant === "per-instance" && r.n === 3000 && r.latencyMs === 50);
  if (head && perInst) {
    const b = head.wallMs / head.lowerBoundMs!;
    out.push(["n=3000, 50 ms: wall <= 1.25x lower bound", `${ms(head.wallMs)} vs ${ms(head.lowerBoundMs)}: ${ratio(b)} (${ratio(head.wallMs / head.callsBoundMs!)} of the bound over all ${Math.round(sumCalls(head))} calls; the lower bound counts only the ${attachDetach(head)} Attach/Detach calls)`, verdict(b <= 1.25)]);
    const s = perInst.wallMs / head.wallMs;
    out.push(["n=3000, 50 ms: >= 20x faster than one call per instance", `${ms(perInst.wallMs)}${perInst.extrapolatedFromN ? ` (scaled from n=${perInst.extrapolatedFromN})` : ""} vs ${ms(head.wallMs)}: ${ratio(s)}`, verdict(s >= 20)]);
  } else out.push(["n=3000, 50 ms targets", quick ? "not measured under --quick" : "not measured", "-"]);

  out.push(...stopFirstTargets(rows));
  const t = rows.find((r) => r.scenario === "3 throttled" && r.variant === "ours" && r.extra?.budgetPerSecond !== THROTTLED_QUOTA);
  if (t) {
    const b = t.wallMs / t.lowerBoundMs!;
    const c = t.wallMs / t.callsBoundMs!;
    const share = Number(t.extra!.throttledAttempts) / sumCalls(t);
    const fixed = rows.find((r) => r.scenario === t.scenario && r.variant === "fixed-budget");
    const was = fixed ? ` (fixed budget: ${ms(fixed.wallMs)}, ${ratio(fixed.wallMs / fixed.callsBoundMs!)})` : "";
    out.push(["throttled: wall <= 1.3x quota bound, nothing failed", `${ms(t.wallMs)} vs ${ms(t.lowerBoundMs)}: ${ratio(b)} (${ratio(c)} of the all-calls bound; the quota bound counts only the ${attachDetach(t)} of ${sumCalls(t)} calls that are Attach/Detach), ${t.retries} retries, ${t.failures} failed`, verdict(b <= 1.3 && t.failures === 0)]);
    out.push([`quota ${THROTTLED_QUOTA}/s learnt (defaults): wall <= 1.1x all-calls bound, nothing failed`, `${ms(t.wallMs)} vs ${ms(t.callsBoundMs)}: ${ratio(c)}, ${t.failures} failed${was}`, verdict(c <= 1.1 && t.failures === 0)]);
    out.push([`quota ${THROTTLED_QUOTA}/s learnt (defaults): throttled attempts <= 3% of calls`, `${t.extra!.throttledAttempts} throttled of ${sumCalls(t)} calls: ${(100 * share).toFixed(1)}%, ${t.extra!.throttledFirstSecond} of them within a second of the first (sent at the ceiling before ENS first answered "throttled", or into the rest of the quota second that exhausted)${fixed ? `; fixed budget: ${fixed.extra!.throttledAttempts}` : ""}`, verdict(share <= 0.03)]);
  }
  const free = rows.find((r) => r.scenario === "3 no quota" && r.variant === "ours");
  const freeFixed = rows.find((r) => r.scenario === "3 no quota" && r.variant === "fixed-budget");
  if (free && freeFixed) {
    // One run each: scheduling noise on a loaded machine is a few percent; 5% is the margin allowed for it.
    out.push([
      "no quota: no slower than the fixed budget (the provider before; 5% allowed for run-to-run noise)",
      `${ms(free.wallMs)} vs ${ms(freeFixed.wallMs)}: ${ratio(free.wallMs / freeFixed.wallMs)}; ${ratio(free.wallMs / free.callsBoundMs!)} vs ${ratio(freeFixed.wallMs / freeFixed.callsBoundMs!)} of the all-calls bound`,
      verdict(free.wallMs <= 1.05 * freeFixed.wallMs),
    ]);
  }
  const m = rows.find((r) => r.scenario === "4 many-resources");
  if (m) {
    // A lone throttle at a window edge is jitter (budget = quota exactly); a budget per resource would be 50x over quota.
    const storm = Number(m.extra!.throttledAttempts) > 0.02 * sumCalls(m);
    out.push(["many resources share one budget (throttled < 2% of calls)", `${m.extra!.throttledAttempts} throttled of ${sumCalls(m)} calls, ${m.retries} retries, ${m.failures} failed, ${ratio(m.wallMs / m.callsBoundMs!)} of the all-calls bound`, verdict(!storm && m.failures === 0)]);
  }
  const big = rows.find((r) => r.scenario === "6 ten thousand");
  if (big) {
    const c = big.wallMs / big.callsBoundMs!;
    out.push([`n=${big.n} in one resource: wall <= 1.1x all-calls bound`, `${ms(big.wallMs)} vs ${ms(big.callsBoundMs)}: ${ratio(c)} (${sumCalls(big)} calls, ${big.extra!.throttledAttempts} throttled, ${big.failures} failed)`, verdict(c <= 1.1 && big.failures === 0)]);
    out.push([`n=${big.n} in one resource: peak RSS of the provider process`, `${big.extra!.peakRssMB} MB (${big.extra!.loadedRssMB} MB before the first call)`, "reported"]);
  }
  const cli = rows.find((r) => r.scenario.startsWith("7 hundred"));
  if (cli) {
    const e = cli.extra!;
    out.push([
      `${e.resources} resources x ${e.instancesPerResource} through the CLI: wall per resource beyond the provider's calls`,
      `up ${ms(cli.wallMs)} vs all-calls bound ${ms(cli.callsBoundMs)} (${sumCalls(cli)} calls): ${e.beyondCallsPerResourceMs} ms per resource; no-op up ${e.noopPerResourceMs} ms per resource; ${cli.failures} failed`,
      "reported",
    ]);
  }
  const f = rows.find((r) => r.scenario === "5 footprint");
  if (f) out.push(["__provider < 1 KB per resource", `${f.extra!.providerBytes} B`, verdict(Number(f.extra!.providerBytes) < 1024)]);
  return out;
}

/** The commit measured, and whether provider/ or emulator/ had uncommitted changes. */
function revision(): string {
  try {
    const git = (...a: string[]) => execFileSync("git", a, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const dirty = git("status", "--porcelain", "--", "provider", "emulator").split("\n").filter(Boolean).map((l) => l.slice(3));
    return `commit ${git("rev-parse", "--short", "HEAD").trim()}${dirty.length ? ` with uncommitted changes in ${dirty.join(", ")}` : ""}`;
  } catch {
    return "not a git checkout";
  }
}

const attachDetach = (r: Row) => (r.calls?.AttachKeyPair ?? 0) + (r.calls?.DetachKeyPair ?? 0);
const sumCalls = (r: Row) => Object.values(r.calls ?? {}).reduce((a, b) => a + b, 0);

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

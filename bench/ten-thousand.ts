/**
 * Scenario 6: 10,000 instances in one resource. The provider runs in a node process of its own (the built package,
 * dist/: `npm run bench` builds it) so that its peak RSS is its own, not the emulator's; the emulator stays here.
 * Attach then detach, at the defaults (16 in flight, 50/s) against a 50/s quota and 50 ms latency.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { batches, BenchOptions, benchEnv, callBound, Row, servedCalls, sum } from "./lib";
import { QUOTA } from "./scale";

const ROOT = path.resolve(__dirname, "..");

export async function tenThousand(o: BenchOptions): Promise<Row[]> {
  const n = o.quick ? 3000 : 10_000;
  const latencyMs = 50;
  if (!fs.existsSync(path.join(ROOT, "dist/provider/index.js"))) throw new Error("dist/ is missing: run npm run build first (npm run bench does)");
  o.log(`ten thousand: n=${n} in one resource, provider in its own process`);
  const env = await benchEnv({ instances: n, latencyMs, quotaPerSecond: QUOTA }, {});
  try {
    const { maxConcurrentCalls, callsPerSecond } = env.settings();
    env.emu.reset();
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", childScript(env.keyPairId, n)], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 20,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ENS_ENDPOINT: env.emu.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: env.emu.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: env.emu.accessKeySecret,
      },
    });
    const r = JSON.parse(stdout.trim().split("\n").pop()!);
    const calls = servedCalls(env.emu);
    const leftBound = env.emu.state().instances.filter((i) => i.keyPairName).length;
    return [
      {
        scenario: "6 ten thousand",
        variant: "ours",
        n,
        latencyMs,
        calls,
        retries: r.retries,
        wallMs: r.wallMs,
        lowerBoundMs: 2 * callBound(batches(n), latencyMs, maxConcurrentCalls, QUOTA),
        callsBoundMs: callBound(sum(calls), latencyMs, maxConcurrentCalls, QUOTA),
        failures: n - r.attached + leftBound,
        extra: {
          quotaPerSecond: QUOTA,
          budgetPerSecond: callsPerSecond ?? 0,
          budgetConcurrent: maxConcurrentCalls,
          adaptive: true,
          throttledAttempts: env.emu.journal().filter((j) => j.code === "Throttling.User").length,
          createMs: r.createMs,
          deleteMs: r.deleteMs,
          peakRssMB: Math.round(r.maxRssKB / 1024),
          loadedRssMB: Math.round(r.loadedRssBytes / 2 ** 20),
          expectedAttach: batches(n),
          expectedDetach: batches(n),
        },
      },
    ];
  } finally {
    await env.close();
  }
}

/** The provider process: loads the built provider, creates then deletes one attachment of n instances, says how. */
function childScript(keyPairId: string, n: number): string {
  return `
    const { provider, checkInputs, setLogger, getClient } = require("./dist/provider");
    setLogger({ info() {}, warn() {} });
    const ids = Array.from({ length: ${n} }, (_, i) => "i-emu" + String(i + 1).padStart(8, "0"));
    (async () => {
      const { inputs, failures } = checkInputs({ keyPairId: ${JSON.stringify(keyPairId)}, instanceIds: ids });
      if (failures.length) throw new Error(JSON.stringify(failures));
      const loadedRssBytes = process.memoryUsage().rss;
      const t0 = performance.now();
      const created = await provider.create({ __provider: "BENCH", ...inputs });
      const t1 = performance.now();
      await provider.delete(created.id, created.outs);
      const t2 = performance.now();
      process.stdout.write("\\n" + JSON.stringify({
        wallMs: Math.round(t2 - t0), createMs: Math.round(t1 - t0), deleteMs: Math.round(t2 - t1),
        attached: created.outs.attachedInstanceIds.length,
        retries: getClient().stats.retries, maxRssKB: process.resourceUsage().maxRSS, loadedRssBytes,
      }) + "\\n");
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
}

/**
 * Requests per second the ENS emulator serves on loopback through the real @alicloud/openapi-client,
 * and the emulator's memory with N instances. The emulator runs as its own process (the CLI), so its
 * RSS and CPU are not mixed with the client's ("emulator CPU ms/call" bounds what the emulator alone could
 * serve per core: 1000 / that figure).
 *
 * Run (ts-node is not a dependency; compile to a temp dir):
 *   npx tsc --outDir /tmp/ens-bench --rootDir . --module commonjs --target ES2020 --esModuleInterop \
 *       --skipLibCheck --types node bench/emulator-rps.ts emulator/cli.ts
 *   NODE_PATH=$PWD/node_modules node /tmp/ens-bench/bench/emulator-rps.js [--calls 2000] [--concurrency 16] [--instances 10000]
 * Options: --cli PATH (default: ../emulator/cli.js next to this file, else dist/emulator/cli.js).
 */
import OpenApi, * as $OpenApi from "@alicloud/openapi-client";
import OpenApiUtil from "@alicloud/openapi-util";
import * as $Util from "@alicloud/tea-util";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    instances: { type: "string", default: "10000" },
    cli: { type: "string" },
  },
});
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);
const INSTANCES = Number(values.instances);
const cliPath =
  values.cli ?? [join(__dirname, "..", "emulator", "cli.js"), join(process.cwd(), "dist", "emulator", "cli.js")].find((p) => existsSync(p));
if (!cliPath) throw new Error("emulator CLI not found: build it (npm run build) or pass --cli");

const getJson = (url: string): Promise<any> =>
  new Promise((resolve, reject) =>
    get(url, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve(JSON.parse(text)));
    }).on("error", reject),
  );

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function run(url: string, label: string, signatureAlgorithm: string | undefined, action: string, query: Record<string, string>, calls = CALLS) {
  const client = new OpenApi(
    new $OpenApi.Config({
      accessKeyId: "ens-emulator-key",
      accessKeySecret: "ens-emulator-secret",
      endpoint: url.replace(/^http:\/\//, ""),
      protocol: "http",
      signatureAlgorithm,
    }),
  );
  const params = new $OpenApi.Params({
    action, version: "2017-11-10", protocol: "HTTPS", pathname: "/", method: "POST",
    authType: "AK", style: "RPC", reqBodyType: "formData", bodyType: "json",
  });
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const t = process.hrtime.bigint();
      try {
        await client.callApi(params, new $OpenApi.OpenApiRequest({ query: OpenApiUtil.query(query) }), new $Util.RuntimeOptions({}));
      } catch {
        failures++;
      }
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  const cpu0 = (await getJson(`${url}/__emulator/health`)).cpuMicros;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - t0) / 1000;
  if (!label) return; // warm-up
  const cpuPerCall = ((await getJson(`${url}/__emulator/health`)).cpuMicros - cpu0) / calls / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
  console.log(
    `${label.padEnd(48)} ${String(Math.round(calls / seconds)).padStart(6)} req/s   p50 ${pct(50)} ms   p99 ${pct(99)} ms   emulator CPU ${cpuPerCall.toFixed(2)} ms/call   failures ${failures}`,
  );
}

async function main() {
  const child = spawn(process.execPath, [cliPath!, "--port", "0", "--instances", String(INSTANCES), "--initial-status", "Running"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url: string = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  try {
    const idle = await getJson(`${url}/__emulator/health`);
    console.log(`emulator ${url}, ${idle.instances} instances, RSS at rest ${mb(idle.rssBytes)} (heap ${mb(idle.heapUsedBytes)})`);
    console.log(`${CALLS} calls per row, concurrency ${CONCURRENCY}, node ${process.version}`);
    // Warm up both code paths (JIT) in client and emulator; not reported.
    for (const alg of [undefined, "v2"]) await run(url, "", alg, "DescribeInstances", {}, 1500);
    for (const [label, alg] of [["ACS3-HMAC-SHA256", undefined], ["v2 HMAC-SHA1", "v2"]] as const) {
      await run(url, `DescribeInstances PageSize=10      (${label})`, alg, "DescribeInstances", {});
      await run(url, `DescribeInstances PageSize=100     (${label})`, alg, "DescribeInstances", { PageSize: "100" });
      await run(url, `DescribeInstances Status filter    (${label})`, alg, "DescribeInstances", { Status: "Running", PageSize: "100" });
    }
    const after = await getJson(`${url}/__emulator/health`);
    console.log(`RSS after the runs ${mb(after.rssBytes)} (heap ${mb(after.heapUsedBytes)}; the journal keeps every call)`);
  } finally {
    child.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

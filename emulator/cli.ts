#!/usr/bin/env node
/** ens-emulator: run the ENS emulator until SIGINT/SIGTERM. The first stdout line is the URL. */
import { parseArgs } from "node:util";
import { bannerLines, cliSeed } from "./banner";
import { startEmulator } from "./index";
import type { EmulatorOptions } from "./types";

const USAGE = `Usage: ens-emulator [options]

  --host H                  listen address (default 127.0.0.1)
  --port P                  port, 0 = any free port (default 0)
  --instances N             generate N instances i-emu00000001... (cn-hangzhou-telecom)
  --regions R               spread them over R edge regions, grouped by region in ID order (default 1)
  --initial-status S        Running | Stopped, status of generated instances (default Stopped)
  --seed FILE               JSON seed {keyPairs:[...], instances:[...]}
  --demo                    add key pair demo-key (ssh-demo0000000001), the one the README and examples use
  --key-pair NAME           add a key pair named NAME (repeatable)
  --state FILE              persist the world to FILE (loaded at start when it exists)
  --latency-ms MS           latency added to every API call
  --stop-delay-ms MS        Stopping -> Stopped duration, or a range MIN-MAX drawn per instance and stop (default 0)
  --start-delay-ms MS       Starting -> Running duration, or a range MIN-MAX drawn per instance and start (default 0)
  --quota-per-second N      per-access-key request quota; beyond it 400 Throttling.User
  --access-key-id ID        access key id (with --access-key-secret; default ens-emulator-key)
  --access-key-secret S     access key secret (default ens-emulator-secret)
  --random-seed X           seed for the fault rates and the delay ranges (deterministic draws)
  --result-codes STYLE      number | string: per-instance result Code form (default number, as the SDK models)
  --help                    print this help

Prints the URL (http://HOST:PORT) as the first line of stdout. Admin endpoints: /__emulator/*.`;

class UsageError extends Error {}

function int(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got "${v}"`);
  return Number(v);
}

/** "MS" or "MIN-MAX" (whole milliseconds, MIN <= MAX). */
function delay(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(v);
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw new UsageError(`--${flag} must be milliseconds (e.g. 500) or a range MIN-MAX (e.g. 1000-3000), got "${v}"`);
  return v;
}

function parse(argv: string[]): EmulatorOptions | "help" {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        instances: { type: "string" },
        regions: { type: "string" },
        "initial-status": { type: "string" },
        seed: { type: "string" },
        demo: { type: "boolean" },
        "key-pair": { type: "string", multiple: true },
        state: { type: "string" },
        "latency-ms": { type: "string" },
        "stop-delay-ms": { type: "string" },
        "start-delay-ms": { type: "string" },
        "quota-per-second": { type: "string" },
        "access-key-id": { type: "string" },
        "access-key-secret": { type: "string" },
        "random-seed": { type: "string" },
        "result-codes": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return "help";
  const s = (k: string) => values[k] as string | undefined;
  const status = s("initial-status");
  if (status !== undefined && status !== "Running" && status !== "Stopped") {
    throw new UsageError(`--initial-status must be Running or Stopped, got "${status}"`);
  }
  const resultCodes = s("result-codes");
  if (resultCodes !== undefined && resultCodes !== "number" && resultCodes !== "string") {
    throw new UsageError(`--result-codes must be number or string, got "${resultCodes}"`);
  }
  const port = int("port", s("port"), 0);
  if (port !== undefined && port > 65535) throw new UsageError(`--port must be at most 65535, got "${port}"`);
  const id = s("access-key-id");
  const secret = s("access-key-secret");
  if ((id === undefined) !== (secret === undefined)) {
    throw new UsageError("--access-key-id and --access-key-secret must be given together");
  }
  return {
    host: s("host"),
    port,
    instances: int("instances", s("instances"), 0),
    initialStatus: status as "Running" | "Stopped" | undefined,
    seed: cliSeed(s("seed"), values.demo === true, (values["key-pair"] as string[] | undefined) ?? []),
    statePath: s("state"),
    latencyMs: int("latency-ms", s("latency-ms"), 0),
    regions: int("regions", s("regions"), 1),
    stopDelayMs: delay("stop-delay-ms", s("stop-delay-ms")),
    startDelayMs: delay("start-delay-ms", s("start-delay-ms")),
    quotaPerSecond: int("quota-per-second", s("quota-per-second"), 1),
    accessKeys: id !== undefined ? { [id]: secret! } : undefined,
    randomSeed: s("random-seed"),
    resultCodes: resultCodes as "number" | "string" | undefined,
  };
}

async function main(): Promise<void> {
  let options: EmulatorOptions | "help";
  try {
    options = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`ens-emulator: ${(e as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let emu;
  try {
    emu = await startEmulator(options);
  } catch (e) {
    process.stderr.write(`ens-emulator: cannot start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${emu.url}\n`);
  for (const line of bannerLines(emu)) process.stdout.write(`${line}\n`);
  process.stdout.write(`access key id: ${emu.accessKeyId}\nendpoint for @alicloud/openapi-client: ${emu.hostPort} (protocol http)\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`ens-emulator: ${signal}, flushing and exiting\n`);
    emu.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`ens-emulator: close failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

void main();

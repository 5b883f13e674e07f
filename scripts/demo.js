#!/usr/bin/env node
// The main job: a real `pulumi up` of an example against the embedded ENS emulator, offline, no questions asked.
//
//   npm start                                   up of the root project (examples/quickstart)
//   npm run demo [-- --example fleet]           the whole lifecycle: up, update, drift + refresh, up, destroy
//   npm run demo:destroy                        destroy what npm start created
//
// State lives in .demo/ (emulator world, local file backend); delete that folder to start over.
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { parseArgs } = require("node:util");

const ROOT = path.resolve(__dirname, "..");
const { values: opts } = parseArgs({
  options: {
    mode: { type: "string", default: "up" }, // up | lifecycle | destroy
    example: { type: "string", default: "quickstart" },
  },
});
const EXAMPLES = {
  quickstart: { dir: ".", instances: 10, status: "Stopped", delayMs: 200 },
  fleet: { dir: "examples/fleet", instances: 400, status: "Stopped", delayMs: 200, latencyMs: 20 },
  "stop-first": { dir: "examples/stop-first", instances: 60, status: "Running", delayMs: 500 },
};
const example = EXAMPLES[opts.example];
if (!example) fail(`--example must be one of ${Object.keys(EXAMPLES).join(", ")}, got "${opts.example}"`);
if (!["up", "lifecycle", "destroy"].includes(opts.mode)) fail(`--mode must be up, lifecycle or destroy, got "${opts.mode}"`);
if (!fs.existsSync(path.join(ROOT, "dist/emulator/index.js"))) fail("dist/ is missing: run it through npm (npm start, npm run demo: they build) or node scripts/dev-setup.js");

const { startEmulator } = require(path.join(ROOT, "dist/emulator"));
const demoDir = path.join(ROOT, ".demo", opts.example);

main().catch((e) => fail(e.message));

async function main() {
  const bin = execFileSync("bash", [path.join(ROOT, "scripts/ensure-pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop();
  fs.mkdirSync(path.join(demoDir, "backend"), { recursive: true });
  const emu = await startEmulator({
    statePath: path.join(demoDir, "ens-world.json"),
    instances: example.instances,
    initialStatus: example.status,
    seed: path.join(ROOT, "examples/demo-seed.json"),
    stopDelayMs: example.delayMs,
    startDelayMs: example.delayMs,
    latencyMs: example.latencyMs ?? 0,
  });
  say(`ENS emulator at ${emu.url} (world persisted in ${path.relative(ROOT, demoDir)}/ens-world.json)`);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    PULUMI_BACKEND_URL: `file://${path.join(demoDir, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "pulumi-ens-keypair-demo", // fixed for the demo stack only
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ENS_ENDPOINT: emu.url,
    ENS_POLL_INTERVAL_MS: "200",
    PULUMI_NODEJS_TRANSPILE_ONLY: "true", // the examples are type-checked by npm test; skip it here for speed
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
  };
  const cwd = path.join(ROOT, example.dir);
  const pulumi = (...args) => run("pulumi", [...args, "--non-interactive"], { cwd, env });
  try {
    await pulumi("stack", "select", "--create", "demo");
    // Start from the example's defaults: a previous `npm run demo` may have changed these.
    for (const key of ["instanceIds", "count"]) await pulumi("config", "rm", key).catch(() => undefined);
    if (opts.mode === "destroy") {
      await pulumi("destroy", "--yes");
    } else {
      await pulumi("up", "--yes");
      if (opts.mode === "lifecycle") await lifecycle(pulumi, emu);
      say("stack outputs:");
      await pulumi("stack", "output", "--json");
    }
    report(emu);
  } finally {
    await emu.close();
  }
}

async function lifecycle(pulumi, emu) {
  const attached = emu.state().instances.filter((i) => i.keyPairName === "demo-key").map((i) => i.instanceId).sort();
  if (opts.example === "quickstart") {
    say("update: drop the first two instances, add two new ones (one DetachKeyPair, one AttachKeyPair)");
    const next = [...attached.slice(2), "i-emu00000009", "i-emu00000010"];
    await pulumi("config", "set", "instanceIds", JSON.stringify(next));
  } else {
    say("update: shrink the set by a third (only the difference is detached)");
    await pulumi("config", "set", "count", String(Math.floor((attached.length * 2) / 3)));
  }
  await pulumi("up", "--yes");
  const victim = emu.state().instances.find((i) => i.keyPairName === "demo-key").instanceId;
  say(`drift: ${victim} loses the key pair behind Pulumi's back; refresh notices it`);
  emu.world.setInstanceKey(victim, undefined);
  await pulumi("refresh", "--yes");
  say("up: re-attaches only the drifted instance");
  await pulumi("up", "--yes");
  say("destroy: detaches everything, ceil(n/30) calls");
  await pulumi("destroy", "--yes");
}

function report(emu) {
  const counts = {};
  for (const j of emu.journal()) counts[j.action] = (counts[j.action] ?? 0) + 1;
  const bound = emu.state().instances.filter((i) => i.keyPairName === "demo-key").length;
  say(`ENS calls made in this run: ${Object.entries(counts).map(([a, n]) => `${a} ${n}`).join(", ") || "none"}`);
  say(`instances carrying demo-key now: ${bound}; most instances stopped at once: ${emu.stats().peakStopped}`);
}

function run(cmd, args, options) {
  // Async on purpose: the emulator answering pulumi lives in this process.
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`))));
  });
}

function say(line) {
  console.log(`\n==> ${line}`);
}

function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}

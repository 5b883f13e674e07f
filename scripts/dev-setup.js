#!/usr/bin/env node
// Gets a clone ready for npm start / npm test / npm run demo|emulator|pulumi|bench: links the package into its own
// node_modules (scripts/link-self.js) and builds dist/ when it is missing or older than a source.
//
//   node scripts/dev-setup.js           link, build if stale (quiet when there is nothing to do)
//   node scripts/dev-setup.js --build   link, always build (npm test, CI)
//
// This is a step of those scripts rather than an npm `prepare` script, so the published manifest carries no install
// script: npm flags install scripts of dependencies (`npm warn install-scripts ... prepare`), and a user's install of
// the package has nothing to build.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { linkSelf } = require("./link-self");

const root = path.resolve(__dirname, "..");
const SOURCES = ["provider", "sdk", "emulator"];
const CONFIGS = ["tsconfig.json", "tsconfig.build.json"];
const OUTPUT = path.join(root, "dist", "provider", "dynamic.js"); // tsc rewrites every output on each build

function newestSource() {
  let newest = Math.max(...CONFIGS.map((f) => fs.statSync(path.join(root, f)).mtimeMs));
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCES) walk(path.join(root, d));
  return newest;
}

function stale() {
  try {
    return fs.statSync(OUTPUT).mtimeMs < newestSource();
  } catch {
    return true; // no dist/ yet
  }
}

linkSelf();
if (process.argv.includes("--build") || stale()) {
  process.stderr.write("dev-setup: building dist/ (tsc -p tsconfig.build.json)\n");
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc", { paths: [root] }), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}

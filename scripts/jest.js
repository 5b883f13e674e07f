#!/usr/bin/env node
// Runs jest with the arguments given; with JEST_JSON_OUTPUT set, also writes jest's JSON results there (CI reads them).
const { spawnSync } = require("node:child_process");
const args = process.argv.slice(2);
if (process.env.JEST_JSON_OUTPUT) args.push("--json", `--outputFile=${process.env.JEST_JSON_OUTPUT}`);
const r = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), ...args], { stdio: "inherit" });
process.exit(r.status ?? 1);

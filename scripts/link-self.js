#!/usr/bin/env node
// The serialized dynamic provider requires this package by name ("pulumi-ens-keypair/provider") from the Pulumi
// program's directory. Users have it in node_modules; this repository's own root project and examples need the same
// name to resolve, so link node_modules/pulumi-ens-keypair to the repository (a package cannot require itself by name
// from code loaded with require-from-string). Run by scripts/dev-setup.js (npm start, npm test, ...).
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");

function linkSelf() {
  const link = path.join(root, "node_modules", "pulumi-ens-keypair");
  if (!fs.existsSync(path.join(root, "node_modules"))) return; // installed as a dependency: nothing to do
  try {
    if (fs.realpathSync(link) === root) return;
  } catch {}
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.relative(path.dirname(link), root), link, "dir");
}

module.exports = { linkSelf };
if (require.main === module) linkSelf();

import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export const ROOT = path.resolve(__dirname, "../..");
const PULUMI_VERSION = require(path.join(ROOT, "package.json")).devDependencies["@pulumi/pulumi"];

/**
 * The package as users get it: `npm pack` of the built repository, then `npm install <tarball> @pulumi/pulumi`
 * into a fresh program folder outside the repository (from npm's cache when it can).
 */
export function installPackedPackage(): { appDir: string; tarball: string } {
  if (!fs.existsSync(path.join(ROOT, "dist/provider/dynamic.js"))) throw new Error("dist/ is missing: run npm run build first (npm test does)");
  const appDir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-app-"));
  const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", appDir], { cwd: ROOT, encoding: "utf8" });
  const tarball = path.join(appDir, JSON.parse(out)[0].filename);
  fs.writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "ens-kp-test-app", private: true }));
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball, `@pulumi/pulumi@${PULUMI_VERSION}`], { cwd: appDir, stdio: "pipe" });
  return { appDir, tarball };
}

let installedApp: string | undefined;

/**
 * A fresh folder holding the Pulumi program from `source`, with the packed package installed (once per test process,
 * shared through a node_modules link): a program as a user has it.
 */
export function programFolder(source: string): string {
  installedApp ??= installPackedPackage().appDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-prog-"));
  for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
  fs.copyFileSync(path.join(installedApp, "package.json"), path.join(dir, "package.json"));
  fs.symlinkSync(path.join(installedApp, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/**
 * Runs a script in a program folder in a node process of its own, with only PATH, HOME and `env` (async: an emulator
 * answering it may live in the calling process). Returns its standard output.
 */
export async function runNodeIn(dir: string, script: string, env: Record<string, string> = {}): Promise<string> {
  const file = path.join(dir, `step-${Math.random().toString(16).slice(2)}.js`);
  fs.writeFileSync(file, script);
  const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } });
  return stdout;
}

/** The `__provider` text exactly as the installed SDK serializes it for one resource (what the engine stores). */
export async function serializedProviderIn(dir: string, keyPairId: string, env: Record<string, string> = {}): Promise<string> {
  const out = await runNodeIn(dir, `
    const pulumi = require("@pulumi/pulumi");
    const seen = [];
    pulumi.runtime.setMocks({
      newResource: (a) => { if (a.inputs.__provider) seen.push(a.inputs.__provider); return { id: "x", state: a.inputs }; },
      call: () => ({}),
    }, "proj", "stack", false);
    const { KeyPairAttachment } = require("pulumi-ens-keypair");
    new KeyPairAttachment("a", { keyPairId: ${JSON.stringify(keyPairId)}, instanceIds: ["i-emu00000001"] });
    setTimeout(() => process.stdout.write("\\n" + JSON.stringify(seen)), 1500);
  `, env);
  const [text] = JSON.parse(out.trim().split("\n").pop()!) as string[];
  if (!text) throw new Error("the SDK serialized no __provider");
  return text;
}

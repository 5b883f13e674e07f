import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PulumiStack } from "../helpers/pulumi-cli";

/**
 * `pulumi install` through our language host does what the real pulumi-language-nodejs does: the package manager
 * (npm here) installs in the program folder and its output comes back through the engine. The dependency is a local
 * tarball, so nothing is fetched from a registry.
 */
jest.setTimeout(300000);

function programWith(dependencies: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-install-"));
  const probe = path.join(dir, "probe");
  fs.mkdirSync(probe);
  fs.writeFileSync(path.join(probe, "package.json"), JSON.stringify({ name: "ens-kp-install-probe", version: "1.0.0", main: "index.js" }));
  fs.writeFileSync(path.join(probe, "index.js"), "module.exports = 42;\n");
  execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: probe, stdio: "pipe" });
  fs.rmSync(probe, { recursive: true });
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: ens-kp-install\nruntime: nodejs\n");
  fs.writeFileSync(path.join(dir, "index.js"), "module.exports = {};\n");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "ens-kp-install", private: true, dependencies }));
  return dir;
}

it("pulumi install runs npm install in the program folder and shows its progress", async () => {
  const dir = programWith({ "ens-kp-install-probe": "file:ens-kp-install-probe-1.0.0.tgz" });
  const r = await new PulumiStack(dir, {}).run(["install"]);
  expect(r.stdout).toContain("Installing dependencies...");
  expect(r.stdout).toContain("Finished installing dependencies");
  expect(require(path.join(dir, "node_modules", "ens-kp-install-probe"))).toBe(42);
  expect(fs.existsSync(path.join(dir, "package-lock.json"))).toBe(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

it("a failing npm install fails pulumi install with npm's own error", async () => {
  const dir = programWith({ "ens-kp-install-missing": "file:no-such-tarball.tgz" });
  const r = await new PulumiStack(dir, {}).run(["install"], { allowFailure: true });
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toContain("npm install failed");
  expect(r.stdout + r.stderr).toMatch(/no-such-tarball\.tgz/);
  fs.rmSync(dir, { recursive: true, force: true });
});

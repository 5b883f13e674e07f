import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../../emulator";
import { ROOT } from "../helpers/installed-package";
import { PulumiStack } from "../helpers/pulumi-cli";

/**
 * The smoke run of one example, as a user has it: the packed package and @pulumi/pulumi at PULUMI_SDK_VERSION (the
 * devDependency by default) installed in a fresh folder, then preview, up and destroy of examples/quickstart through
 * the CLI against the emulator. CI runs it at the oldest version the peer range allows as well (.ci/run).
 */
jest.setTimeout(300000);

const VERSION = process.env.PULUMI_SDK_VERSION ?? require(path.join(ROOT, "package.json")).devDependencies["@pulumi/pulumi"];

it(`examples/quickstart: preview, up and destroy with @pulumi/pulumi ${VERSION}`, async () => {
  if (!fs.existsSync(path.join(ROOT, "dist/provider/dynamic.js"))) throw new Error("dist/ is missing: run npm run build first (npm test does)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-smoke-"));
  const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  const tarball = path.join(dir, JSON.parse(packed)[0].filename);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "ens-kp-smoke", private: true }));
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball, `@pulumi/pulumi@${VERSION}`], { cwd: dir, stdio: "pipe" });
  expect(require(path.join(dir, "node_modules/@pulumi/pulumi/package.json")).version).toBe(VERSION);
  for (const f of ["Pulumi.yaml", "index.ts"]) fs.copyFileSync(path.join(ROOT, "examples/quickstart", f), path.join(dir, f));

  const emu = await startEmulator({ instances: 10, seed: path.join(ROOT, "examples/demo-seed.json") });
  const bound = () => emu.state().instances.filter((i) => i.keyPairName === "demo-key").map((i) => i.instanceId);
  try {
    const stack = new PulumiStack(dir, {
      ENS_ENDPOINT: emu.url,
      ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
      ENS_POLL_INTERVAL_MS: "50",
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    });
    await stack.init("smoke");
    const preview = await stack.run(["preview"]);
    expect(preview.stdout).toContain("KeyPairAttachment 'quickstart': plan: attach 5 (i-emu00000001, i-emu00000002, i-emu00000003 and 2 more) in 1 call(s)");
    expect(bound()).toEqual([]);
    const up = await stack.run(["up", "--yes", "--skip-preview"]);
    expect(up.stdout).toMatch(/KeyPairAttachment 'quickstart': done in .*attached 5/);
    expect((await stack.outputs()).attachedInstanceIds).toEqual(["i-emu00000001", "i-emu00000002", "i-emu00000003", "i-emu00000004", "i-emu00000005"]);
    expect(bound()).toHaveLength(5);
    const destroy = await stack.run(["destroy", "--yes", "--skip-preview"]);
    expect(destroy.stdout).toMatch(/KeyPairAttachment 'quickstart': done in .*detached 5/);
    expect(bound()).toEqual([]);
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("the README states the @pulumi/pulumi versions tested, and CI runs this smoke at the oldest the peer range allows", () => {
  const manifest = require(path.join(ROOT, "package.json"));
  const oldest = /^\^(\d+\.\d+\.\d+)$/.exec(manifest.peerDependencies["@pulumi/pulumi"])![1];
  const newest = manifest.devDependencies["@pulumi/pulumi"];
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  expect(readme).toContain(`Tested with \`@pulumi/pulumi\` ${oldest} and ${newest}`);
  const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
  expect(ci).toMatch(/PULUMI_SDK_VERSION="\$oldest"[^\n]*tests\/e2e\/smoke\.test\.ts/);
  expect(ci).toContain(`peerDependencies["@pulumi/pulumi"]`);
});

import fs from "node:fs";
import path from "node:path";
import { startEmulator } from "../../emulator";
import { ROOT } from "../helpers/installed-package";
import { PulumiStack } from "../helpers/pulumi-cli";

/** Every example (and the root project `npm start` runs) previews one KeyPairAttachment against the emulator. */
jest.setTimeout(300000);

const STACK = "ci-example-check";

it.each([
  ["root project (examples/quickstart)", "."],
  ["fleet", "examples/fleet"],
  ["stop-first", "examples/stop-first"],
])("%s: pulumi preview plans one KeyPairAttachment", async (_label, dir) => {
  const emu = await startEmulator({ instances: 300, seed: path.join(ROOT, "examples/demo-seed.json") });
  const cwd = path.join(ROOT, dir);
  const stack = new PulumiStack(cwd, {
    ENS_ENDPOINT: emu.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
    PULUMI_NODEJS_TRANSPILE_ONLY: "true", // npm test type-checks the examples with tsc first
  });
  try {
    await stack.init(STACK);
    const r = await stack.run(["preview"]);
    expect(r.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/ens:KeyPairAttachment \S+ create/);
    expect(r.stdout).toContain("+ 2 to create");
    expect(emu.journal().filter((j) => j.action === "AttachKeyPair")).toHaveLength(0);
  } finally {
    fs.rmSync(path.join(cwd, `Pulumi.${STACK}.yaml`), { force: true });
    await emu.close();
  }
});

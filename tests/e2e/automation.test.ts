import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator, RunningEmulator } from "../../emulator";
import { installPackedPackage, ROOT } from "../helpers/installed-package";
import { pulumiBinDir } from "../helpers/pulumi-cli";

/**
 * The README's Automation API example, run as written: an inline program, in a folder where the packed package is
 * installed, against the emulator, with the CLI the project builds. And what happens without `main` (or `workDir`),
 * which the README names.
 */
jest.setTimeout(300000);

let emu: RunningEmulator;
let appDir: string;
let example: string;

beforeAll(async () => {
  emu = await startEmulator({ instances: 10, seed: { keyPairs: [{ keyPairName: "demo-key", keyPairId: "ssh-demo0000000001" }] } });
  ({ appDir } = installPackedPackage());
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Automation API"));
  example = /```ts\n([\s\S]*?)```/.exec(section)![1];
}, 120000);
afterAll(() => emu.close());

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/**
 * Runs `code` as a TypeScript file of the app folder, as a user's automation script, with the state in `backend`;
 * resolves with its exit code and output.
 */
function runScript(code: string, backend: string, args: string[] = []): Promise<{ code: number; output: string }> {
  const file = path.join(appDir, `automation-${Math.random().toString(16).slice(2)}.ts`);
  fs.writeFileSync(file, code);
  const env = {
    PATH: `${pulumiBinDir()}:${process.env.PATH}`,
    HOME: process.env.HOME ?? os.tmpdir(),
    PULUMI_HOME: path.join(backend, ".pulumi-home"),
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The CLI built here carries no version stamp the Automation API can compare (README, Known limits).
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    ENS_ENDPOINT: emu.url,
    ENS_POLL_INTERVAL_MS: "50",
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
    TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: "commonjs", target: "es2020", esModuleInterop: true }),
  };
  const tsNode = require.resolve("ts-node/register/transpile-only", { paths: [ROOT] });
  return new Promise((resolve) =>
    execFile(process.execPath, ["-r", tsNode, file, ...args], { cwd: appDir, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as any).code ?? 1) : 0, output: stdout + stderr }),
    ),
  );
}

it("the README's inline program with projectSettings.main runs up and destroy through the Automation API", async () => {
  expect(example).toContain("LocalWorkspace.createOrSelectStack");
  expect(example).toMatch(/projectSettings: \{[^}]*main: __dirname/);
  const backend = tmp("ens-kp-backend-");
  const up = await runScript(example, backend);
  expect(up.output).toMatch(/KeyPairAttachment 'web': done in .*attached 2/);
  expect(up.output).toContain(`attached: [ 'i-emu00000001', 'i-emu00000002' ]`);
  expect(up.code).toBe(0);
  expect(emu.state().instances.filter((i) => i.keyPairName === "demo-key").map((i) => i.instanceId)).toEqual(["i-emu00000001", "i-emu00000002"]);
  const destroy = await runScript(example, backend, ["destroy"]);
  expect(destroy.output).toMatch(/KeyPairAttachment 'web': done in .*detached 2/);
  expect(destroy.code).toBe(0);
  expect(emu.state().instances.filter((i) => i.keyPairName === "demo-key")).toEqual([]);
});

it("without main (or workDir) the dynamic-provider host cannot start, with the error the README names", async () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const without = example.replace(/, main: __dirname/, "");
  expect(without).not.toContain("main: __dirname");
  const r = await runScript(without, tmp("ens-kp-backend-"));
  expect(r.code).not.toBe(0);
  const error = "Cannot find module '@pulumi/pulumi/cmd/dynamic-provider'";
  expect(r.output).toContain(error);
  expect(readme).toContain(error);
  expect(emu.state().instances.filter((i) => i.keyPairName === "demo-key")).toEqual([]);
});

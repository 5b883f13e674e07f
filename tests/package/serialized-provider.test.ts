import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { startEmulator, RunningEmulator } from "../../emulator";
import { installPackedPackage, runNodeIn, serializedProviderIn } from "../helpers/installed-package";

/**
 * Does what the Pulumi engine does with the package installed from `npm pack`: the SDK resource serializes its
 * provider into `__provider`; the dynamic-provider host loads that text with require-from-string from the program
 * folder and calls it. The text must be tiny and hold no credential.
 */
const SECRET = "roundtrip-secret-9f8e7d6c";

let emu: RunningEmulator;
let appDir: string;

beforeAll(async () => {
  emu = await startEmulator({ instances: 40, accessKeys: { "roundtrip-key": SECRET }, seed: { keyPairs: [{ keyPairName: "rt-key" }] } });
  ({ appDir } = installPackedPackage());
}, 120000);
afterAll(() => emu.close());

const runInApp = (script: string, env: Record<string, string> = {}) => runNodeIn(appDir, script, env);

it("serializes to a bare require of the installed package, under 1 KB and free of credentials, and works after loading", async () => {
  const keyPairId = emu.state().keyPairs[0].keyPairId;
  const text = await serializedProviderIn(appDir, keyPairId, { ALIBABA_CLOUD_ACCESS_KEY_ID: "roundtrip-key", ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET });
  expect(text).toContain('require("pulumi-ens-keypair/dynamic")');
  expect(Buffer.byteLength(text)).toBeLessThan(1024);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain("roundtrip-key");
  fs.writeFileSync(path.join(appDir, "provider.txt"), text);

  const ids = ["i-emu00000001", "i-emu00000002", "i-emu00000003"];
  const report = await runInApp(`
    const text = require("fs").readFileSync("provider.txt", "utf8");
    const p = require("require-from-string")(text).handler();
    (async () => {
      await p.configure({ config: { get: () => undefined } });
      const { inputs } = await p.check({}, { __provider: text, keyPairId: "${keyPairId}", instanceIds: ${JSON.stringify(ids)} });
      const created = await p.create(inputs);
      const news = (await p.check(inputs, { ...inputs, instanceIds: ${JSON.stringify(ids.slice(1))} })).inputs;
      const updated = await p.update(created.id, created.outs, news);
      const afterUpdate = updated.outs.attachedInstanceIds;
      await p.delete(created.id, updated.outs);
      process.stdout.write("\\n" + JSON.stringify({ created: created.outs.attachedInstanceIds, afterUpdate }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `, { ENS_ENDPOINT: emu.url, ALIBABA_CLOUD_ACCESS_KEY_ID: "roundtrip-key", ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET, ENS_POLL_INTERVAL_MS: "20" });
  expect(JSON.parse(report.trim().split("\n").pop()!)).toEqual({ created: ids, afterUpdate: ids.slice(1) });
  const journal = emu.journal().map((j) => j.action);
  expect(journal.filter((a) => a === "AttachKeyPair")).toHaveLength(1);
  expect(journal.filter((a) => a === "DetachKeyPair")).toHaveLength(2);
  expect(emu.state().instances.filter((i) => i.keyPairName === "rt-key")).toEqual([]);
}, 120000);

/**
 * The package as a user installs it (the same tarball, installed above in a fresh folder): no install script for npm
 * to flag, the emulator CLI working with the README's own command, and every relative link of the README (and of
 * the documents it links) pointing at a file that ships.
 */
describe("the installed package", () => {
  const installed = () => path.join(appDir, "node_modules", "pulumi-ens-keypair");

  it("carries no install-time script (npm warns about prepare/install scripts of dependencies) and its bin and exports exist", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed(), "package.json"), "utf8"));
    for (const s of ["preinstall", "install", "postinstall", "prepare"]) expect(manifest.scripts?.[s]).toBeUndefined();
    const targets = [...Object.values(manifest.bin as Record<string, string>), manifest.main, manifest.types];
    for (const e of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) targets.push(...(typeof e === "string" ? [e] : Object.values(e)));
    for (const t of targets) expect([t, fs.existsSync(path.join(installed(), t))]).toEqual([t, true]);
  });

  it("every relative link in the README, and in the documents it links, resolves to a shipped file", () => {
    const seen = new Set<string>();
    const missing: string[] = [];
    const visit = (doc: string) => {
      if (seen.has(doc)) return;
      seen.add(doc);
      for (const [, target] of fs.readFileSync(doc, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^([a-z]+:|#)/i.test(target)) continue;
        const file = path.resolve(path.dirname(doc), target.split("#")[0]);
        if (!fs.existsSync(file)) missing.push(`${path.relative(installed(), doc)} -> ${target}`);
        else if (file.endsWith(".md")) visit(file);
      }
    };
    visit(path.join(installed(), "README.md"));
    expect(missing).toEqual([]);
    expect(seen.size).toBeGreaterThan(1);
  });

  /** Starts `command` (an `npx -p pulumi-ens-keypair ens-emulator ...` line) in the app folder; resolves with its first stdout lines. */
  async function emulatorBanner(command: string): Promise<string[]> {
    const [npx, ...args] = command.split(/\s+/);
    const child = spawn(npx, args, { cwd: appDir, detached: true, env: { ...process.env, npm_config_offline: "true" } });
    try {
      return await new Promise<string[]>((resolve, reject) => {
        const lines: string[] = [];
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        createInterface({ input: child.stdout }).on("line", (l) => {
          lines.push(l);
          if (l.startsWith("access key id:")) resolve(lines);
        });
        child.once("exit", (code) => reject(new Error(`${command} exited ${code}: ${err}`)));
      });
    } finally {
      process.kill(-child.pid!, "SIGTERM");
    }
  }

  it("the emulator starts from the package with the README's command; its banner counts instances and key pairs", async () => {
    const readme = fs.readFileSync(path.join(installed(), "README.md"), "utf8");
    const command = readme.split("\n").find((l) => l.startsWith("npx -p pulumi-ens-keypair ens-emulator "))!;
    expect(command).toContain("--port 8734");
    // Any free port instead of 8734: tests run side by side.
    const lines = await emulatorBanner(command.replace("--port 8734", "--port 0"));
    expect(lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe("serving 100 instance(s) (100 Stopped) and 1 key pair(s): demo-key (ssh-demo0000000001)");
    // What the README says it prints.
    expect(readme).toContain(`# then: ${lines[1]}`);
  }, 60000);

  it("without a seed the banner says there is no key pair and how to add one", async () => {
    const lines = await emulatorBanner("npx -p pulumi-ens-keypair ens-emulator --port 0 --instances 2");
    expect(lines[1]).toBe("serving 2 instance(s) (2 Stopped) and 0 key pair(s)");
    expect(lines[2]).toMatch(/^no key pair yet: start with --demo \(demo-key = ssh-demo0000000001\) or --key-pair NAME, or add one now: curl -s -XPOST http:\/\/127\.0\.0\.1:\d+\/__emulator\/world -d '\{"op":"addKeyPair","keyPairName":"my-key"\}'$/);
  }, 60000);
});

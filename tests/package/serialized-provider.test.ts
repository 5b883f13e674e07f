import fs from "node:fs";
import path from "node:path";
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

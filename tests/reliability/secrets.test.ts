/**
 * Secrets and transport. Everything a user, an operator or CI keeps from a run (CLI output, stack exports with the
 * serialized provider, the backend's state, history and backups, PULUMI_HOME, error messages, the emulator journal)
 * is scanned for the access key secret: any hit fails. The real endpoint defaults to HTTPS; plain HTTP to a host off
 * this machine warns; the emulator listens on loopback unless told otherwise.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { startEmulator } from "../../emulator";
import { EnsClient, NO_RETRY } from "../../provider";
import { getClient, readSettings } from "../../provider/settings";
import { emulatorCliPath } from "../helpers/emu-cli";
import { ids } from "../helpers/rel-emu";
import { mentionsSecret, REL_ACCESS_KEY_ID, REL_SECRET, scanArtifact, summarizeScans } from "../helpers/rel-secrets";
import { relStack } from "../helpers/rel-stack";
import { summarize } from "../helpers/rel-summary";

jest.setTimeout(240_000);
afterAll(() => summarizeScans("secrets"));

describe("the access key secret appears nowhere", () => {
  it.each([
    ["in the environment", false],
    ["as secret stack config", true],
  ])("credentials %s: up (with failures), refresh, preview, a refused credential, destroy", async (_label, asConfig) => {
    let verboseLeaks = false;
    const t = await relStack({ instances: 40, ...(asConfig ? { env: { ALIBABA_CLOUD_ACCESS_KEY_ID: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined } } : {}) });
    try {
      t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: ids(1, 35) });
      if (asConfig) await t.stack.config({ "alicloud:accessKey": REL_ACCESS_KEY_ID, "alicloud:secretKey": REL_SECRET }, ["alicloud:secretKey"]);
      const files = () => fs.readFileSync(`${t.stack.dir}/Pulumi.e2e.yaml`, "utf8");
      if (asConfig) expect(files()).toContain("secure:");

      t.emu.setFaults({ instanceFailures: { "i-emu00000007": { code: "NoPermission", message: "Permission denied." } } });
      expect((await t.stack.run(["up", "--yes"], { allowFailure: true })).code).not.toBe(0);
      t.emu.setFaults({});
      await t.stack.run(["up", "--yes", "--skip-preview"]);
      await t.stack.run(["refresh", "--yes"]);
      await t.stack.run(["preview", "--diff"]);
      await t.stack.run(["stack", "output", "--json", "--show-secrets"]);
      // Verbose engine logs: Pulumi documents that -v=9 may hold secrets (it prints the provider's config, secret
      // stack config included), so they are only reported, not failed on.
      const verbose = await t.stack.run(["preview", "--logtostderr", "-v=9"], { scan: false });
      verboseLeaks = mentionsSecret(verbose.stdout + verbose.stderr);
      const { text, resources } = await t.stack.exportResources();
      expect(resources[0].inputs.__provider).toContain('require("pulumi-ens-keypair/dynamic")');

      // A credential the emulator refuses: the error path must not echo the secret either.
      const refused = { "alicloud:accessKey": REL_ACCESS_KEY_ID, "alicloud:secretKey": `${REL_SECRET}x` };
      const saved = t.stack.env;
      if (!asConfig) t.stack.env = { ...saved, ALIBABA_CLOUD_ACCESS_KEY_SECRET: refused["alicloud:secretKey"] };
      t.stack.writeConfig({ keyPairId: t.keyPairId, instanceIds: ids(1, 36) });
      if (asConfig) await t.stack.config(refused, ["alicloud:secretKey"]);
      expect((await t.stack.run(["preview"], { allowFailure: true })).code).not.toBe(0);
      t.stack.env = saved;
      if (asConfig) await t.stack.config({ "alicloud:accessKey": REL_ACCESS_KEY_ID, "alicloud:secretKey": REL_SECRET }, ["alicloud:secretKey"]);

      await t.stack.run(["destroy", "--yes"]);
      scanArtifact("emulator journal", JSON.stringify(t.emu.journal()));
      const scannedFiles = t.stack.scanFiles();
      summarize("secrets", { credentials: asConfig ? "secret config" : "environment", verboseEngineLogHoldsSecret: verboseLeaks, cliRuns: t.stack.runs.length, cliOutputBytes: t.stack.runs.reduce((n, r) => n + r.result.stdout.length + r.result.stderr.length, 0), exportBytes: text.length, filesScanned: scannedFiles, secretsFound: 0 });
    } finally {
      await t.close();
    }
  });
});

describe("transport", () => {
  const creds = { ALIBABA_CLOUD_ACCESS_KEY_ID: REL_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: REL_SECRET };
  const none = { get: () => undefined };

  it("the endpoint defaults to https://ens.aliyuncs.com, and a scheme-less one means HTTPS", () => {
    expect(readSettings(creds, none).endpoint).toBe("https://ens.aliyuncs.com");
    expect(new EnsClient({ credentials: { accessKeyId: "a", accessKeySecret: "b" } }).endpoint).toBe("https://ens.aliyuncs.com");
    expect(readSettings({ ...creds, ENS_ENDPOINT: "ens.cn-hangzhou.aliyuncs.com" }, none).endpoint).toBe("https://ens.cn-hangzhou.aliyuncs.com");
  });

  it("a scheme-less endpoint really speaks TLS on the wire (the first byte is a TLS handshake record)", async () => {
    const first: Buffer[] = [];
    const server = net.createServer((s) => s.once("data", (d) => (first.push(d), s.destroy())));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const { endpoint } = readSettings({ ...creds, ENS_ENDPOINT: `127.0.0.1:${port}` }, none);
      const client = new EnsClient({ endpoint, credentials: { accessKeyId: REL_ACCESS_KEY_ID, accessKeySecret: REL_SECRET }, retry: NO_RETRY });
      const err = await client.describeKeyPairs().then(() => undefined, (e: Error) => e);
      expect(err).toBeDefined();
      scanArtifact("TLS client error", `${err?.message}`);
      expect(first[0]?.[0]).toBe(0x16);
      expect(first[0]?.toString("latin1")).not.toContain(REL_SECRET);
    } finally {
      server.close();
    }
  });

  it("plain HTTP to a host off this machine warns once; loopback and HTTPS do not", () => {
    const warned: string[] = [];
    const spy = jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void warned.push(a.join(" ")));
    try {
      for (const endpoint of ["http://127.0.0.1:8734", "http://localhost:8734", "http://[::1]:8734", "https://ens.example.com"]) {
        getClient(readSettings({ ...creds, ENS_ENDPOINT: endpoint }, none));
      }
      expect(warned).toEqual([]);
      for (const endpoint of ["http://ens.example.com", "http://127.0.0.1.example.com", "http://localhost.example.com:80"]) {
        const settings = readSettings({ ...creds, ENS_ENDPOINT: endpoint }, none);
        getClient(settings);
        getClient(settings); // the same client: no second warning
      }
      expect(warned).toHaveLength(3);
      for (const w of warned) {
        expect(w).toMatch(/^warning: ENS endpoint http:\/\/\S+ uses plain HTTP: .* use https$/);
        expect(w).not.toContain(REL_SECRET);
      }
    } finally {
      spy.mockRestore();
    }
  });

  /** Local addresses of listening TCP sockets on `port` (from /proc/net/tcp and tcp6, no traffic). */
  function listeners(port: number): string[] {
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    const out: string[] = [];
    for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of fs.readFileSync(f, "utf8").split("\n").slice(1)) {
        const [, local, , state] = line.trim().split(/\s+/);
        if (state === "0A" && local?.endsWith(`:${hexPort}`)) out.push(local.split(":")[0]);
      }
    }
    return out;
  }

  it("the emulator listens on 127.0.0.1 only, by default and from its CLI", async () => {
    const emu = await startEmulator();
    try {
      expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(listeners(Number(emu.url.split(":")[2]))).toEqual(["0100007F"]);
    } finally {
      await emu.close();
    }
    const cli = spawn(process.execPath, [emulatorCliPath()], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        cli.stdout.once("data", (d) => resolve(String(d).split("\n")[0].trim()));
        cli.once("error", reject);
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(listeners(Number(url.split(":")[2]))).toEqual(["0100007F"]);
    } finally {
      cli.kill("SIGTERM");
    }
  });
});

/** The ens-emulator CLI: URL on the first stdout line, serves calls, flushes state on SIGTERM, exit 2 on bad flags. */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { call, callErr, emuClient, adminGet } from "../helpers/emu-raw-client";
import { emulatorCliPath } from "../helpers/emu-cli";

let cli: string;
let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  cli = emulatorCliPath();
  dir = mkdtempSync(join(tmpdir(), "ens-emu-cli-test-"));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function startCli(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (url) => resolve({ child, url }));
    child.once("exit", (code) => reject(new Error(`cli exited early with ${code}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
const target = (url: string, accessKeyId = "ens-emulator-key", accessKeySecret = "ens-emulator-secret") => ({
  url,
  hostPort: url.replace(/^http:\/\//, ""),
  accessKeyId,
  accessKeySecret,
});

test("--port 0 prints the URL first, serves the real client, exits 0 on SIGTERM after flushing --state", async () => {
  const statePath = join(dir, "cli-state.json");
  const { child, url } = await startCli(["--port", "0", "--instances", "3", "--initial-status", "Running", "--state", statePath]);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const c = emuClient(target(url));
  expect((await call(c, "DescribeInstances")).TotalCount).toBe(3);
  await call(c, "CreateKeyPair", { KeyPairName: "from-cli" });
  expect((await adminGet({ url }, "stats")).calls).toEqual({ DescribeInstances: 1, CreateKeyPair: 1 });
  const done = exited(child);
  child.kill("SIGTERM");
  expect(await done).toBe(0);
  const saved = JSON.parse(readFileSync(statePath, "utf8"));
  expect(saved.keyPairs.map((k: any) => k.keyPairName)).toEqual(["from-cli"]);
  expect(saved.instances).toHaveLength(3);
});

test("custom access key and SIGINT", async () => {
  const { child, url } = await startCli(["--access-key-id", "my-id", "--access-key-secret", "my-secret", "--stop-delay-ms", "10"]);
  await expect(call(emuClient(target(url, "my-id", "my-secret"), { signatureAlgorithm: "v2" }), "DescribeKeyPairs")).resolves.toHaveProperty("TotalCount", 0);
  expect((await callErr(emuClient(target(url)), "DescribeKeyPairs")).code).toBe("InvalidAccessKeyId.NotFound");
  const done = exited(child);
  child.kill("SIGINT");
  expect(await done).toBe(0);
});

test.each([
  [["--bogus"], "bogus"],
  [["--port", "abc"], "--port"],
  [["--port", "70000"], "--port"],
  [["--initial-status", "Paused"], "--initial-status"],
  [["--instances", "-3"], "--instances"],
  [["--access-key-id", "only-id"], "--access-key-secret"],
  [["--quota-per-second", "0"], "--quota-per-second"],
  [["--result-codes", "text"], "--result-codes"],
])("bad flags %j -> exit 2 naming the flag", (args, named) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 15000 });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(named);
  expect(r.stdout).toBe("");
});

test("--result-codes string: per-instance Code is the error name; GET /__emulator/faults shows the style", async () => {
  const { child, url } = await startCli(["--result-codes", "string", "--instances", "1"]);
  const r = await call(emuClient(target(url)), "StartInstances", { InstanceIds: "i-nope" });
  expect(r.InstanceResponses[0].Code).toBe("InstanceNotFound");
  expect((await adminGet({ url }, "faults")).resultCodes).toBe("string");
  const done = exited(child);
  child.kill("SIGTERM");
  expect(await done).toBe(0);
});

test("--help prints usage and exits 0", () => {
  const r = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8", timeout: 15000 });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("Usage: ens-emulator");
});

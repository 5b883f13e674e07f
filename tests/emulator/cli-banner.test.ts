/** ens-emulator's world flags (--demo, --key-pair) and the banner after the URL line. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { DEMO_SEED } from "../../emulator/banner";
import { emulatorCliPath } from "../helpers/emu-cli";

/** The lines the CLI prints up to the access key line, then SIGTERM. */
function banner(args: string[]): Promise<string[]> {
  const child = spawn(process.execPath, [emulatorCliPath(), "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise<string[]>((resolve, reject) => {
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on("line", (l) => {
      lines.push(l);
      if (l.startsWith("access key id:")) {
        child.kill("SIGTERM");
        resolve(lines);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} after ${JSON.stringify(lines)}`)));
  });
}

it("--demo is the examples' seed, built in", () => {
  expect(DEMO_SEED).toEqual(JSON.parse(fs.readFileSync(path.join(__dirname, "../../examples/demo-seed.json"), "utf8")));
});

it("--demo, --key-pair (repeatable) and --seed together; the banner counts instances by status and names the key pairs", async () => {
  const seed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ens-emu-seed-")), "seed.json");
  fs.writeFileSync(seed, JSON.stringify({ keyPairs: [{ keyPairName: "from-file", keyPairId: "ssh-fromfile0001" }], instances: [{ instanceId: "i-seeded01", status: "Running" }] }));
  const lines = await banner(["--instances", "3", "--seed", seed, "--demo", "--key-pair", "alpha", "--key-pair", "beta"]);
  expect(lines[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(lines[1]).toMatch(/^serving 4 instance\(s\) \((3 Stopped, 1 Running|1 Running, 3 Stopped)\) and 4 key pair\(s\): from-file \(ssh-fromfile0001\), demo-key \(ssh-demo0000000001\), alpha \(ssh-[0-9a-f]+\), \.\.\. 1 more$/);
  expect(lines[2]).toMatch(/^access key id:/);
});

it("an empty world: the banner says how to add a key pair and instances", async () => {
  const lines = await banner([]);
  expect(lines[1]).toBe("serving 0 instance(s) and 0 key pair(s)");
  expect(lines[2]).toContain(`no key pair yet: start with --demo (demo-key = ssh-demo0000000001) or --key-pair NAME, or add one now: curl -s -XPOST ${lines[0]}/__emulator/world -d '{"op":"addKeyPair","keyPairName":"my-key"}'`);
  expect(lines[3]).toContain(`no instance yet: start with --instances N, or add some now: curl -s -XPOST ${lines[0]}/__emulator/world -d '{"op":"addInstances","count":10}'`);
});

/** statePath: the world survives close() + start with the same file; transitions resolve by timestamp. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../../emulator";
import { call, emuClient, jsonIds } from "../helpers/emu-raw-client";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ens-emu-state-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("key pairs, attachments, statuses and tags survive a restart; seed/instances are ignored when the file exists", async () => {
  const statePath = join(dir, "nested", "world.json");
  const first = await startEmulator({ statePath, instances: 4, initialStatus: "Running" });
  expect(existsSync(statePath)).toBe(true); // written at start
  const c1 = emuClient(first);
  const kp = await call(c1, "CreateKeyPair", { KeyPairName: "persisted" });
  await call(c1, "StopInstances", { InstanceIds: "i-emu00000001,i-emu00000002" });
  await call(c1, "AttachKeyPair", { InstanceIds: jsonIds(["i-emu00000001"]), KeyPairId: kp.KeyPairId });
  await call(c1, "TagResources", { ResourceType: "instance", ResourceId: ["i-emu00000002"], Tag: [{ Key: "mark", Value: "m1" }] });
  const before = first.state();
  await first.close();

  const second = await startEmulator({ statePath, instances: 99 });
  try {
    expect(second.state()).toEqual(before);
    const c2 = emuClient(second);
    const d = await call(c2, "DescribeKeyPairs", { KeyPairName: "persisted" });
    expect(d.KeyPairs.KeyPair[0].KeyPairId).toBe(kp.KeyPairId);
    const inst = await call(c2, "DescribeInstances", { InstanceIds: jsonIds(["i-emu00000001"]) });
    expect(inst.Instances.Instance[0]).toEqual(expect.objectContaining({ Status: "Stopped", KeyPairName: "persisted" }));
    // Ids keep counting where they left off.
    expect(second.world.addInstances(1)).toEqual(["i-emu00000005"]);
  } finally {
    await second.close();
  }
});

test("an instance in transition at shutdown resolves by timestamp after restart", async () => {
  const statePath = join(dir, "transition.json");
  const first = await startEmulator({ statePath, instances: 1, initialStatus: "Running", stopDelayMs: 400 });
  await call(emuClient(first), "StopInstance", { InstanceId: "i-emu00000001" });
  expect(first.state().instances[0].status).toBe("Stopping");
  await first.close();
  const saved = JSON.parse(readFileSync(statePath, "utf8"));
  expect(saved.instances[0]).toEqual(expect.objectContaining({ status: "Stopping", until: expect.any(Number) }));
  await new Promise((r) => setTimeout(r, 500));
  const second = await startEmulator({ statePath, stopDelayMs: 400 });
  try {
    expect(second.state().instances[0].status).toBe("Stopped");
    expect(second.stats().stoppedNow).toBe(1);
  } finally {
    await second.close();
  }
});

test("mutations reach the file without close() (coalesced write)", async () => {
  const statePath = join(dir, "coalesced.json");
  const emu = await startEmulator({ statePath, instances: 1, persistIntervalMs: 50 });
  try {
    await call(emuClient(emu), "CreateKeyPair", { KeyPairName: "early" });
    await new Promise((r) => setTimeout(r, 300));
    const saved = JSON.parse(readFileSync(statePath, "utf8"));
    expect(saved.keyPairs.map((k: any) => k.keyPairName)).toEqual(["early"]);
  } finally {
    await emu.close();
  }
});

test("a corrupt state file refuses to start with a clear message", async () => {
  const statePath = join(dir, "corrupt.json");
  writeFileSync(statePath, "{ not json");
  await expect(startEmulator({ statePath })).rejects.toThrow(/not valid JSON/);
  writeFileSync(statePath, JSON.stringify({ hello: 1 }));
  await expect(startEmulator({ statePath })).rejects.toThrow(/not an ens-emulator-state file/);
});

test("a seed file seeds the world", async () => {
  const seedPath = join(dir, "seed.json");
  writeFileSync(
    seedPath,
    JSON.stringify({
      keyPairs: [{ keyPairName: "from-seed", keyPairId: "ssh-fromseed" }],
      instances: [{ instanceId: "i-a", status: "Running", keyPairName: "from-seed", ensRegionId: "cn-shanghai-unicom" }],
    }),
  );
  const emu = await startEmulator({ seed: seedPath, instances: 2 });
  try {
    expect(emu.state()).toEqual({
      instances: [
        { instanceId: "i-a", status: "Running", keyPairName: "from-seed", ensRegionId: "cn-shanghai-unicom", tags: {} },
        { instanceId: "i-emu00000001", status: "Stopped", ensRegionId: "cn-hangzhou-telecom", tags: {} },
        { instanceId: "i-emu00000002", status: "Stopped", ensRegionId: "cn-hangzhou-telecom", tags: {} },
      ],
      keyPairs: [{ keyPairId: "ssh-fromseed", keyPairName: "from-seed", keyPairFingerPrint: expect.any(String), creationTime: expect.any(String) }],
    });
  } finally {
    await emu.close();
  }
  await expect(startEmulator({ seed: join(dir, "missing.json") })).rejects.toThrow(/cannot read seed file/);
});

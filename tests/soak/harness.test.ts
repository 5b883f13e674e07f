/** The soak's own machinery: the kill switch (crash, one-shot missing instance, secrets seen) and journal counting. */
import { startEmulator } from "../../emulator";
import { EnsClient } from "../../provider/ens";
import { listed, stopCounts } from "./invariants";
import { call, emuClient } from "../helpers/emu-raw-client";
import { KILLED_CODE, startKillSwitch } from "./kill-switch";

test("the kill switch forwards, then refuses everything at once (not retried), and drops an instance from one read", async () => {
  const emu = await startEmulator({ instances: 3, initialStatus: "Running" });
  const wire = await startKillSwitch(emu.url);
  try {
    const client = new EnsClient({ endpoint: wire.url, credentials: { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret, securityToken: "soak-test-token" } });
    const ids = ["i-emu00000001", "i-emu00000002"];
    wire.omitOnce("i-emu00000002");
    const raw = emuClient({ hostPort: wire.url.replace("http://", ""), accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret });
    const read = async () => (await call(raw, "DescribeInstances", { InstanceIds: JSON.stringify(ids) })).Instances.Instance.map((i: any) => i.InstanceId);
    expect(await read()).toEqual(["i-emu00000001"]);
    expect(await read()).toEqual(ids);
    await client.describeInstancesById(ids);
    expect(wire.seenSecrets.has("soak-test-token")).toBe(true);
    expect([...wire.seenSecrets].some((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true); // ACS3 signatures
    wire.kill(1);
    await client.stopInstances(["i-emu00000001"]);
    const before = emu.journal().length;
    const started = Date.now();
    await expect(client.stopInstances(["i-emu00000002"])).rejects.toMatchObject({ code: KILLED_CODE });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(emu.journal().length).toBe(before);
    expect(wire.dead()).toBe(true);
  } finally {
    await wire.close();
    await emu.close();
  }
});

test("stops are counted per instance; a call again after a lost answer is the same stop", () => {
  const j = (action: string, params: Record<string, string>, httpStatus = 200, code?: string) => ({ action, params, httpStatus, code, at: "" });
  expect(listed({ InstanceIds: '["i-a","i-b"]' })).toEqual(["i-a", "i-b"]);
  expect(listed({ InstanceIds: "i-a,i-b" })).toEqual(["i-a", "i-b"]);
  expect(listed({ "ResourceId.1": "i-a", "ResourceId.2": "i-c" })).toEqual(["i-a", "i-c"]);
  const counts = stopCounts([
    j("StopInstances", { InstanceIds: "i-a,i-b" }, 0, "AnswerLost"),
    j("StopInstances", { InstanceIds: "i-a" }),
    j("StopInstance", { InstanceId: "i-b" }),
    j("StopInstance", { InstanceId: "i-c" }, 503, "ServiceUnavailable"),
    j("StopInstance", { InstanceId: "i-d" }),
    j("StopInstances", { InstanceIds: "i-d" }),
  ]);
  expect(Object.fromEntries(counts)).toEqual({ "i-a": 1, "i-b": 1, "i-d": 2 });
});

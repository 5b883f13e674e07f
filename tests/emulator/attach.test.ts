/** AttachKeyPair / DetachKeyPair rules, through the real client in both signature styles. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient, jsonIds } from "../helpers/emu-raw-client";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({
    instances: 40,
    seed: { keyPairs: [{ keyPairName: "alpha", keyPairId: "ssh-alpha" }, { keyPairName: "beta", keyPairId: "ssh-beta" }] },
  });
});
afterAll(() => emu.close());

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
const keyOf = (instanceId: string) => emu.state().instances.find((i) => i.instanceId === instanceId)?.keyPairName;

describe.each(SIGNATURE_STYLES)("signature style %s", (_label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });
  // Each style uses its own instances: ACS3 1..15, v2 16..30.
  const base = signatureAlgorithm ? 15 : 0;
  const my = (n: number) => id(base + n);

  beforeEach(() => {
    for (let n = 1; n <= 15; n++) {
      emu.world.setInstanceStatus(my(n), "Stopped");
      emu.world.setInstanceKey(my(n), undefined);
    }
    emu.setFaults({});
  });

  test("attach by KeyPairId: full response shape, instance carries the key", async () => {
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(1), my(2)]), KeyPairId: "ssh-alpha" });
    expect(r).toEqual({
      RequestId: expect.any(String),
      KeyPairId: "ssh-alpha",
      KeyPairName: "alpha",
      TotalCount: 2,
      FailCount: 0,
      Results: [
        { Code: 200, InstanceId: my(1), Message: "successful", Success: true },
        { Code: 200, InstanceId: my(2), Message: "successful", Success: true },
      ],
    });
    expect(keyOf(my(1))).toBe("alpha");
    const d = await call(c(), "DescribeInstances", { InstanceIds: jsonIds([my(1)]) });
    expect(d.Instances.Instance[0].KeyPairName).toBe("alpha");
    expect(d.Instances.Instance[0]).not.toHaveProperty("KeyPairId");
  });

  test("attach by KeyPairName works too", async () => {
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(3)]), KeyPairName: "beta" });
    expect([r.KeyPairId, r.FailCount]).toEqual(["ssh-beta", 0]);
    expect(keyOf(my(3))).toBe("beta");
  });

  test("per-instance failures: unknown instance, not Stopped; the rest succeed", async () => {
    emu.world.setInstanceStatus(my(5), "Running");
    emu.world.setInstanceStatus(my(6), "Stopping");
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(4), my(5), "i-missing", my(6)]), KeyPairId: "ssh-alpha" });
    expect(r.TotalCount).toBe(4);
    expect(r.FailCount).toBe(3);
    expect(r.Results).toEqual([
      { Code: 200, InstanceId: my(4), Message: "successful", Success: true },
      { Code: 400, InstanceId: my(5), Message: "IncorrectInstanceStatus: The current status of the instance does not support this operation.", Success: false },
      { Code: 400, InstanceId: "i-missing", Message: expect.stringMatching(/^InvalidInstanceId\.NotFound: /), Success: false },
      { Code: 400, InstanceId: my(6), Message: expect.stringMatching(/^IncorrectInstanceStatus: /), Success: false },
    ]);
    expect(keyOf(my(5))).toBeUndefined();
  });

  test("attaching another key replaces the previous one (one key per instance)", async () => {
    await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(7)]), KeyPairId: "ssh-alpha" });
    await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(7)]), KeyPairId: "ssh-beta" });
    expect(keyOf(my(7))).toBe("beta");
  });

  test("attaching the key an instance already has succeeds (even when Running)", async () => {
    await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(8)]), KeyPairId: "ssh-alpha" });
    emu.world.setInstanceStatus(my(8), "Running");
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(8)]), KeyPairId: "ssh-alpha" });
    expect(r.FailCount).toBe(0);
  });

  test("detach by KeyPairId: success clears the key; another key -> PublicKeyNotAttachWithInstance; Running -> IncorrectInstanceStatus", async () => {
    await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(9), my(10), my(11)]), KeyPairId: "ssh-alpha" });
    emu.world.setInstanceStatus(my(11), "Running");
    const r = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds([my(9), my(12), my(11)]), KeyPairId: "ssh-alpha" });
    expect(r).toEqual({
      RequestId: expect.any(String),
      KeyPairId: "ssh-alpha",
      KeyPairName: "alpha",
      TotalCount: 3,
      FailCount: 2,
      Results: [
        { Code: 200, InstanceId: my(9), Message: "successful", Success: true },
        { Code: 400, InstanceId: my(12), Message: expect.stringMatching(/^PublicKeyNotAttachWithInstance: /), Success: false },
        { Code: 400, InstanceId: my(11), Message: expect.stringMatching(/^IncorrectInstanceStatus: /), Success: false },
      ],
    });
    expect(keyOf(my(9))).toBeUndefined();
    expect(keyOf(my(10))).toBe("alpha");
    const beta = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds([my(10)]), KeyPairId: "ssh-beta" });
    expect([beta.Results[0].Code, beta.Results[0].Message]).toEqual([400, expect.stringMatching(/^PublicKeyNotAttachWithInstance: /)]);
  });

  test("injected instanceFailures appear in Results", async () => {
    emu.setFaults({ instanceFailures: { [my(13)]: { code: "Instance.Locked", message: "locked by test" } } });
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(13), my(14)]), KeyPairId: "ssh-alpha" });
    expect(r.FailCount).toBe(1);
    expect(r.Results[0]).toEqual({ Code: 400, InstanceId: my(13), Message: "Instance.Locked: locked by test", Success: false });
    expect(r.Results[1].Success).toBe(true);
    expect(keyOf(my(13))).toBeUndefined();
  });

  test("unknown key pair -> 404 InvalidKeyPair.NotFound for the whole call", async () => {
    const e = await callErr(c(), "AttachKeyPair", { InstanceIds: jsonIds([my(1)]), KeyPairId: "ssh-nope" });
    expect([e.statusCode, e.code]).toEqual([404, "InvalidKeyPair.NotFound"]);
    const e2 = await callErr(c(), "DetachKeyPair", { InstanceIds: jsonIds([my(1)]), KeyPairName: "nope" });
    expect([e2.statusCode, e2.code]).toEqual([404, "InvalidKeyPair.NotFound"]);
  });

  test.each(["AttachKeyPair", "DetachKeyPair"])("%s parameter rules", async (action) => {
    const ids31 = Array.from({ length: 31 }, (_, i) => id(i + 1));
    const cases: [Record<string, unknown>, number, string][] = [
      [{ InstanceIds: jsonIds(ids31), KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ InstanceIds: jsonIds([]), KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ InstanceIds: "[not json", KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ InstanceIds: `${my(1)},${my(2)}`, KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ InstanceIds: '{"a":1}', KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ InstanceIds: jsonIds([my(1), my(1)]), KeyPairId: "ssh-alpha" }, 400, "InvalidParameter.InstanceIds"],
      [{ KeyPairId: "ssh-alpha" }, 400, "MissingParameter"],
      [{ InstanceIds: jsonIds([my(1)]) }, 400, "MissingParameter"],
      [{ InstanceIds: "null", KeyPairId: "ssh-alpha" }, 400, "MissingParameter"],
    ];
    for (const [q, status, code] of cases) {
      const e = await callErr(c(), action, q);
      expect([JSON.stringify(q).slice(0, 60), e.statusCode, e.code]).toEqual([JSON.stringify(q).slice(0, 60), status, code]);
    }
    const msg = (await callErr(c(), action, { InstanceIds: jsonIds(ids31), KeyPairId: "ssh-alpha" })).data.Message;
    expect(msg).toMatch(/between 1 and 30/);
    expect((await callErr(c(), action, { InstanceIds: jsonIds([my(1)]) })).data.Message).toMatch(/KeyPairId or KeyPairName/);
  });

  test("exactly 30 instance IDs are accepted", async () => {
    const ids30 = Array.from({ length: 30 }, (_, i) => id(i + 1));
    const r = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds(ids30), KeyPairId: "ssh-beta" });
    expect(r.TotalCount).toBe(30);
  });
});

/** Edge faults (latency, throttle, 503, drop), the quota, and the admin endpoints that drive them. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, adminGet, adminPost, call, callErr, emuClient, jsonIds, rawHttp } from "../helpers/emu-raw-client";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 5, accessKeys: { "key-a": "sa", "key-b": "sb" } });
});
afterAll(() => emu.close());
beforeEach(() => emu.reset());

describe.each(SIGNATURE_STYLES)("faults, signature style %s", (_label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });

  test("latencyMs delays every call (measured)", async () => {
    await call(c(), "DescribeInstances"); // warm the connection
    emu.setFaults({ latencyMs: 250 });
    const t0 = Date.now();
    await call(c(), "DescribeInstances");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    emu.setFaults({});
    expect(emu.faults()).toEqual({});
  });

  test("the latencyMs option adds latency to every API call", async () => {
    const slow = await startEmulator({ latencyMs: 200 });
    try {
      const t0 = Date.now();
      await call(emuClient(slow, { signatureAlgorithm }), "DescribeKeyPairs");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(slow.journal()).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  test("throttleRate 1.0 -> 400 Throttling.User with ENS's message", async () => {
    emu.setFaults({ throttleRate: 1 });
    const e = await callErr(c(), "DescribeInstances");
    expect([e.statusCode, e.code, e.data.Message]).toEqual([400, "Throttling.User", "Request was denied due to user flow control."]);
    expect(emu.journal().at(-1)).toEqual(expect.objectContaining({ httpStatus: 400, code: "Throttling.User" }));
  });

  test("errorRate 1.0 -> 503 ServiceUnavailable", async () => {
    emu.setFaults({ errorRate: 1 });
    const e = await callErr(c(), "AttachKeyPair", { InstanceIds: jsonIds(["i-emu00000001"]), KeyPairName: "x" });
    expect([e.statusCode, e.code, e.data.Message]).toEqual([
      503,
      "ServiceUnavailable",
      "The request has failed due to a temporary failure of the server.",
    ]);
  });

  test("actions limits the random faults to the listed actions", async () => {
    emu.setFaults({ errorRate: 1, actions: ["AttachKeyPair"] });
    await call(c(), "DescribeInstances");
    const e = await callErr(c(), "AttachKeyPair", { InstanceIds: jsonIds(["i-emu00000001"]), KeyPairName: "x" });
    expect([e.statusCode, e.code]).toEqual([503, "ServiceUnavailable"]);
  });

  test("dropRate 1.0 -> the connection closes without a response; journaled with httpStatus 0", async () => {
    emu.setFaults({ dropRate: 1 });
    const err = await call(c(), "DescribeInstances").then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeDefined();
    expect(String(err.message)).toMatch(/socket hang up|ECONNRESET|closed/i);
    expect(err.statusCode).toBeUndefined();
    expect(emu.journal().at(-1)).toEqual(expect.objectContaining({ action: "DescribeInstances", httpStatus: 0, code: "ConnectionDropped" }));
    emu.setFaults({});
    await expect(call(c(), "DescribeInstances")).resolves.toHaveProperty("RequestId");
  });

  test("faults do not apply to calls that fail authentication first", async () => {
    emu.setFaults({ throttleRate: 1 });
    const e = await callErr(emuClient(emu, { signatureAlgorithm, accessKeySecret: "wrong" }), "DescribeInstances");
    expect(e.code).toBe("SignatureDoesNotMatch");
  });
});

describe("rates and seeds", () => {
  test("a throttle rate of 0.5 with a randomSeed throttles about half, identically across runs", async () => {
    const run = async () => {
      const e = await startEmulator({ instances: 1, randomSeed: "fixed", faults: { throttleRate: 0.5 } });
      const c = emuClient(e);
      const outcome: string[] = [];
      for (let i = 0; i < 60; i++) outcome.push(await call(c, "DescribeInstances").then(() => "ok", (x) => x.code));
      await e.close();
      return outcome;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const throttled = a.filter((x) => x === "Throttling.User").length;
    expect(throttled).toBeGreaterThan(15);
    expect(throttled).toBeLessThan(45);
  });
});

describe("quota", () => {
  test("quotaPerSecond: beyond N calls in one second -> Throttling.User, per access key; setQuota(undefined) lifts it", async () => {
    emu.setQuota(5);
    const a = emuClient(emu, { accessKeyId: "key-a", accessKeySecret: "sa" });
    const b = emuClient(emu, { accessKeyId: "key-b", accessKeySecret: "sb", signatureAlgorithm: "v2" });
    // Align to the start of a second so all calls land in one window.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const results = await Promise.all(Array.from({ length: 8 }, () => call(a, "DescribeInstances").then(() => "ok", (e) => e.code)));
    expect(results.filter((r) => r === "ok")).toHaveLength(5);
    expect(results.filter((r) => r === "Throttling.User")).toHaveLength(3);
    await expect(call(b, "DescribeInstances")).resolves.toHaveProperty("RequestId"); // key-b has its own window
    await new Promise((r) => setTimeout(r, 1000));
    await expect(call(a, "DescribeInstances")).resolves.toHaveProperty("RequestId"); // next second
    emu.setQuota(undefined);
    const burst = await Promise.all(Array.from({ length: 12 }, () => call(a, "DescribeInstances").then(() => "ok", (e) => e.code)));
    expect(burst.every((r) => r === "ok")).toBe(true);
  });

  test("quotaPerSecond from options applies from the start and survives reset()", async () => {
    const e = await startEmulator({ quotaPerSecond: 2 });
    try {
      e.reset();
      const c = emuClient(e);
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      const out = await Promise.all(Array.from({ length: 4 }, () => call(c, "DescribeKeyPairs").then(() => "ok", (x) => x.code)));
      expect(out.filter((r) => r === "Throttling.User")).toHaveLength(2);
    } finally {
      await e.close();
    }
  });
});

describe("admin endpoints", () => {
  test("POST /__emulator/faults sets faults and quota; GET reads them; {} clears", async () => {
    const r = await adminPost(emu, "faults", { throttleRate: 1, quotaPerSecond: 100 });
    expect(r.status).toBe(200);
    expect(await adminGet(emu, "faults")).toEqual({ throttleRate: 1, quotaPerSecond: 100, resultCodes: "number" });
    expect((await callErr(emuClient(emu, { accessKeyId: "key-a", accessKeySecret: "sa" }), "DescribeInstances")).code).toBe("Throttling.User");
    await adminPost(emu, "faults", {});
    expect(await adminGet(emu, "faults")).toEqual({ quotaPerSecond: 100, resultCodes: "number" });
    await adminPost(emu, "faults", { quotaPerSecond: null });
    expect(await adminGet(emu, "faults")).toEqual({ quotaPerSecond: null, resultCodes: "number" });
  });

  test("POST /__emulator/faults rejects bad input with a JSON 400", async () => {
    for (const bad of [{ throttleRate: 2 }, { latencyMs: -1 }, { nonsense: 1 }, { instanceFailures: { "i-1": "x" } }, [1]]) {
      const r = await adminPost(emu, "faults", bad);
      expect([r.status, r.json.Code]).toEqual([400, "EmulatorAdminError"]);
    }
    const notJson = await rawHttp(emu, "POST", "/__emulator/faults", "{not json", { "content-type": "application/json" });
    expect([notJson.status, notJson.json.Code]).toEqual([400, "EmulatorAdminError"]);
  });

  test("GET state / journal / stats; POST reset", async () => {
    const c = emuClient(emu, { accessKeyId: "key-a", accessKeySecret: "sa" });
    await call(c, "DescribeInstances", { PageSize: 2 });
    const journal = await adminGet(emu, "journal");
    expect(journal).toEqual([
      {
        action: "DescribeInstances",
        params: { Action: "DescribeInstances", Version: "2017-11-10", PageSize: "2" },
        httpStatus: 200,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        accessKeyId: "key-a",
      },
    ]);
    expect(await adminGet(emu, "stats")).toEqual({ peakStopped: 0, stoppedNow: 0, peakStoppedByRegion: {}, downtime: { mean: 0, p95: 0, max: 0, count: 0 }, calls: { DescribeInstances: 1 } });
    const state = await adminGet(emu, "state");
    expect(state.instances[0]).toEqual({ instanceId: "i-emu00000001", status: "Stopped", ensRegionId: "cn-hangzhou-telecom", tags: {} });
    expect(state).toEqual(emu.state());
    expect((await adminPost(emu, "reset", {})).json).toEqual({ ok: true });
    expect(await adminGet(emu, "journal")).toEqual([]);
  });

  test("v2 calls journal like ACS3 calls: signature parameters left out", async () => {
    await call(emuClient(emu, { accessKeyId: "key-b", accessKeySecret: "sb", signatureAlgorithm: "v2", securityToken: "t" }), "DescribeInstances", { PageSize: 2 });
    expect(emu.journal()[0].params).toEqual({ Action: "DescribeInstances", Version: "2017-11-10", PageSize: "2" });
  });

  test("POST /__emulator/world mutates the world from another process", async () => {
    const r = await adminPost(emu, "world", [
      { op: "addKeyPair", keyPairName: "admin-key", keyPairId: "ssh-admin" },
      { op: "setInstanceKey", instanceId: "i-emu00000002", keyPairName: "admin-key" },
      { op: "setInstanceStatus", instanceId: "i-emu00000003", status: "Running" },
      { op: "addInstances", count: 2, status: "Running" },
    ]);
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([{ keyPairId: "ssh-admin" }, null, null, { instanceIds: ["i-emu00000006", "i-emu00000007"] }]);
    const s = emu.state();
    expect(s.instances.find((i) => i.instanceId === "i-emu00000002")!.keyPairName).toBe("admin-key");
    expect(s.instances.find((i) => i.instanceId === "i-emu00000003")!.status).toBe("Running");
    expect((await adminPost(emu, "world", { op: "deleteKeyPair", keyPair: "admin-key" })).status).toBe(200);
    expect(emu.state().keyPairs.find((k) => k.keyPairName === "admin-key")).toBeUndefined();
    expect((await adminPost(emu, "world", { op: "removeInstance", instanceId: "i-emu00000007" })).status).toBe(200);
    expect((await adminPost(emu, "world", { op: "setInstanceStatus", instanceId: "i-none", status: "Running" })).status).toBe(400);
    expect((await adminPost(emu, "world", { op: "explode" })).status).toBe(400);
    expect((await rawHttp(emu, "GET", "/__emulator/nothing")).status).toBe(404);
  });
});

/** DescribeInstances paging/filters and the Stop/Start lifecycle, through the real client in both signature styles. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient, jsonIds } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(SIGNATURE_STYLES)("DescribeInstances, signature style %s", (_label, signatureAlgorithm) => {
  let emu: RunningEmulator;
  const c = () => emuClient(emu, { signatureAlgorithm });
  beforeAll(async () => {
    emu = await startEmulator({
      instances: 25,
      initialStatus: "Running",
      seed: { instances: [{ instanceId: "i-seeded", status: "Stopped", keyPairName: "k1", ensRegionId: "cn-beijing-cmcc" }] },
    });
  });
  afterAll(() => emu.close());

  test("defaults: PageNumber 1, PageSize 10, TotalCount, Instances.Instance[] with the documented fields", async () => {
    const r = await call(c(), "DescribeInstances");
    expect(r).toEqual(
      expect.objectContaining({ Code: 0, PageNumber: 1, PageSize: 10, TotalCount: 26, RequestId: expect.any(String) }),
    );
    expect(r.Instances.Instance).toHaveLength(10);
    expect(r.Instances.Instance[0]).toEqual(
      expect.objectContaining({
        InstanceId: "i-seeded",
        InstanceName: expect.any(String),
        HostName: expect.any(String),
        Status: "Stopped",
        KeyPairName: "k1",
        EnsRegionId: "cn-beijing-cmcc",
        ImageId: expect.any(String),
      }),
    );
    expect(r.Instances.Instance[1]).toEqual(expect.objectContaining({ InstanceId: id(1), Status: "Running", EnsRegionId: "cn-hangzhou-telecom" }));
    expect(r.Instances.Instance[1]).not.toHaveProperty("KeyPairName");
  });

  test("paging walks every instance exactly once", async () => {
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const r = await call(c(), "DescribeInstances", { PageNumber: page, PageSize: 7 });
      expect(r.PageNumber).toBe(page);
      expect(r.PageSize).toBe(7);
      seen.push(...r.Instances.Instance.map((i: any) => i.InstanceId));
    }
    expect(seen).toHaveLength(26);
    expect(new Set(seen).size).toBe(26);
    const past = await call(c(), "DescribeInstances", { PageNumber: 5, PageSize: 7 });
    expect(past.Instances.Instance).toEqual([]);
    expect(past.TotalCount).toBe(26);
  });

  test("filters: InstanceIds (JSON array), Status, EnsRegionId, InstanceId", async () => {
    const byIds = await call(c(), "DescribeInstances", { InstanceIds: jsonIds([id(3), id(5), "i-unknown"]) });
    expect(byIds.Instances.Instance.map((i: any) => i.InstanceId)).toEqual([id(3), id(5)]);
    expect(byIds.TotalCount).toBe(2);
    const stopped = await call(c(), "DescribeInstances", { Status: "Stopped" });
    expect(stopped.Instances.Instance.map((i: any) => i.InstanceId)).toEqual(["i-seeded"]);
    const region = await call(c(), "DescribeInstances", { EnsRegionId: "cn-hangzhou-telecom" });
    expect(region.TotalCount).toBe(25);
    const single = await call(c(), "DescribeInstances", { InstanceId: id(7) });
    expect(single.Instances.Instance.map((i: any) => i.InstanceId)).toEqual([id(7)]);
  });

  test("100 InstanceIds are fine, 101 -> 400 InvalidParameter.InstanceIds", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => id(i + 1));
    const ok = await call(c(), "DescribeInstances", { InstanceIds: jsonIds(ids.slice(0, 100)), PageSize: 100 });
    expect(ok.TotalCount).toBe(25);
    const e = await callErr(c(), "DescribeInstances", { InstanceIds: jsonIds(ids) });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidParameter.InstanceIds"]);
    expect((await callErr(c(), "DescribeInstances", { InstanceIds: "i-1,i-2" })).code).toBe("InvalidParameter.InstanceIds");
  });

  test("PageSize above 100, zero or not a number -> 400 InvalidParameter.PageSize", async () => {
    for (const size of [101, 0, "ten"]) {
      const e = await callErr(c(), "DescribeInstances", { PageSize: size });
      expect([e.statusCode, e.code]).toEqual([400, "InvalidParameter.PageSize"]);
    }
    expect((await call(c(), "DescribeInstances", { PageSize: 100 })).Instances.Instance).toHaveLength(26);
  });
});

describe.each(SIGNATURE_STYLES)("lifecycle, signature style %s", (_label, signatureAlgorithm) => {
  let emu: RunningEmulator;
  const c = () => emuClient(emu, { signatureAlgorithm });
  const status = async (instanceId: string) =>
    (await call(c(), "DescribeInstances", { InstanceIds: jsonIds([instanceId]) })).Instances.Instance[0].Status;
  beforeEach(async () => {
    emu = await startEmulator({ instances: 10, initialStatus: "Running", stopDelayMs: 500, startDelayMs: 500 });
  });
  afterEach(() => emu.close());

  test("StopInstances: Running -> Stopping, then Stopped after stopDelayMs; response shape", async () => {
    const r = await call(c(), "StopInstances", { InstanceIds: `${id(1)},${id(2)}` });
    expect(r).toEqual({
      RequestId: expect.any(String),
      InstanceResponses: [
        { Code: 200, InstanceId: id(1), Message: "success" },
        { Code: 200, InstanceId: id(2), Message: "success" },
      ],
    });
    expect(await status(id(1))).toBe("Stopping");
    await sleep(700);
    expect(await status(id(1))).toBe("Stopped");
  });

  test("StartInstances: Stopped -> Starting -> Running; wrong state and unknown ids are per-instance codes", async () => {
    await call(c(), "StopInstances", { InstanceIds: id(3) });
    const early = await call(c(), "StartInstances", { InstanceIds: id(3) });
    expect(early.InstanceResponses[0]).toEqual({ Code: 400, InstanceId: id(3), Message: expect.stringMatching(/^IncorrectInstanceStatus: /) }); // still Stopping
    await sleep(700);
    const r = await call(c(), "StartInstances", { InstanceIds: `${id(3)},${id(4)},i-nope` });
    expect(r.InstanceResponses).toEqual([
      { Code: 200, InstanceId: id(3), Message: "success" },
      { Code: 400, InstanceId: id(4), Message: "IncorrectInstanceStatus: The current status of the instance does not support this operation." },
      { Code: 400, InstanceId: "i-nope", Message: "InstanceNotFound: The input parameter instancdId that is not found." },
    ]);
    expect(await status(id(3))).toBe("Starting");
    await sleep(700);
    expect(await status(id(3))).toBe("Running");
    const again = await call(c(), "StopInstances", { InstanceIds: `${id(5)},${id(5)}` }).catch((e) => e);
    expect(again.code).toBe("InvalidParameter.InstanceIds");
  });

  test("StopInstance / StartInstance: {Code: 0}; wrong state -> 400 IncorrectInstanceStatus; unknown -> 400 InstanceIdNotFound / InstanceNotFound", async () => {
    expect(await call(c(), "StopInstance", { InstanceId: id(6), ForceStop: "true" })).toEqual({ RequestId: expect.any(String), Code: 0 });
    const twice = await callErr(c(), "StopInstance", { InstanceId: id(6) });
    expect([twice.statusCode, twice.code]).toEqual([400, "IncorrectInstanceStatus"]);
    expect(twice.data.Message).toBe("The current status of the instance does not support this operation.");
    const early = await callErr(c(), "StartInstance", { InstanceId: id(6) });
    expect(early.code).toBe("IncorrectInstanceStatus");
    await sleep(700);
    expect(await call(c(), "StartInstance", { InstanceId: id(6) })).toEqual({ RequestId: expect.any(String), Code: 0 });
    const missing = await callErr(c(), "StopInstance", { InstanceId: "i-nope" });
    expect([missing.statusCode, missing.code]).toEqual([400, "InstanceIdNotFound"]);
    const missingStart = await callErr(c(), "StartInstance", { InstanceId: "i-nope" });
    expect([missingStart.statusCode, missingStart.code]).toEqual([400, "InstanceNotFound"]);
    expect((await callErr(c(), "StopInstance", {})).code).toBe("MissingParameter");
    expect((await callErr(c(), "StopInstance", { InstanceId: id(7), ForceStop: "yes" })).code).toBe("InvalidParameter.ForceStop");
    expect((await callErr(c(), "StopInstances", {})).code).toBe("MissingParameter");
  });

  test("injected instanceFailures affect only AttachKeyPair/DetachKeyPair, not the lifecycle actions", async () => {
    emu.setFaults({ instanceFailures: { [id(8)]: { code: "Instance.Busy", message: "busy" } } });
    const r = await call(c(), "StopInstances", { InstanceIds: `${id(8)},${id(9)}` });
    expect(r.InstanceResponses.map((x: any) => x.Code)).toEqual([200, 200]);
    await sleep(700);
    expect(await call(c(), "StartInstance", { InstanceId: id(8) })).toHaveProperty("Code", 0);
  });

  test("stats: peakStopped counts API-stopped instances at once, stoppedNow the current ones", async () => {
    await call(c(), "StopInstances", { InstanceIds: `${id(1)},${id(2)},${id(3)}` });
    await call(c(), "StopInstance", { InstanceId: id(4) });
    expect(emu.stats()).toEqual(expect.objectContaining({ peakStopped: 4, stoppedNow: 4 }));
    await sleep(700);
    await call(c(), "StartInstances", { InstanceIds: `${id(1)},${id(2)},${id(3)},${id(4)}` });
    expect(emu.stats().stoppedNow).toBe(4); // Starting still counts
    await sleep(700);
    expect(emu.stats()).toEqual(expect.objectContaining({ peakStopped: 4, stoppedNow: 0 }));
    await call(c(), "StopInstance", { InstanceId: id(5) });
    expect(emu.stats()).toEqual(expect.objectContaining({ peakStopped: 4, stoppedNow: 1 }));
    emu.world.setInstanceStatus(id(9), "Stopped"); // out-of-band: not an API stop
    expect(emu.stats().stoppedNow).toBe(1);
    emu.reset();
    expect(emu.stats()).toEqual({ peakStopped: 1, stoppedNow: 1, peakStoppedByRegion: { "cn-hangzhou-telecom": 1 }, downtime: { mean: 0, p95: 0, max: 0, count: 0 }, calls: {} });
    expect(emu.stats().calls).toEqual({});
  });

  test("stats.calls counts calls per action, failed ones included", async () => {
    await call(c(), "DescribeInstances");
    await callErr(c(), "StopInstance", { InstanceId: "i-nope" });
    await callErr(c(), "StopInstance", {});
    expect(emu.stats().calls).toEqual({ DescribeInstances: 1, StopInstance: 2 });
  });
});

describe("lifecycle with the default delays", () => {
  test("stopDelayMs 0: the next read after a stop sees Stopped", async () => {
    const emu = await startEmulator({ instances: 1, initialStatus: "Running" });
    try {
      const c = emuClient(emu);
      await call(c, "StopInstance", { InstanceId: id(1) });
      const r = await call(c, "DescribeInstances");
      expect(r.Instances.Instance[0].Status).toBe("Stopped");
      await call(c, "StartInstance", { InstanceId: id(1) });
      expect((await call(c, "DescribeInstances")).Instances.Instance[0].Status).toBe("Running");
    } finally {
      await emu.close();
    }
  });
});

/** The faults added for SDK conformance: lostAnswerRate, wholeCallPowerFailure, throttleCode / throttleStatus. */
import { Faults, RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, adminGet, adminPost, call, callErr, emuClient } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;

let emu: RunningEmulator;
beforeEach(async () => {
  emu = await startEmulator({ instances: 6, initialStatus: "Running" });
});
afterEach(() => emu.close());
const statusOf = (instanceId: string) => emu.state().instances.find((i) => i.instanceId === instanceId)!.status;
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e) => e);

describe.each(SIGNATURE_STYLES)("signature style %s", (_label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });

  test("lostAnswerRate 1: the action is carried out, the client sees a dropped connection, the journal says AnswerLost", async () => {
    emu.setFaults({ lostAnswerRate: 1 });
    const err = await failure(call(c(), "StopInstance", { InstanceId: id(1) }));
    expect(String(err?.message)).toMatch(/socket hang up|ECONNRESET|closed/i);
    expect(err.statusCode).toBeUndefined();
    expect(statusOf(id(1))).toBe("Stopped");
    expect(emu.journal().at(-1)).toEqual(expect.objectContaining({ action: "StopInstance", httpStatus: 0, code: "AnswerLost" }));
    // An action that fails loses its error answer the same way (and changes nothing).
    const again = await failure(call(c(), "StopInstance", { InstanceId: id(1) }));
    expect(again?.code).not.toBe("IncorrectInstanceStatus");
    expect(emu.journal().at(-1)).toEqual(expect.objectContaining({ httpStatus: 0, code: "AnswerLost" }));
  });

  test("lostAnswerRate honors actions", async () => {
    emu.setFaults({ lostAnswerRate: 1, actions: ["StartInstances"] });
    await call(c(), "StopInstances", { InstanceIds: id(2) });
    expect(statusOf(id(2))).toBe("Stopped");
    expect(await failure(call(c(), "StartInstances", { InstanceIds: id(2) }))).toBeDefined();
    expect(statusOf(id(2))).toBe("Running");
    await expect(call(c(), "DescribeInstances")).resolves.toHaveProperty("TotalCount", 6);
  });

  test("wholeCallPowerFailure: a wrong state fails StopInstances / StartInstances as a whole; nothing changes", async () => {
    emu.setFaults({ wholeCallPowerFailure: true });
    emu.world.setInstanceStatus(id(3), "Stopped");
    const e = await callErr(c(), "StopInstances", { InstanceIds: `${id(1)},${id(2)},${id(3)}` });
    expect([e.statusCode, e.code, e.data.Message]).toEqual([400, "IncorrectInstanceStatus", "The current status of the instance does not support this operation."]);
    expect([statusOf(id(1)), statusOf(id(2))]).toEqual(["Running", "Running"]);
    const s = await callErr(c(), "StartInstances", { InstanceIds: `${id(3)},${id(4)}` });
    expect([s.statusCode, s.code]).toEqual([400, "IncorrectInstanceStatus"]);
    expect(statusOf(id(3))).toBe("Stopped");
    // All in the right state: per-instance results as usual.
    const ok = await call(c(), "StopInstances", { InstanceIds: [id(1), id(2)] });
    expect(ok.InstanceResponses.map((r: any) => r.Code)).toEqual([200, 200]);
  });

  test("wholeCallPowerFailure: an unknown instance -> 400 InstanceIdNotFound (Stop) / InstanceNotFound (Start)", async () => {
    emu.setFaults({ wholeCallPowerFailure: true });
    const stop = await callErr(c(), "StopInstances", { InstanceIds: `${id(1)},i-gone` });
    expect([stop.statusCode, stop.code]).toEqual([400, "InstanceIdNotFound"]);
    expect(statusOf(id(1))).toBe("Running");
    const start = await callErr(c(), "StartInstances", { InstanceIds: "i-gone" });
    expect([start.statusCode, start.code]).toEqual([400, "InstanceNotFound"]);
  });

  test.each<[Faults["throttleCode"], Faults["throttleStatus"], string]>([
    ["Throttling", 400, "Request was denied due to request throttling."],
    ["Throttling.User", 429, "Request was denied due to user flow control."],
    ["Throttling.Api", 429, "Request was denied due to api flow control."],
  ])("throttleCode %s with throttleStatus %s, for the throttle fault and the quota", async (throttleCode, throttleStatus, message) => {
    emu.setFaults({ throttleRate: 1, throttleCode, throttleStatus });
    const e = await callErr(c(), "DescribeInstances");
    expect([e.statusCode, e.code, e.data.Message]).toEqual([throttleStatus, throttleCode, message]);
    emu.setFaults({ throttleCode, throttleStatus });
    emu.setQuota(1);
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const out = await Promise.all([1, 2, 3].map(() => call(c(), "DescribeKeyPairs").then(() => "ok", (x) => `${x.statusCode} ${x.code}`)));
    expect(out.filter((o) => o !== "ok")).toEqual([`${throttleStatus} ${throttleCode}`, `${throttleStatus} ${throttleCode}`]);
  });
});

describe("fault validation", () => {
  test("the new fields are validated by setFaults and POST /__emulator/faults", async () => {
    for (const bad of [{ lostAnswerRate: 2 }, { wholeCallPowerFailure: "yes" }, { throttleCode: "Throttled" }, { throttleStatus: 503 }]) {
      expect(() => emu.setFaults(bad as Faults)).toThrow();
      const r = await adminPost(emu, "faults", bad);
      expect([r.status, r.json.Code]).toEqual([400, "EmulatorAdminError"]);
    }
    const good = { lostAnswerRate: 0.5, wholeCallPowerFailure: true, throttleCode: "Throttling.Api", throttleStatus: 429 };
    expect((await adminPost(emu, "faults", good)).status).toBe(200);
    expect(await adminGet(emu, "faults")).toEqual({ ...good, quotaPerSecond: null, resultCodes: "number" });
  });

  test("the default throttle answer stays 400 Throttling.User", async () => {
    emu.setFaults({ throttleRate: 1 });
    const e = await callErr(emuClient(emu), "DescribeInstances");
    expect([e.statusCode, e.code]).toEqual([400, "Throttling.User"]);
  });
});

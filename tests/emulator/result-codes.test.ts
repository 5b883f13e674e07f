/**
 * Per-instance result codes in both styles: "number" (default, as the SDK models type Code) and "string".
 * AttachKeyPair/DetachKeyPair `Results`, Stop/StartInstances `InstanceResponses`, injected instanceFailures,
 * and the three ways to pick the style (option, setResultCodes, POST /__emulator/faults).
 */
import { ResultCodeStyle, RunningEmulator, startEmulator } from "../../emulator";
import { adminGet, adminPost, call, emuClient, jsonIds } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
const STATUS_TEXT = "The current status of the instance does not support this operation.";

/** What a failed item looks like in each style. */
function failed(style: ResultCodeStyle, code: string, text: string | RegExp) {
  if (style === "string") return { Code: code, Message: typeof text === "string" ? text : expect.stringMatching(text) };
  const message = typeof text === "string" ? `${code}: ${text}` : expect.stringMatching(new RegExp(`^${code.replace(/\./g, "\\.")}: ${text.source}`));
  return { Code: 400, Message: message };
}

describe.each<[ResultCodeStyle]>([["number"], ["string"]])("result codes %s", (style) => {
  let emu: RunningEmulator;
  const c = () => emuClient(emu);
  beforeEach(async () => {
    emu = await startEmulator({
      instances: 8,
      resultCodes: style,
      seed: { keyPairs: [{ keyPairName: "alpha", keyPairId: "ssh-alpha" }] },
    });
  });
  afterEach(() => emu.close());

  test("AttachKeyPair Results: success Code 200 (a JSON number), failures in the chosen style", async () => {
    emu.world.setInstanceStatus(id(2), "Running");
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([id(1), id(2), "i-gone"]), KeyPairId: "ssh-alpha" });
    expect(r.FailCount).toBe(2);
    expect(r.Results).toEqual([
      { Code: 200, InstanceId: id(1), Message: "successful", Success: true },
      { ...failed(style, "IncorrectInstanceStatus", STATUS_TEXT), InstanceId: id(2), Success: false },
      { ...failed(style, "InvalidInstanceId.NotFound", /.+/), InstanceId: "i-gone", Success: false },
    ]);
    expect(typeof r.Results[0].Code).toBe("number");
  });

  test("DetachKeyPair Results by KeyPairId: a key the instance does not carry", async () => {
    emu.world.setInstanceKey(id(3), "alpha");
    const r = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds([id(3), id(4)]), KeyPairId: "ssh-alpha" });
    expect(r.Results).toEqual([
      { Code: 200, InstanceId: id(3), Message: "successful", Success: true },
      { ...failed(style, "PublicKeyNotAttachWithInstance", /.+/), InstanceId: id(4), Success: false },
    ]);
  });

  test("injected instanceFailures keep working", async () => {
    emu.setFaults({ instanceFailures: { [id(5)]: { code: "NoPermission", message: "Permission denied." } } });
    const r = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([id(5), id(6)]), KeyPairId: "ssh-alpha" });
    expect(r.Results).toEqual([
      { ...failed(style, "NoPermission", "Permission denied."), InstanceId: id(5), Success: false },
      { Code: 200, InstanceId: id(6), Message: "successful", Success: true },
    ]);
    expect(r.FailCount).toBe(1);
  });

  test("StopInstances / StartInstances InstanceResponses: 200 + success, failures in the chosen style", async () => {
    emu.world.setInstanceStatus(id(7), "Running");
    const stop = await call(c(), "StopInstances", { InstanceIds: `${id(7)},${id(8)},i-gone` });
    expect(stop.InstanceResponses).toEqual([
      { Code: 200, InstanceId: id(7), Message: "success" },
      { ...failed(style, "IncorrectInstanceStatus", STATUS_TEXT), InstanceId: id(8) },
      { ...failed(style, "InstanceIdNotFound", "The input parameter instancdId that is not found."), InstanceId: "i-gone" },
    ]);
    const start = await call(c(), "StartInstances", { InstanceIds: `${id(7)},i-gone` });
    expect(start.InstanceResponses).toEqual([
      { Code: 200, InstanceId: id(7), Message: "success" },
      { ...failed(style, "InstanceNotFound", "The input parameter instancdId that is not found."), InstanceId: "i-gone" },
    ]);
  });
});

describe("choosing the style", () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ instances: 2 });
  });
  afterAll(() => emu.close());
  const codeOfFailure = async () =>
    (await call(emuClient(emu), "StartInstances", { InstanceIds: "i-nope" })).InstanceResponses[0].Code;

  test('the default is "number"', async () => {
    expect(emu.resultCodes()).toBe("number");
    expect(await codeOfFailure()).toBe(400);
  });

  test("setResultCodes switches at run time; reset() restores the startup style", async () => {
    emu.setResultCodes("string");
    expect(emu.resultCodes()).toBe("string");
    expect(await codeOfFailure()).toBe("InstanceNotFound");
    emu.reset();
    expect(emu.resultCodes()).toBe("number");
    expect(() => emu.setResultCodes("text" as ResultCodeStyle)).toThrow(/resultCodes/);
  });

  test("POST /__emulator/faults takes resultCodes; GET shows it; a bad value is a 400", async () => {
    const r = await adminPost(emu, "faults", { resultCodes: "string", throttleRate: 0 });
    expect(r.status).toBe(200);
    expect(r.json.resultCodes).toBe("string");
    expect(await codeOfFailure()).toBe("InstanceNotFound");
    expect((await adminGet(emu, "faults")).resultCodes).toBe("string");
    const bad = await adminPost(emu, "faults", { resultCodes: 7 });
    expect([bad.status, bad.json.Code]).toEqual([400, "EmulatorAdminError"]);
    expect(emu.resultCodes()).toBe("string");
    await adminPost(emu, "faults", { resultCodes: "number" });
    expect(await codeOfFailure()).toBe(400);
  });

  test("an unknown style in the options refuses to start", async () => {
    await expect(startEmulator({ resultCodes: "words" as ResultCodeStyle })).rejects.toThrow(/resultCodes/);
  });
});

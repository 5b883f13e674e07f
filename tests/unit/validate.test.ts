/** checkInputs: unknown fields are refused with the nearest known one, and non-finite numbers are named as such. */
import { checkInputs, INPUT_FIELDS } from "../../provider/validate";

const valid = { keyPairId: "ssh-abc", instanceIds: ["i-a1", "i-b2"] };
const reasons = (news: Record<string, unknown>) => checkInputs(news).failures;

describe("unknown input fields", () => {
  it("lists the known inputs in one exported constant", () => {
    expect([...INPUT_FIELDS].sort()).toEqual(["forceStop", "instanceIds", "keyPairId", "keyPairName", "maxStoppedInstances", "maxStoppedPerRegion", "stopInstances", "stopTimeoutSeconds", "takeOwnership", "account"].sort());
  });

  it("accepts every known input, __provider and any __ field", () => {
    const res = checkInputs({ ...valid, stopInstances: true, maxStoppedInstances: 5, forceStop: false, stopTimeoutSeconds: 60, __provider: "text", __internal: 1 });
    expect(res.failures).toEqual([]);
    expect(checkInputs({ keyPairName: "kp-one", instanceIds: ["i-a1"] }).failures).toEqual([]);
  });

  it("ignores a field that is present but undefined (the SDK declares outputs that way)", () => {
    expect(reasons({ ...valid, attachedInstanceIds: undefined, whatever: undefined })).toEqual([]);
  });

  it.each([
    ["stopInstance", "stopInstances"],
    ["stopinstances", "stopInstances"],
    ["instanceId", "instanceIds"],
    ["instanceIDs", "instanceIds"],
    ["keypairId", "keyPairId"],
    ["keyPairID", "keyPairId"],
    ["keyName", "keyPairName"],
    ["maxStopped", "maxStoppedInstances"],
    ["maxStopedInstances", "maxStoppedInstances"],
    ["forcestop", "forceStop"],
    ["stopTimeout", "stopTimeoutSeconds"],
    ["stopTimeoutSecond", "stopTimeoutSeconds"],
    ["maxStoppedPerRegions", "maxStoppedPerRegion"],
    ["maxPerRegion", "maxStoppedPerRegion"],
  ])("%s is refused: did you mean %s?", (typo, known) => {
    const failures = reasons({ ...valid, [typo]: true });
    expect(failures).toHaveLength(1);
    expect(failures[0].property).toBe(typo);
    expect(failures[0].reason).toBe(`unknown input "${typo}": did you mean ${known}?`);
  });

  it("the typo stopInstance: true is not stored, so it cannot deploy with stopInstances false", () => {
    const res = checkInputs({ ...valid, stopInstance: true });
    expect(res.failures.map((f) => f.property)).toEqual(["stopInstance"]);
  });

  it("with no near name, lists the inputs there are", () => {
    const [f] = reasons({ ...valid, region: "cn-hangzhou" });
    expect(f.property).toBe("region");
    expect(f.reason).toBe('unknown input "region": KeyPairAttachment takes keyPairId, keyPairName, instanceIds, stopInstances, maxStoppedInstances, forceStop, stopTimeoutSeconds, takeOwnership, maxStoppedPerRegion, account');
  });

  it("an output given as an input says so", () => {
    const [f] = reasons({ ...valid, attachedInstanceIds: ["i-a1"] });
    expect(f.property).toBe("attachedInstanceIds");
    expect(f.reason).toMatch(/^attachedInstanceIds is an output of KeyPairAttachment, not an input: remove it/);
  });

  it("reports every unknown field, alongside the other failures", () => {
    const failures = reasons({ ...valid, stopInstance: true, forcestop: true, maxStoppedInstances: 0 });
    expect(failures.map((f) => f.property).sort()).toEqual(["forcestop", "maxStoppedInstances", "stopInstance"]);
  });
});

describe("maxStoppedPerRegion", () => {
  it("is optional with no stored default, so states written before it existed do not differ", () => {
    const res = checkInputs({ ...valid, stopInstances: true });
    expect(res.failures).toEqual([]);
    expect(res.inputs).not.toHaveProperty("maxStoppedPerRegion");
    expect(checkInputs({ ...valid, maxStoppedPerRegion: null }).inputs).not.toHaveProperty("maxStoppedPerRegion");
    expect(checkInputs({ ...valid, maxStoppedPerRegion: 3 }).inputs.maxStoppedPerRegion).toBe(3);
  });

  it.each([0, -1, 2.5, "3", NaN])("%s is refused with the range", (v) => {
    expect(reasons({ ...valid, maxStoppedPerRegion: v })).toEqual([
      { property: "maxStoppedPerRegion", reason: expect.stringMatching(/^maxStoppedPerRegion \(how many instances of one region may be stopped at once\) must be a whole number from 1 to 10000, got /) },
    ]);
  });
});

describe("non-finite numbers", () => {
  it.each([
    ["maxStoppedInstances", NaN, "maxStoppedInstances (how many instances may be stopped at once) must be a whole number from 1 to 10000, got NaN"],
    ["maxStoppedInstances", Infinity, "maxStoppedInstances (how many instances may be stopped at once) must be a whole number from 1 to 10000, got Infinity"],
    ["stopTimeoutSeconds", -Infinity, "stopTimeoutSeconds (seconds to wait for Stopped or Running) must be a whole number from 1 to 3600, got -Infinity"],
    ["stopTimeoutSeconds", NaN, "stopTimeoutSeconds (seconds to wait for Stopped or Running) must be a whole number from 1 to 3600, got NaN"],
  ])("%s = %s is named as such", (field, value, reason) => {
    expect(reasons({ ...valid, [field]: value })).toEqual([{ property: field, reason }]);
  });

  it("NaN elsewhere (instanceIds, a boolean field, inside a list) is named too", () => {
    expect(reasons({ keyPairId: "ssh-abc", instanceIds: NaN })[0].reason).toMatch(/got NaN$/);
    expect(reasons({ ...valid, stopInstances: NaN })[0].reason).toBe("stopInstances must be true or false, got NaN");
    expect(reasons({ keyPairId: "ssh-abc", instanceIds: ["i-a1", NaN, Infinity] })[0].reason).toMatch(/: NaN, Infinity$/);
    expect(reasons({ keyPairId: "ssh-abc", instanceIds: { a: NaN } })[0].reason).toMatch(/got \{"a":NaN\}$/);
  });

  it("still quotes strings and shows other values as before", () => {
    expect(reasons({ ...valid, maxStoppedInstances: "10" })[0].reason).toMatch(/got "10"$/);
    expect(reasons({ ...valid, maxStoppedInstances: 2.5 })[0].reason).toMatch(/got 2\.5$/);
    expect(reasons({ ...valid, maxStoppedInstances: -0 })[0].reason).toMatch(/got -0$/);
  });
});

/**
 * Malformed wire input that tests/emulator does not cover yet, as raw HTTP: each gets Alibaba's error code and status,
 * and a storm of it does not crash the emulator. (Covered there already: over 30 IDs, bad JSON and missing parameters
 * for Attach/DetachKeyPair, wrong signature, replayed nonce, stale timestamp, garbage on the socket, huge bodies.)
 */
import { RunningEmulator, startEmulator } from "../../emulator";
import { call, emuClient, rawHttp, signedV2Path } from "../helpers/emu-raw-client";
import { ids } from "../helpers/rel-emu";
import { REL_ACCESS_KEY_ID, REL_KEYS, scanArtifact, summarizeScans } from "../helpers/rel-secrets";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 60, accessKeys: REL_KEYS, seed: { keyPairs: [{ keyPairName: "wire-key", keyPairId: "ssh-wire" }] } });
});
afterAll(async () => {
  scanArtifact("emulator journal (wire tests)", JSON.stringify(emu.journal()));
  summarizeScans("emulator-wire");
  await emu.close();
});
afterEach(async () => {
  await expect(call(emuClient(emu), "DescribeInstances")).resolves.toHaveProperty("TotalCount", 60);
});

const json = (v: unknown) => JSON.stringify(v);

const SIGNED: [string, Record<string, string>, number, string][] = [
  ["StopInstances without InstanceIds", { Action: "StopInstances" }, 400, "MissingParameter"],
  ["StartInstances with duplicate IDs", { Action: "StartInstances", InstanceIds: "i-emu00000001,i-emu00000001" }, 400, "InvalidParameter.InstanceIds"],
  ["DescribeInstances with 101 IDs", { Action: "DescribeInstances", InstanceIds: json(ids(1, 101)) }, 400, "InvalidParameter.InstanceIds"],
  ["DescribeInstances with a JSON object for InstanceIds", { Action: "DescribeInstances", InstanceIds: '{"0":"i-emu00000001"}' }, 400, "InvalidParameter.InstanceIds"],
  ["AttachKeyPair with 31 IDs, raw", { Action: "AttachKeyPair", KeyPairId: "ssh-wire", InstanceIds: json(ids(1, 31)) }, 400, "InvalidParameter.InstanceIds"],
  ["AttachKeyPair with truncated JSON, raw", { Action: "AttachKeyPair", KeyPairId: "ssh-wire", InstanceIds: '["i-emu00000001"' }, 400, "InvalidParameter.InstanceIds"],
  ["DetachKeyPair without any key reference, raw", { Action: "DetachKeyPair", InstanceIds: json(ids(1, 1)) }, 400, "MissingParameter"],
  ["TagResources with 51 resources", { Action: "TagResources", ResourceType: "instance", ...Object.fromEntries(ids(1, 51).map((id, i) => [`ResourceId.${i + 1}`, id])), "Tag.1.Key": "k", "Tag.1.Value": "v" }, 400, "InvalidParameter.ResourceId"],
  ["TagResources without ResourceType", { Action: "TagResources", "ResourceId.1": "i-emu00000001", "Tag.1.Key": "k" }, 400, "MissingParameter"],
  ["ListTagResources with a forged NextToken", { Action: "ListTagResources", ResourceType: "instance", NextToken: "not-a-token" }, 400, "InvalidParameter.NextToken"],
  ["DescribeKeyPairs with PageSize 0", { Action: "DescribeKeyPairs", PageSize: "0" }, 400, "InvalidParameter.PageSize"],
  ["StopInstance with ForceStop=maybe", { Action: "StopInstance", InstanceId: "i-emu00000001", ForceStop: "maybe" }, 400, "InvalidParameter.ForceStop"],
];

test.each(SIGNED)("%s -> Alibaba's error code", async (_name, params, status, code) => {
  const r = await rawHttp(emu, "POST", signedV2Path(emu, params));
  expect([r.status, r.json?.Code]).toEqual([status, code]);
  expect(r.json).toEqual(expect.objectContaining({ RequestId: expect.any(String), HostId: expect.any(String), Message: expect.any(String) }));
});

test("an ACS3 Authorization with a made-up signature -> 400 SignatureDoesNotMatch", async () => {
  const r = await rawHttp(emu, "POST", "/?InstanceIds=%5B%5D", "", {
    authorization: `ACS3-HMAC-SHA256 Credential=${REL_ACCESS_KEY_ID},SignedHeaders=host;x-acs-action,Signature=${"0".repeat(64)}`,
    "x-acs-action": "AttachKeyPair",
    "x-acs-version": "2017-11-10",
    "x-acs-date": new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    "x-acs-signature-nonce": `n-${Date.now()}`,
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  });
  expect([r.status, r.json.Code]).toEqual([400, "SignatureDoesNotMatch"]);
});

test("a storm of 300 concurrent malformed requests: every one answered with JSON, none changes anything", async () => {
  const before = JSON.stringify(emu.state());
  const shapes = [
    () => rawHttp(emu, "POST", "/?Action=AttachKeyPair&Version=2017-11-10&InstanceIds=%5B"),
    () => rawHttp(emu, "POST", signedV2Path(emu, { Action: "AttachKeyPair", KeyPairId: "ssh-wire", InstanceIds: "[[[" })),
    () => rawHttp(emu, "POST", signedV2Path(emu, { Action: "DetachKeyPair", KeyPairId: "ssh-wire", InstanceIds: json(ids(1, 40)) })),
    () => rawHttp(emu, "GET", "/?Action=%ZZ"),
    () => rawHttp(emu, "POST", signedV2Path(emu, { Action: "StopInstances", InstanceIds: "," })),
  ];
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => shapes[i % shapes.length]()));
  expect(answers.every((a) => a.status >= 400 && a.status < 500 && typeof a.json?.Code === "string")).toBe(true);
  expect(JSON.stringify(emu.state())).toEqual(before);
});

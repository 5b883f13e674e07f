/**
 * Request forms other Alibaba SDKs send: `InstanceIds.N` for Stop/StartInstances (Go SDK
 * github.com/aliyun/alibaba-cloud-sdk-go, services/ens), the Go SDK's RPC common parameters (RegionId,
 * SignatureType empty, Format=JSON) signed with HMAC-SHA1 as its rpc_signature_composer does, GET as well as POST,
 * `null` for an absent JSON parameter, and DescribeInstances with `InstanceIds=[]`.
 */
import { createHmac, randomUUID } from "node:crypto";
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient, jsonIds, rawHttp } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ escaped, space as "+". */
const goQueryEscape = (s: string): string =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, "+");
/** url.Values.Encode(): keys sorted, key=value joined by "&". */
const goEncode = (m: Record<string, string>): string =>
  Object.keys(m)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(m[k])}`)
    .join("&");

/** A request as the Go SDK builds it (completeRpcSignParams + buildRpcStringToSign), returned as path?query. */
function goSdkPath(emu: RunningEmulator, method: "GET" | "POST", params: Record<string, string>, format = "JSON"): string {
  const q: Record<string, string> = {
    ...params,
    Version: "2017-11-10",
    Format: format,
    Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    SignatureMethod: "HMAC-SHA1",
    SignatureType: "",
    SignatureVersion: "1.0",
    SignatureNonce: randomUUID(),
    AccessKeyId: emu.accessKeyId,
    RegionId: "cn-hangzhou",
  };
  const canonical = goEncode(q).replace(/\+/g, "%20").replace(/\*/g, "%2A").replace(/%7E/g, "~");
  const stringToSign = `${method}&%2F&${goQueryEscape(canonical)}`;
  q.Signature = createHmac("sha1", `${emu.accessKeySecret}&`).update(stringToSign).digest("base64");
  return `/?${goEncode(q)}`;
}

const goSdkCall = (emu: RunningEmulator, method: "GET" | "POST", params: Record<string, string>, format?: string) =>
  rawHttp(emu, method, goSdkPath(emu, method, params, format), method === "POST" ? "" : undefined, {
    "content-type": "application/x-www-form-urlencoded",
    "x-sdk-client": "golang/1.0.0",
  });

let emu: RunningEmulator;
beforeEach(async () => {
  emu = await startEmulator({ instances: 6, initialStatus: "Running" });
});
afterEach(() => emu.close());
const statusOf = (instanceId: string) => emu.state().instances.find((i) => i.instanceId === instanceId)!.status;

describe.each(SIGNATURE_STYLES)("InstanceIds.N through the real client, signature style %s", (_label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });

  test("StopInstances / StartInstances accept InstanceIds.1, InstanceIds.2 ...", async () => {
    // OpenApiUtil.query flattens an array into InstanceIds.1=..&InstanceIds.2=.., the Go SDK's Repeated form.
    const stop = await call(c(), "StopInstances", { InstanceIds: [id(1), id(2)] });
    expect(stop.InstanceResponses.map((r: any) => [r.InstanceId, r.Code])).toEqual([[id(1), 200], [id(2), 200]]);
    expect([statusOf(id(1)), statusOf(id(2)), statusOf(id(3))]).toEqual(["Stopped", "Stopped", "Running"]);
    const start = await call(c(), "StartInstances", { InstanceIds: [id(1)] });
    expect(start.InstanceResponses).toEqual([{ Code: 200, InstanceId: id(1), Message: "success" }]);
    expect(statusOf(id(1))).toBe("Running");
  });

  test("both forms at once, a JSON array, or duplicates -> 400 InvalidParameter.InstanceIds", async () => {
    for (const q of [
      { InstanceIds: id(1), "InstanceIds.1": id(2) },
      { InstanceIds: jsonIds([id(1)]) },
      { InstanceIds: [id(1), id(1)] },
    ]) {
      const e = await callErr(c(), "StopInstances", q);
      expect([JSON.stringify(q), e.statusCode, e.code]).toEqual([JSON.stringify(q), 400, "InvalidParameter.InstanceIds"]);
    }
    expect(statusOf(id(1))).toBe("Running");
  });
});

describe("the Go SDK's RPC request (HMAC-SHA1, RegionId, SignatureType empty, Format=JSON)", () => {
  test.each([
    ["POST", "JSON"],
    ["GET", "JSON"],
    ["GET", "json"],
    ["POST", "Json"],
  ] as const)("%s, Format=%s: StopInstances with InstanceIds.N, answered in JSON", async (method, format) => {
    const r = await goSdkCall(emu, method, { Action: "StopInstances", "InstanceIds.1": id(4), "InstanceIds.2": id(5) }, format);
    expect([r.status, r.json.InstanceResponses?.map((x: any) => x.Code)]).toEqual([200, [200, 200]]);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(statusOf(id(4))).toBe("Stopped");
    expect(emu.journal().at(-1)).toEqual(
      expect.objectContaining({
        action: "StopInstances",
        httpStatus: 200,
        // signature plumbing (SignatureType included) is left out; RegionId is a real parameter
        params: { Action: "StopInstances", Version: "2017-11-10", RegionId: "cn-hangzhou", "InstanceIds.1": id(4), "InstanceIds.2": id(5) },
      }),
    );
    // The same request signed for the other method is refused: the signature is really checked.
    const other = method === "GET" ? "POST" : "GET";
    const wrong = await rawHttp(emu, other, goSdkPath(emu, method, { Action: "StartInstances", "InstanceIds.1": id(4) }));
    expect([wrong.status, wrong.json.Code, statusOf(id(4))]).toEqual([400, "SignatureDoesNotMatch", "Stopped"]);
  });
});

describe("JSON-array parameters", () => {
  test('DescribeInstances InstanceIds "[]" is a filter that matches nothing', async () => {
    const r = await call(emuClient(emu), "DescribeInstances", { InstanceIds: "[]" });
    expect([r.TotalCount, r.Instances.Instance]).toEqual([0, []]);
  });

  test('"null" for an absent JSON parameter: DescribeInstances lists everything; AttachKeyPair misses InstanceIds', async () => {
    const r = await call(emuClient(emu), "DescribeInstances", { InstanceIds: "null" });
    expect(r.TotalCount).toBe(6);
    emu.world.addKeyPair({ keyPairName: "k", keyPairId: "ssh-k" });
    const e = await callErr(emuClient(emu), "AttachKeyPair", { InstanceIds: "null", KeyPairId: "ssh-k" });
    expect([e.statusCode, e.code]).toEqual([400, "MissingParameter"]);
  });
});

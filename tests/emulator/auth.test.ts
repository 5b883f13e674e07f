/** Signatures, credentials, freshness, versions and actions, through the real client in both signature styles. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient, rawHttp, signedV2Path } from "../helpers/emu-raw-client";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 3, accessKeys: { "ak-one": "secret-one", "ak-two": "secret-two" } });
});
afterAll(() => emu.close());

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

describe.each(SIGNATURE_STYLES)("signature style %s", (_label, signatureAlgorithm) => {
  test("a correctly signed call succeeds and carries a RequestId", async () => {
    const body = await call(emuClient(emu, { signatureAlgorithm }), "DescribeInstances", {});
    expect(body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(body.TotalCount).toBe(3);
  });

  test("the second configured access key works too", async () => {
    const c = emuClient(emu, { signatureAlgorithm, accessKeyId: "ak-two", accessKeySecret: "secret-two" });
    await expect(call(c, "DescribeKeyPairs")).resolves.toHaveProperty("TotalCount");
  });

  test("wrong secret -> 400 SignatureDoesNotMatch", async () => {
    const e = await callErr(emuClient(emu, { signatureAlgorithm, accessKeySecret: "nope" }), "DescribeInstances");
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe("SignatureDoesNotMatch");
    expect(e.data.Message).toBe("Specified signature is not matched with our calculation.");
    expect(e.data).toEqual(expect.objectContaining({ RequestId: expect.any(String), HostId: expect.any(String), Recommend: expect.any(String) }));
  });

  test("unknown AccessKeyId -> 404 InvalidAccessKeyId.NotFound", async () => {
    const e = await callErr(emuClient(emu, { signatureAlgorithm, accessKeyId: "who", accessKeySecret: "x" }), "DescribeInstances");
    expect([e.statusCode, e.code]).toEqual([404, "InvalidAccessKeyId.NotFound"]);
  });

  test("a key id of one pair with the secret of another -> SignatureDoesNotMatch", async () => {
    const c = emuClient(emu, { signatureAlgorithm, accessKeyId: "ak-one", accessKeySecret: "secret-two" });
    expect((await callErr(c, "DescribeInstances")).code).toBe("SignatureDoesNotMatch");
  });

  test("STS security token is accepted when present", async () => {
    const c = emuClient(emu, { signatureAlgorithm, securityToken: "sts-token-value" });
    await expect(call(c, "DescribeInstances")).resolves.toHaveProperty("RequestId");
    const last = emu.journal().at(-1)!;
    expect(last.params).not.toHaveProperty("SecurityToken");
    expect(last.httpStatus).toBe(200);
  });

  const pin = (nonce?: string, date?: string) =>
    signatureAlgorithm === "v2"
      ? { query: { ...(nonce ? { SignatureNonce: nonce } : {}), ...(date ? { Timestamp: date } : {}) }, headers: undefined }
      : { query: {}, headers: { ...(nonce ? { "x-acs-signature-nonce": nonce } : {}), ...(date ? { "x-acs-date": date } : {}) } };

  test("a replayed nonce -> 400 SignatureNonceUsed", async () => {
    const c = emuClient(emu, { signatureAlgorithm });
    const p = pin(`replay-${signatureAlgorithm}-${Date.now()}`);
    await call(c, "DescribeInstances", p.query, { headers: p.headers });
    const e = await callErr(c, "DescribeInstances", p.query, { headers: p.headers });
    expect([e.statusCode, e.code]).toEqual([400, "SignatureNonceUsed"]);
  });

  test("a timestamp 16 minutes old -> 400 InvalidTimeStamp.Expired; 14 minutes is fine", async () => {
    const c = emuClient(emu, { signatureAlgorithm });
    const stale = pin(undefined, isoSeconds(Date.now() - 16 * 60_000));
    const e = await callErr(c, "DescribeInstances", stale.query, { headers: stale.headers });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidTimeStamp.Expired"]);
    const future = pin(undefined, isoSeconds(Date.now() + 16 * 60_000));
    expect((await callErr(c, "DescribeInstances", future.query, { headers: future.headers })).code).toBe("InvalidTimeStamp.Expired");
    const ok = pin(undefined, isoSeconds(Date.now() - 14 * 60_000));
    await expect(call(c, "DescribeInstances", ok.query, { headers: ok.headers })).resolves.toHaveProperty("RequestId");
  });

  test("a malformed timestamp -> 400 InvalidTimeStamp.Format", async () => {
    const p = pin(undefined, "yesterday");
    const e = await callErr(emuClient(emu, { signatureAlgorithm }), "DescribeInstances", p.query, { headers: p.headers });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidTimeStamp.Format"]);
  });

  test("unknown action -> 404 InvalidAction.NotFound", async () => {
    const e = await callErr(emuClient(emu, { signatureAlgorithm }), "DescribeEverything");
    expect([e.statusCode, e.code]).toEqual([404, "InvalidAction.NotFound"]);
  });

  test("another API version -> 400 InvalidVersion", async () => {
    const e = await callErr(emuClient(emu, { signatureAlgorithm }), "DescribeInstances", {}, { version: "2014-05-26" });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidVersion"]);
  });

  test("parameters with characters that need escaping survive the signature", async () => {
    const c = emuClient(emu, { signatureAlgorithm });
    await call(c, "TagResources", {
      ResourceType: "instance",
      ResourceId: ["i-emu00000001"],
      Tag: [{ Key: `k ${signatureAlgorithm ?? "acs3"} *(!)'~`, Value: "v/ä+%&=" }],
    });
    const list = await call(c, "ListTagResources", { ResourceType: "instance", ResourceId: ["i-emu00000001"] });
    expect(list.TagResources).toContainEqual(
      expect.objectContaining({ TagKey: `k ${signatureAlgorithm ?? "acs3"} *(!)'~`, TagValue: "v/ä+%&=" }),
    );
  });
});

describe("raw HTTP", () => {
  test("stale Timestamp on a hand-signed v2 request -> 400 InvalidTimeStamp.Expired", async () => {
    const path = signedV2Path(emu, { Action: "DescribeInstances" }, { timestamp: isoSeconds(Date.now() - 20 * 60_000) });
    const r = await rawHttp(emu, "POST", path);
    expect([r.status, r.json.Code]).toEqual([400, "InvalidTimeStamp.Expired"]);
  });

  test("hand-signed v2 request with a fresh timestamp succeeds; same nonce again is refused", async () => {
    const nonce = `raw-${Date.now()}`;
    const path = signedV2Path(emu, { Action: "DescribeKeyPairs" }, { nonce });
    expect((await rawHttp(emu, "POST", path)).status).toBe(200);
    const again = await rawHttp(emu, "POST", path);
    expect([again.status, again.json.Code]).toEqual([400, "SignatureNonceUsed"]);
  });

  test("no signature at all -> 400 IncompleteSignature", async () => {
    const r = await rawHttp(emu, "POST", "/?Action=DescribeInstances&Version=2017-11-10");
    expect([r.status, r.json.Code]).toEqual([400, "IncompleteSignature"]);
  });

  test("v2 without SignatureNonce -> 400 IncompleteSignature", async () => {
    const path = signedV2Path(emu, { Action: "DescribeInstances" }).replace(/&SignatureNonce=[^&]*/, "");
    const r = await rawHttp(emu, "POST", path);
    expect([r.status, r.json.Code]).toEqual([400, "IncompleteSignature"]);
  });

  test("v2 with another SignatureMethod -> 400 InvalidSignatureMethod", async () => {
    const path = signedV2Path(emu, { Action: "DescribeInstances", SignatureMethod: "HMAC-MD5" });
    const r = await rawHttp(emu, "POST", path);
    expect([r.status, r.json.Code]).toEqual([400, "InvalidSignatureMethod"]);
  });

  test("malformed ACS3 Authorization header -> 400 IncompleteSignature", async () => {
    const r = await rawHttp(emu, "POST", "/", undefined, {
      authorization: "ACS3-HMAC-SHA256 garbage",
      "x-acs-action": "DescribeInstances",
      "x-acs-version": "2017-11-10",
    });
    expect([r.status, r.json.Code]).toEqual([400, "IncompleteSignature"]);
  });

  test("missing Action -> 400 MissingParameter", async () => {
    const r = await rawHttp(emu, "POST", "/?Version=2017-11-10");
    expect([r.status, r.json.Code]).toEqual([400, "MissingParameter"]);
    expect(r.json.Message).toContain("Action");
  });

  test("tampered parameter after signing -> SignatureDoesNotMatch", async () => {
    const path = signedV2Path(emu, { Action: "DescribeInstances", PageSize: "5" }).replace("PageSize=5", "PageSize=6");
    const r = await rawHttp(emu, "POST", path);
    expect([r.status, r.json.Code]).toEqual([400, "SignatureDoesNotMatch"]);
  });

  test("failed calls are journaled with their code and claimed access key", async () => {
    emu.reset();
    await callErr(emuClient(emu, { accessKeySecret: "bad" }), "DescribeInstances", { PageSize: 3 });
    const [entry] = emu.journal();
    expect(entry).toEqual(
      expect.objectContaining({
        action: "DescribeInstances",
        httpStatus: 400,
        code: "SignatureDoesNotMatch",
        accessKeyId: "ak-one",
        params: { PageSize: "3", Action: "DescribeInstances", Version: "2017-11-10" },
      }),
    );
  });
});

import { EnsClient, EnsError, parseEndpoint } from "../../provider/ens";
import { NO_RETRY as NO_RETRY_FOR_TESTS } from "../../provider/policies";
import { Captured, startCaptureServer } from "../helpers/capture-server";

const KEY = { accessKeyId: "wire-test-key", accessKeySecret: "wire-test-secret-value" };

/** Wire parameters the client chose, without the signature machinery that v2 adds. */
function businessParams(c: Captured): Record<string, string> {
  const drop = new Set(["Signature", "SignatureNonce", "Timestamp", "AccessKeyId", "SignatureMethod", "SignatureVersion", "Format", "Action", "Version"]);
  return Object.fromEntries(Object.entries(c.query).filter(([k]) => !drop.has(k)));
}

describe("EnsClient wire encoding (ACS3, the default signature)", () => {
  let server: Awaited<ReturnType<typeof startCaptureServer>>;
  let client: EnsClient;
  let nextReply: { status?: number; body: unknown } | "drop" = { body: {} };

  beforeAll(async () => {
    server = await startCaptureServer(() => nextReply);
    client = new EnsClient({ endpoint: server.url, credentials: KEY, retry: NO_RETRY_FOR_TESTS });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    nextReply = { body: { RequestId: "r-1" } };
  });

  const last = () => server.requests[server.requests.length - 1];

  it("sends every call as POST / with action and version in x-acs headers and an ACS3 Authorization", async () => {
    await client.describeKeyPairs({ keyPairName: "kp" });
    const c = last();
    expect(c.method).toBe("POST");
    expect(c.path).toBe("/");
    expect(c.body).toBe("");
    expect(c.headers["x-acs-action"]).toBe("DescribeKeyPairs");
    expect(c.headers["x-acs-version"]).toBe("2017-11-10");
    expect(String(c.headers.authorization)).toMatch(/^ACS3-HMAC-SHA256 Credential=wire-test-key,SignedHeaders=[a-z0-9;-]+,Signature=[0-9a-f]{64}$/);
    expect(JSON.stringify(c)).not.toContain(KEY.accessKeySecret);
    expect(c.query).toEqual({ KeyPairName: "kp" });
  });

  it("encodes AttachKeyPair and DetachKeyPair InstanceIds as a JSON string, with KeyPairId or KeyPairName", async () => {
    nextReply = { body: { RequestId: "r", TotalCount: 2, FailCount: 0, Results: [{ InstanceId: "i-a1", Code: 200, Message: "success", Success: true }, { InstanceId: "i-b2", Code: 200, Success: true }] } };
    const res = await client.attachKeyPair({ keyPairId: "ssh-abc" }, ["i-a1", "i-b2"]);
    expect(last().headers["x-acs-action"]).toBe("AttachKeyPair");
    expect(last().query).toEqual({ KeyPairId: "ssh-abc", InstanceIds: '["i-a1","i-b2"]' });
    expect(res.Results.map((r) => [r.InstanceId, r.Code, r.Success])).toEqual([["i-a1", "200", true], ["i-b2", "200", true]]);

    await client.detachKeyPair({ keyPairName: "my-key" }, ["i-a1"]);
    expect(last().headers["x-acs-action"]).toBe("DetachKeyPair");
    expect(last().query).toEqual({ KeyPairName: "my-key", InstanceIds: '["i-a1"]' });
  });

  it("reads per-instance Results whether ENS wraps them in {Result: [...]} or not", async () => {
    nextReply = { body: { RequestId: "r", TotalCount: 1, FailCount: 1, Results: { Result: [{ InstanceId: "i-x1", Code: "IncorrectInstanceStatus", Message: "busy", Success: "false" }] } } };
    const res = await client.attachKeyPair({ keyPairId: "ssh-abc" }, ["i-x1"]);
    expect(res.FailCount).toBe(1);
    expect(res.Results).toEqual([{ InstanceId: "i-x1", Code: "IncorrectInstanceStatus", Message: "busy", Success: false }]);
  });

  it("refuses batches outside 1..30 without calling ENS", async () => {
    const ids = Array.from({ length: 31 }, (_, i) => `i-n${i}`);
    await expect(client.attachKeyPair({ keyPairId: "ssh-abc" }, ids)).rejects.toMatchObject({ code: "InvalidParameter.InstanceIds" });
    await expect(client.detachKeyPair({ keyPairId: "ssh-abc" }, [])).rejects.toBeInstanceOf(EnsError);
    expect(server.requests).toHaveLength(0);
  });

  it("encodes DescribeInstances InstanceIds as a JSON string with paging, and reads Instances.Instance", async () => {
    nextReply = { body: { RequestId: "r", PageNumber: 2, PageSize: 100, TotalCount: 1, Instances: { Instance: [{ InstanceId: "i-a1", Status: "Stopped", KeyPairName: "kp" }] } } };
    const res = await client.describeInstances({ instanceIds: ["i-a1", "i-b2"], pageNumber: 2, pageSize: 100, status: "Stopped" });
    expect(last().query).toEqual({ InstanceIds: '["i-a1","i-b2"]', PageNumber: "2", PageSize: "100", Status: "Stopped" });
    expect(res.Instances[0]).toMatchObject({ InstanceId: "i-a1", Status: "Stopped", KeyPairName: "kp" });
  });

  it("describes n instances by ID in ceil(n/100) calls of 100 IDs each", async () => {
    // ENS knows every instance asked for (instances missing from an answer are asked for again).
    const known = await startCaptureServer((c) => {
      const asked = JSON.parse(c.query.InstanceIds) as string[];
      return { body: { RequestId: "r", Instances: { Instance: asked.map((InstanceId) => ({ InstanceId, Status: "Running" })) }, TotalCount: asked.length } };
    });
    try {
      const ids = Array.from({ length: 250 }, (_, i) => `i-n${i}`);
      const found = await new EnsClient({ endpoint: known.url, credentials: KEY, retry: NO_RETRY_FOR_TESTS }).describeInstancesById(ids);
      expect(found.size).toBe(250);
      expect(known.requests).toHaveLength(3);
      const sent = known.requests.map((r) => JSON.parse(r.query.InstanceIds) as string[]);
      expect(sent.map((s) => s.length).sort()).toEqual([100, 100, 50]);
      expect(sent.flat().sort()).toEqual([...ids].sort());
      expect(known.requests.every((r) => r.query.PageSize === "100")).toBe(true);
    } finally {
      await known.close();
    }
  });

  it("encodes StopInstances and StartInstances InstanceIds comma-separated, with nothing else (StopInstancesRequest.ts has no ForceStop)", async () => {
    nextReply = { body: { RequestId: "r", InstanceResponses: [{ InstanceId: "i-a1", Code: 200, Message: "" }, { InstanceId: "i-b2", Code: 400, Message: "IncorrectInstanceStatus: The current status does not support this operation." }] } };
    const res = await client.stopInstances(["i-a1", "i-b2"]);
    expect(last().headers["x-acs-action"]).toBe("StopInstances");
    expect(last().query).toEqual({ InstanceIds: "i-a1,i-b2" });
    // Numeric codes as the models type them: the error name leading the Message becomes the code.
    expect(res.InstanceResponses).toEqual([
      { InstanceId: "i-a1", Code: "200", Message: "" },
      { InstanceId: "i-b2", Code: "IncorrectInstanceStatus", Message: "The current status does not support this operation." },
    ]);
    await client.startInstances(["i-a1"]);
    expect(last().query).toEqual({ InstanceIds: "i-a1" });
  });

  it("encodes the single-instance and key pair operations as the SDK does", async () => {
    await client.stopInstance("i-a1", false);
    expect(last().query).toEqual({ InstanceId: "i-a1" });
    await client.stopInstance("i-a1", true);
    expect(last().query).toEqual({ InstanceId: "i-a1", ForceStop: "true" });
    await client.startInstance("i-a1");
    expect(last().query).toEqual({ InstanceId: "i-a1" });
    await client.createKeyPair("kp-1");
    expect([last().headers["x-acs-action"], last().query]).toEqual(["CreateKeyPair", { KeyPairName: "kp-1" }]);
    await client.importKeyPair("kp-2", "ssh-rsa AAAA");
    expect(last().query).toEqual({ KeyPairName: "kp-2", PublicKeyBody: "ssh-rsa AAAA" });
    await client.deleteKeyPairs({ keyPairId: "ssh-abc" });
    expect([last().headers["x-acs-action"], last().query]).toEqual(["DeleteKeyPairs", { KeyPairId: "ssh-abc" }]);
    await client.tagResources(["i-a1", "i-b2"], [{ Key: "k", Value: "v" }]);
    expect(last().query).toEqual({ ResourceType: "instance", "ResourceId.1": "i-a1", "ResourceId.2": "i-b2", "Tag.1.Key": "k", "Tag.1.Value": "v" });
    await client.untagResources(["i-a1"], ["k"]);
    expect(last().query).toEqual({ ResourceType: "instance", "ResourceId.1": "i-a1", "TagKey.1": "k" });
  });

  it("turns an error body into one EnsError with code, message, request id, status and retryability", async () => {
    nextReply = { status: 400, body: { RequestId: "req-9", HostId: "h", Code: "Throttling.User", Message: "Request was denied due to user flow control." } };
    const err = (await client.describeKeyPairs().catch((e) => e)) as EnsError;
    expect(err).toBeInstanceOf(EnsError);
    expect(err).toMatchObject({ code: "Throttling.User", httpStatus: 400, requestId: "req-9", retryable: true, action: "DescribeKeyPairs" });
    expect(err.message).toContain("Request was denied due to user flow control.");

    nextReply = { status: 404, body: { RequestId: "req-10", Code: "InvalidKeyPair.NotFound", Message: "nope" } };
    expect(await client.describeKeyPairs().catch((e) => e)).toMatchObject({ code: "InvalidKeyPair.NotFound", httpStatus: 404, retryable: false });

    nextReply = { status: 503, body: { RequestId: "req-11", Code: "ServiceUnavailable", Message: "down" } };
    expect(await client.describeKeyPairs().catch((e) => e)).toMatchObject({ code: "ServiceUnavailable", httpStatus: 503, retryable: true });
  });

  it("marks a dropped connection as retryable", async () => {
    nextReply = "drop";
    const err = (await client.describeKeyPairs().catch((e) => e)) as EnsError;
    expect(err).toBeInstanceOf(EnsError);
    expect(err.retryable).toBe(true);
    expect(err.httpStatus).toBeUndefined();
  });
});

describe("EnsClient with the v2 (HMAC-SHA1) signature", () => {
  it("puts Action, Version and the signature in the query", async () => {
    const server = await startCaptureServer(() => ({ body: { RequestId: "r", Results: [] } }));
    try {
      const client = new EnsClient({ endpoint: server.url, credentials: KEY, signatureAlgorithm: "v2", retry: NO_RETRY_FOR_TESTS });
      await client.attachKeyPair({ keyPairId: "ssh-abc" }, ["i-a1"]);
      const q = server.requests[0].query;
      expect(q).toMatchObject({ Action: "AttachKeyPair", Version: "2017-11-10", SignatureMethod: "HMAC-SHA1", AccessKeyId: "wire-test-key", Format: "json" });
      expect(q.Signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(businessParams(server.requests[0])).toEqual({ KeyPairId: "ssh-abc", InstanceIds: '["i-a1"]' });
    } finally {
      await server.close();
    }
  });
});

describe("ListTagResources paging (issue 19.5)", () => {
  const page = (n: number, nextToken?: string) => ({ RequestId: `r-${n}`, TagResources: [{ ResourceId: `i-p${n}`, ResourceType: "instance", TagKey: "k", TagValue: `v${n}` }], ...(nextToken ? { NextToken: nextToken } : {}) });

  it("follows NextToken until ENS sends none", async () => {
    const server = await startCaptureServer((c) => ({ body: c.query.NextToken === undefined ? page(1, "t-1") : c.query.NextToken === "t-1" ? page(2, "t-2") : page(3) }));
    try {
      const client = new EnsClient({ endpoint: server.url, credentials: KEY, retry: NO_RETRY_FOR_TESTS });
      const tags = await client.listTagResources({ instanceIds: ["i-p1"] });
      expect(tags.map((t) => t.ResourceId)).toEqual(["i-p1", "i-p2", "i-p3"]);
      expect(server.requests.map((r) => r.query.NextToken)).toEqual([undefined, "t-1", "t-2"]);
    } finally {
      await server.close();
    }
  });

  it("a NextToken that repeats ends paging with an error instead of a loop", async () => {
    // Bounded so that a client without the check ends too (with duplicates) rather than hanging the suite.
    const server = await startCaptureServer((c) => ({ body: c.query.NextToken === undefined ? page(1, "t-1") : page(2, server.requests.length < 6 ? "t-1" : undefined) }));
    try {
      const client = new EnsClient({ endpoint: server.url, credentials: KEY, retry: NO_RETRY_FOR_TESTS });
      const err = (await client.listTagResources({ tag: { Key: "k" } }).catch((e) => e)) as EnsError;
      expect(err).toBeInstanceOf(EnsError);
      expect(err).toMatchObject({ code: "InvalidNextToken.Repeated", action: "ListTagResources", retryable: false });
      expect(err.message).toBe('ListTagResources: InvalidNextToken.Repeated: ENS answered page 2 with the NextToken "t-1" it had already given; stopped paging instead of reading the same pages again');
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});

describe("parseEndpoint", () => {
  it("accepts full URLs and bare hosts, and names the fix for anything else", () => {
    expect(parseEndpoint("http://127.0.0.1:8734")).toEqual({ protocol: "http", host: "127.0.0.1:8734", url: "http://127.0.0.1:8734" });
    expect(parseEndpoint("ens.aliyuncs.com")).toEqual({ protocol: "https", host: "ens.aliyuncs.com", url: "https://ens.aliyuncs.com" });
    expect(() => parseEndpoint("ftp://x")).toThrow(/http or https/);
    expect(() => parseEndpoint("http://h/path")).toThrow(/no path/);
    expect(() => parseEndpoint("http://")).toThrow(/not a URL/);
  });
});

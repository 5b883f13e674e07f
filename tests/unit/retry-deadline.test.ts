/**
 * Issue 19.2: retry as long as the operation allows. Every HTTP 429 is a throttle whatever its body, on every action;
 * retries are bounded by a deadline, not a count; a call that gives up says how long it tried and how many attempts.
 */
import http from "node:http";
import net from "node:net";
import { EnsClient, EnsError } from "../../provider/ens";
import { createBudget, NO_RETRY, RetryPolicy } from "../../provider/policies";

const KEY = { accessKeyId: "retry-test-key", accessKeySecret: "retry-test-secret" };

/** What a successful answer of each action looks like, enough for the client to read it. */
const OK: Record<string, unknown> = {
  AttachKeyPair: { RequestId: "r", TotalCount: 1, FailCount: 0, Results: [{ InstanceId: "i-a1", Code: 200, Message: "successful", Success: true }] },
  DetachKeyPair: { RequestId: "r", TotalCount: 1, FailCount: 0, Results: [{ InstanceId: "i-a1", Code: 200, Message: "successful", Success: true }] },
  DescribeInstances: { RequestId: "r", Instances: { Instance: [] }, TotalCount: 0 },
  DescribeKeyPairs: { RequestId: "r", KeyPairs: { KeyPair: [] }, TotalCount: 0 },
  StopInstances: { RequestId: "r", InstanceResponses: [{ InstanceId: "i-a1", Code: 200, Message: "success" }] },
  StartInstances: { RequestId: "r", InstanceResponses: [{ InstanceId: "i-a1", Code: 200, Message: "success" }] },
  StopInstance: { RequestId: "r", Code: 0 },
  StartInstance: { RequestId: "r", Code: 0 },
  TagResources: { RequestId: "r" },
  UntagResources: { RequestId: "r" },
  ListTagResources: { RequestId: "r", TagResources: [] },
  CreateKeyPair: { RequestId: "r", KeyPairId: "ssh-1", KeyPairName: "kp", KeyPairFingerPrint: "f", PrivateKeyBody: "p" },
  ImportKeyPair: { RequestId: "r", KeyPairName: "kp", KeyPairFingerPrint: "f" },
  DeleteKeyPairs: { RequestId: "r" },
};

/** Every action the client has, called once. */
const EVERY_ACTION: Array<[string, (c: EnsClient) => Promise<unknown>]> = [
  ["AttachKeyPair", (c) => c.attachKeyPair({ keyPairId: "ssh-1" }, ["i-a1"])],
  ["DetachKeyPair", (c) => c.detachKeyPair({ keyPairId: "ssh-1" }, ["i-a1"])],
  ["DescribeInstances", (c) => c.describeInstances({ instanceIds: ["i-a1"] })],
  ["DescribeKeyPairs", (c) => c.describeKeyPairs()],
  ["StopInstances", (c) => c.stopInstances(["i-a1"])],
  ["StartInstances", (c) => c.startInstances(["i-a1"])],
  ["StopInstance", (c) => c.stopInstance("i-a1", true)],
  ["StartInstance", (c) => c.startInstance("i-a1")],
  ["TagResources", (c) => c.tagResources(["i-a1"], [{ Key: "k", Value: "v" }])],
  ["UntagResources", (c) => c.untagResources(["i-a1"], ["k"])],
  ["ListTagResources", (c) => c.listTagResources({ instanceIds: ["i-a1"] })],
  ["CreateKeyPair", (c) => c.createKeyPair("kp")],
  ["ImportKeyPair", (c) => c.importKeyPair("kp", "ssh-rsa AAAA")],
  ["DeleteKeyPairs", (c) => c.deleteKeyPairs({ keyPairId: "ssh-1" })],
];

/** The throttling answers a gateway or ENS may give with HTTP 429. */
const THROTTLES: Array<[string, string, string]> = [
  ["a gateway's HTML page", "text/html", "<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>openresty</center></body></html>"],
  ["JSON TooManyRequests without a RequestId", "application/json", JSON.stringify({ code: "TooManyRequests", message: "Too many requests" })],
  ["JSON TooManyRequests from ENS", "application/json", JSON.stringify({ RequestId: "r-429", HostId: "ens.aliyuncs.com", Code: "TooManyRequests", Message: "Too many requests." })],
  ["an empty body", "text/plain", ""],
];

async function server(handler: (action: string, n: number, res: http.ServerResponse) => void) {
  const counts: Record<string, number> = {};
  const s = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const action = String(req.headers["x-acs-action"] ?? "");
      handler(action, (counts[action] = (counts[action] ?? 0) + 1), res);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((resolve) => (s.close(() => resolve()), s.closeAllConnections())),
  };
}

const quick: RetryPolicy = { deadlineMs: 5000, minDelayMs: 1, maxDelayMs: 5 };

describe.each(THROTTLES)("an HTTP 429 with %s", (_name, contentType, body) => {
  it("is a throttle on every action: retried", async () => {
    const s = await server((action, n, res) => {
      if (n === 1) return res.writeHead(429, { "content-type": contentType }).end(body);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(OK[action]));
    });
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: quick });
      for (const [action, call] of EVERY_ACTION) {
        await call(client);
        expect([action, s.counts[action]]).toEqual([action, 2]);
      }
      expect(client.stats.retries).toBe(EVERY_ACTION.length);
    } finally {
      await s.close();
    }
  });

  it("cuts the learnt rate of the shared budget (AdaptiveRate stays in charge of the retries)", async () => {
    // Ten answers first, so that the cut is from a rate ENS served (a cold start would cut to the 0.5/s floor).
    const s = await server((action, n, res) => {
      if (n === 11) return res.writeHead(429, { "content-type": contentType }).end(body);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(OK[action]));
    });
    try {
      const budget = createBudget({ maxConcurrent: 4, perSecond: 1000 });
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: quick, budget });
      for (let i = 0; i < 11; i++) await client.describeKeyPairs();
      expect(s.counts.DescribeKeyPairs).toBe(12);
      expect(client.stats.retries).toBe(1);
      expect(budget.rate()).toBeLessThan(1000);
    } finally {
      await s.close();
    }
  });

  it("fails, when not retried, as a retryable throttle that says so (not 'check the endpoint')", async () => {
    const s = await server((_a, _n, res) => res.writeHead(429, { "content-type": contentType }).end(body));
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: NO_RETRY });
      const err = (await client.describeKeyPairs().catch((e) => e)) as EnsError;
      expect(err).toBeInstanceOf(EnsError);
      expect(err).toMatchObject({ httpStatus: 429, retryable: true });
      expect(err.message).toMatch(/throttl/i);
      expect(err.message).not.toMatch(/did not answer as ENS|check ens:endpoint/);
    } finally {
      await s.close();
    }
  });
});

describe("a retry deadline instead of a retry count", () => {
  it("retries a 503 until the deadline, then says how long it tried and how many attempts", async () => {
    const s = await server((_a, _n, res) =>
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ RequestId: "r-503", Code: "ServiceUnavailable", Message: "The request has failed due to a temporary failure of the server." })),
    );
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: { deadlineMs: 1000, minDelayMs: 5, maxDelayMs: 20 } });
      const t0 = Date.now();
      const err = (await client.describeKeyPairs().catch((e) => e)) as EnsError;
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(EnsError);
      expect(err).toMatchObject({ code: "ServiceUnavailable", httpStatus: 503, requestId: "r-503", retryable: true });
      const attempts = s.counts.DescribeKeyPairs;
      expect(attempts).toBeGreaterThan(9); // more than the 8 retries of before, within 1 s
      expect(elapsed).toBeGreaterThanOrEqual(1000);
      expect(elapsed).toBeLessThan(5000);
      expect(err.message).toMatch(new RegExp(`gave up after [1-4](\\.\\d)? s and ${attempts} attempts`));
      expect(err.message).toContain("ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS");
      expect(err.message.startsWith("DescribeKeyPairs: ServiceUnavailable: The request has failed due to a temporary failure of the server.")).toBe(true);
    } finally {
      await s.close();
    }
  });

  it("does not add 'gave up' to an error that is not retried", async () => {
    const s = await server((_a, _n, res) => res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ RequestId: "r", Code: "InvalidKeyPair.NotFound", Message: "nope" })));
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: quick });
      const err = (await client.describeKeyPairs().catch((e) => e)) as EnsError;
      expect(err.code).toBe("InvalidKeyPair.NotFound");
      expect(err.message).not.toMatch(/gave up/);
      expect(s.counts.DescribeKeyPairs).toBe(1);
    } finally {
      await s.close();
    }
  });
});

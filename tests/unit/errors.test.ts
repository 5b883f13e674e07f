/**
 * What a user reads when an ENS call fails: one line, naming the endpoint and the fix, with no secret in it
 * (no STS token, access key secret, signature or signed query string), whatever failed: the connection, TLS, DNS,
 * a time-out, a server that is not ENS, the credential chain, or an ENS error body.
 */
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../../emulator";
import { EnsClient, EnsError, toEnsError } from "../../provider/ens";
import { NO_RETRY } from "../../provider/policies";

const KEY = {
  accessKeyId: "LTAIerrTestKeyId0001",
  accessKeySecret: "errTestSecret/+=Value123",
  securityToken: "CAISerrTestStsToken/With+Chars=AndMore1234567890",
};
const ALGORITHMS = [
  ["ACS3-HMAC-SHA256", undefined],
  ["v2", "v2"],
] as const;

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A loopback server answering every request with `handler`; records each request's URL and headers. */
async function rawServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function failure(client: EnsClient): Promise<EnsError> {
  const err = await client.describeKeyPairs({ keyPairName: "kp" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EnsError);
  return err as EnsError;
}

/** Signatures the server saw (v2: the Signature parameter; ACS3: the Authorization header's). */
function signaturesIn(seen: Seen[]): string[] {
  const out: string[] = [];
  for (const s of seen) {
    const q = new URL(s.url, "http://x").searchParams.get("Signature");
    if (q) out.push(q, encodeURIComponent(q));
    const a = /Signature=(\S+)/.exec(String(s.headers.authorization ?? ""));
    if (a) out.push(a[1]);
  }
  return out;
}

/** The error holds no secret, no signed query string, and is one line. */
function expectClean(err: EnsError, seen: Seen[] = []) {
  const text = `${err.message}\n${err.code}\n${err.requestId ?? ""}\n${err.stack ?? ""}`;
  for (const secret of [KEY.securityToken, KEY.accessKeySecret, encodeURIComponent(KEY.securityToken), encodeURIComponent(KEY.accessKeySecret), ...signaturesIn(seen)]) {
    expect(text).not.toContain(secret);
  }
  expect(err.message).not.toMatch(/(SecurityToken|Signature|AccessKeyId)(=|%3D)(?!\[redacted\])/i);
  expect(err.message).not.toMatch(/\?[A-Za-z]+=/); // no query string of any URL
  expect(err.message).not.toContain("\n");
  expect(err.message).not.toMatch(/failed\.$/); // the HTTP library's "POST <url> failed." tail is gone
}

describe.each(ALGORITHMS)("network failures with the %s signature and an STS token", (_label, signatureAlgorithm) => {
  const client = (endpoint: string, extra: Partial<ConstructorParameters<typeof EnsClient>[0]> = {}) =>
    new EnsClient({ endpoint, credentials: KEY, signatureAlgorithm, retry: NO_RETRY, ...extra });

  it("connection refused: names the endpoint, where it came from, and what happened", async () => {
    const port = await closedPort();
    const err = await failure(client(`http://127.0.0.1:${port}`));
    expect(err.code).toBe("ECONNREFUSED");
    expect(err.retryable).toBe(false);
    expect(err.httpStatus).toBeUndefined();
    expect(err.message).toContain(`cannot reach ENS at http://127.0.0.1:${port} (from ens:endpoint / ENS_ENDPOINT): connection refused`);
    expect(err.message).toMatch(/^DescribeKeyPairs: ECONNREFUSED: /);
    expectClean(err);
  });

  it("a dropped connection (the server destroys the socket)", async () => {
    const server = await rawServer((req) => req.socket.destroy());
    try {
      const err = await failure(client(server.url));
      expect(err.code).toBe("ECONNRESET");
      expect(err.retryable).toBe(true);
      expect(err.message).toContain(`cannot reach ENS at ${server.url} (from ens:endpoint / ENS_ENDPOINT): the connection was closed before an answer`);
      expectClean(err, server.seen);
    } finally {
      await server.close();
    }
  });

  it("a time-out (the server never answers): says how long it waited, once connected", async () => {
    const server = await rawServer(() => undefined);
    try {
      const err = await failure(client(server.url, { readTimeoutMs: 300 }));
      expect(err.code).toBe("ReadTimeout");
      expect(err.retryable).toBe(true);
      expect(err.message).toContain(`waited for ENS at ${server.url} (from ens:endpoint / ENS_ENDPOINT): connected, but no answer within 0.3 s`);
      expectClean(err, server.seen);
    } finally {
      await server.close();
    }
  });

  it("TLS to a plain-HTTP server (no scheme, or https): says to use http://", async () => {
    const emu = await startEmulator();
    try {
      for (const endpoint of [emu.hostPort, `https://${emu.hostPort}`]) {
        const err = await failure(client(endpoint));
        expect(err.code).toBe("EPROTO");
        expect(err.retryable).toBe(false);
        expect(err.message).toContain(`cannot reach ENS at https://${emu.hostPort} (from ens:endpoint / ENS_ENDPOINT): TLS handshake failed: is it plain HTTP? use http://${emu.hostPort}`);
        expect(err.message).not.toMatch(/openssl|ssl3_get_record|0A00010B/i);
        expectClean(err);
      }
    } finally {
      await emu.close();
    }
  });

  it("an error body from the emulator (a refused secret, then an unknown access key) holds no secret", async () => {
    const emu = await startEmulator();
    try {
      const refused = await failure(new EnsClient({ endpoint: emu.url, signatureAlgorithm, retry: NO_RETRY, credentials: { ...KEY, accessKeyId: emu.accessKeyId } }));
      expect(refused.code).toBe("SignatureDoesNotMatch");
      expect(refused.message).toMatch(/^DescribeKeyPairs: SignatureDoesNotMatch: .*ALIBABA_CLOUD_ACCESS_KEY_SECRET/);
      expectClean(refused);
      const unknown = await failure(client(emu.url));
      expect(unknown.code).toBe("InvalidAccessKeyId.NotFound");
      expect(unknown.requestId).toBeTruthy();
      expectClean(unknown);
    } finally {
      await emu.close();
    }
  });

  it("an ENS error body that echoes the signed request (string to sign, URL, headers) is redacted", async () => {
    const server = await rawServer((req, res) => {
      const echo = `server string to sign is:POST&%2F&${encodeURIComponent(String(req.url).split("?")[1] ?? "")} url=http://127.0.0.1${req.url} token=${req.headers["x-acs-security-token"] ?? ""} auth=${req.headers.authorization ?? ""}`;
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ RequestId: "req-echo", HostId: "h", Code: "SignatureDoesNotMatch", Message: `Specified signature is not matched with our calculation. ${echo}` }));
    });
    try {
      const err = await failure(client(server.url));
      expect(err).toMatchObject({ code: "SignatureDoesNotMatch", httpStatus: 400, requestId: "req-echo", retryable: false });
      expect(err.message).toContain("Specified signature is not matched with our calculation.");
      expectClean(err, server.seen);
    } finally {
      await server.close();
    }
  });
});

describe("an endpoint that is not ENS", () => {
  const cases: Array<[string, (req: http.IncomingMessage, res: http.ServerResponse) => void, RegExp, boolean]> = [
    [
      "an HTML page with 200",
      (_q, res) => (res.writeHead(200, { "content-type": "text/html" }), res.end(`<html><head><title>Welcome to nginx!</title></head><body>${"x".repeat(200)}</body></html>`)),
      /\(HTTP 200, text\/html: "<html><head><title>Welcome to nginx!<\/title><\/head><body>xxx"\)/,
      false,
    ],
    ["an HTML page with 404", (_q, res) => (res.writeHead(404, { "content-type": "text/html; charset=utf-8" }), res.end("<html><body>Not Found</body></html>")), /\(HTTP 404, text\/html; charset=utf-8: "<html><body>Not Found<\/body><\/html>"\)/, false],
    ["an HTML 502 from a load balancer (retried, as any 5xx)", (_q, res) => (res.writeHead(502, { "content-type": "text/html" }), res.end("<html>Bad Gateway</html>")), /\(HTTP 502, text\/html: "<html>Bad Gateway<\/html>"\)/, true],
    ["an empty 200", (_q, res) => (res.writeHead(200), res.end()), /\(HTTP 200, no content-type: empty body\)/, false],
    ["a redirect", (_q, res) => (res.writeHead(302, { location: "https://login.example.com/sso?next=%2F&ticket=abc" }), res.end()), /\(HTTP 302, redirect to https:\/\/login\.example\.com\/sso\)/, false],
    ["JSON without RequestId on an error", (_q, res) => (res.writeHead(403, { "content-type": "application/json" }), res.end(JSON.stringify({ message: "blocked by proxy" }))), /\(HTTP 403, application\/json: "\{\\?"message\\?":\\?"blocked by proxy\\?"\}"\)/, false],
    ["JSON without RequestId on a 500", (_q, res) => (res.writeHead(500, { "content-type": "application/json" }), res.end(JSON.stringify({ error: "boom" }))), /\(HTTP 500, application\/json: "\{\\?"error\\?":\\?"boom\\?"\}"\)/, true],
  ];

  it.each(cases)("%s: says the endpoint did not answer as ENS, with what it answered", async (_name, handler, detail, retryable) => {
    const server = await rawServer(handler);
    try {
      for (const [, signatureAlgorithm] of ALGORITHMS) {
        const err = await failure(new EnsClient({ endpoint: server.url, credentials: KEY, signatureAlgorithm, retry: NO_RETRY }));
        expect(err.message).toContain(`the endpoint ${server.url} did not answer as ENS (HTTP `);
        expect(err.message).toMatch(detail);
        expect(err.message).toMatch(/\): check ens:endpoint \/ ENS_ENDPOINT$/);
        expect(err.message).not.toMatch(/JSON|Unexpected|not a object|undefined/);
        expect(err.retryable).toBe(retryable);
        expect(err.httpStatus).toBe(Number(/HTTP (\d+)/.exec(err.message)?.[1]));
        expectClean(err, server.seen);
      }
    } finally {
      await server.close();
    }
  });

  it("a page that echoes the signed URL shows its start without the query string", async () => {
    const server = await rawServer((req, res) => (res.writeHead(404, { "content-type": "text/plain" }), res.end(`Cannot POST ${req.url}`)));
    try {
      const err = await failure(new EnsClient({ endpoint: server.url, credentials: KEY, signatureAlgorithm: "v2", retry: NO_RETRY }));
      expect(err.message).toContain('(HTTP 404, text/plain: "Cannot POST /")');
      expectClean(err, server.seen);
    } finally {
      await server.close();
    }
  });
});

describe("errors the transport raises, translated (no network needed)", () => {
  const url = "https://ens.example.invalid/?Action=DescribeKeyPairs&SecurityToken=TOKEN123&AccessKeyId=LTAIx&Signature=abc%2Bdef%3D";
  const endpoint = "https://ens.example.invalid";

  it.each([
    ["DNS failure", { code: "ENOTFOUND", message: `getaddrinfo ENOTFOUND ens.example.invalidPOST ${url} failed.` }, "ENOTFOUND", false, /cannot reach ENS at https:\/\/ens\.example\.invalid \(from ens:endpoint \/ ENS_ENDPOINT\): host not found: check the host name ens\.example\.invalid/],
    ["temporary DNS failure", { code: "EAI_AGAIN", message: `getaddrinfo EAI_AGAIN ens.example.invalidPOST ${url} failed.` }, "EAI_AGAIN", true, /: DNS lookup of ens\.example\.invalid failed for now/],
    ["connect time-out", { name: "RequestTimeoutError", message: `ConnectTimeout: Connect ${url} failed.` }, "ConnectTimeout", true, /: cannot reach ENS at .*: no connection within the connect time-out \(ens:connectTimeoutSeconds \/ ENS_CONNECT_TIMEOUT_SECONDS\)/],
    ["read time-out while reading the body", { name: "RequestTimeoutError", message: "ReadTimeout: 2500. POST /?Action=X&SecurityToken=TOKEN123&Signature=abc failed." }, "ReadTimeout", true, /: waited for ENS at .*: connected, but no answer within 2\.5 s \(.*ens:readTimeoutSeconds/],
    ["OS connect time-out", { code: "ETIMEDOUT", message: `connect ETIMEDOUT 10.0.0.1:443POST ${url} failed.` }, "ETIMEDOUT", true, /: no connection \(the system's TCP connect timed out\)/],
    ["untrusted certificate", { code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: `self-signed certificatePOST ${url} failed.` }, "DEPTH_ZERO_SELF_SIGNED_CERT", false, /: TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate\)/],
    ["host unreachable", { code: "EHOSTUNREACH", message: `connect EHOSTUNREACH 10.0.0.1:443POST ${url} failed.` }, "EHOSTUNREACH", false, /: host unreachable/],
  ])("%s", (_name, raw, code, retryable, expected) => {
    const err = toEnsError(Object.assign(new Error(raw.message), raw), "DescribeKeyPairs", endpoint);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.message).toMatch(new RegExp(`^DescribeKeyPairs: ${code}: `));
    expect(err.message).toMatch(expected);
    expect(err.message).not.toMatch(/TOKEN123|abc%2Bdef|Signature=abc|\?Action|failed\.$/);
  });

  it("the default endpoint is named as the default", () => {
    const err = toEnsError(Object.assign(new Error("connect ECONNREFUSED 1.2.3.4:443POST https://ens.aliyuncs.com/ failed."), { code: "ECONNREFUSED" }), "AttachKeyPair", "https://ens.aliyuncs.com");
    expect(err.message).toContain("cannot reach ENS at https://ens.aliyuncs.com (the default endpoint; ens:endpoint / ENS_ENDPOINT set another): connection refused");
  });

  it("literal occurrences of a configured secret or token are redacted, whatever carries them", () => {
    new EnsClient({ endpoint: "http://127.0.0.1:1", credentials: KEY });
    const err = toEnsError(new Error(`weird failure ${KEY.accessKeySecret} and ${KEY.securityToken} and ${encodeURIComponent(KEY.securityToken)}`), "DescribeKeyPairs", "http://127.0.0.1:1");
    expectClean(err);
    expect(err.message).toContain("[redacted]");
  });

  it("JSON-ish secrets and encoded string-to-sign parameters are redacted", () => {
    const err = toEnsError(
      Object.assign(new Error("x"), { code: "SignatureDoesNotMatch", statusCode: 400, data: { RequestId: "r", Code: "SignatureDoesNotMatch", Message: 'string to sign: POST&%2F&AccessKeyId%3DLTAIq%26SecurityToken%3DZZTOKEN%26SignatureMethod%3DHMAC-SHA1 {"AccessKeySecret":"ZZSECRET","SecurityToken":"ZZTOKEN2"}' } }),
      "DescribeKeyPairs",
      "http://127.0.0.1:1",
    );
    expect(err.message).not.toMatch(/ZZTOKEN|ZZSECRET|LTAIq/);
    expect(err.message).toContain("SignatureMethod%3DHMAC-SHA1");
  });
});

describe("no credentials anywhere (the @alicloud/credentials default chain finds none)", () => {
  const saved = { ...process.env };
  let home: string;
  const originalConnect = net.Socket.prototype.connect;
  const targets: string[] = [];

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "ens-nocreds-"));
    // Nothing may leave this machine: every socket the chain opens must go to loopback.
    net.Socket.prototype.connect = function (this: net.Socket, ...args: any[]) {
      const first = Array.isArray(args[0]) ? args[0][0] : args[0]; // net passes its normalized [options, callback]
      const opts = typeof first === "object" && first !== null ? first : { port: first, host: typeof args[1] === "string" ? args[1] : "localhost" };
      const host = String(opts.host ?? "localhost");
      targets.push(opts.path ? `unix:${opts.path}` : host);
      if (!opts.path && !["127.0.0.1", "localhost", "::1"].includes(host)) throw new Error(`test guard: refused to connect to ${host}`);
      return (originalConnect as any).apply(this, args);
    } as any;
  });
  afterAll(() => {
    net.Socket.prototype.connect = originalConnect;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("leads with the settings to set, then the chain's details; code CredentialsNotFound, not retried", async () => {
    const port = await closedPort();
    for (const k of Object.keys(process.env)) if (/^(ALIBABA_CLOUD_|ALICLOUD_)/.test(k)) delete process.env[k];
    Object.assign(process.env, {
      HOME: home,
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: "true",
      ALIBABA_CLOUD_CLI_PROFILE_DISABLED: "true",
      // The chain's last resort is a credentials URI; keep it on loopback instead of looking up a host called "undefined".
      ALIBABA_CLOUD_CREDENTIALS_URI: `http://127.0.0.1:${port}/credentials`,
    });
    for (const [, signatureAlgorithm] of ALGORITHMS) {
      const endpoint = `http://127.0.0.1:${port}`;
      const err = await failure(new EnsClient({ endpoint, signatureAlgorithm, retry: NO_RETRY }));
      expect(err.code).toBe("CredentialsNotFound");
      expect(err.retryable).toBe(false);
      expect(err.httpStatus).toBeUndefined();
      expect(err.message.startsWith(`DescribeKeyPairs: CredentialsNotFound: no ENS credentials for ${endpoint}: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pulumi config set alicloud:accessKey ... and pulumi config set --secret alicloud:secretKey ...`)).toBe(true);
      expect(err.message).toMatch(/; the @alicloud\/credentials default chain found none: .*ECONNREFUSED/);
      expect(err.message).not.toContain("\n");
      expect(err.message).not.toMatch(/unable to get credentials from any of the providers in the chain|GET http/);
    }
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((h) => h !== "127.0.0.1")).toEqual([]);
  });
});

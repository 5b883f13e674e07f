/**
 * Issue 19.1: a slow answer is not a dead host. The connect time-out bounds reaching ENS (TCP, and the TLS handshake
 * for https); the read time-out bounds the answer once connected; each says so in its own words, naming its setting.
 */
import http from "node:http";
import net from "node:net";
import { EnsClient, EnsError } from "../../provider/ens";
import { NO_RETRY } from "../../provider/policies";

const KEY = { accessKeyId: "timeout-test-key", accessKeySecret: "timeout-test-secret" };
const KEY_PAIRS = JSON.stringify({ RequestId: "r-1", KeyPairs: { KeyPair: [] }, PageNumber: 1, PageSize: 10, TotalCount: 0 });

/** A loopback HTTP server whose handler decides when (and whether) to answer. */
async function server(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let n = 0;
  const s = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res, ++n));
  });
  let connections = 0;
  s.on("connection", () => connections++);
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => (s.close(() => resolve()), s.closeAllConnections())),
  };
}

const answerAfter = (ms: number) => (_q: http.IncomingMessage, res: http.ServerResponse) =>
  setTimeout(() => (res.writeHead(200, { "content-type": "application/json" }), res.end(KEY_PAIRS)), ms);

async function failure(p: Promise<unknown>): Promise<EnsError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(EnsError);
  return err as EnsError;
}

describe("connect and read time-outs are separate", () => {
  it("an answer after 0.6 s is not a dead host when the connect time-out is 0.2 s", async () => {
    const s = await server(answerAfter(600));
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: NO_RETRY, connectTimeoutMs: 200, readTimeoutMs: 3000 });
      await expect(client.describeKeyPairs()).resolves.toMatchObject({ RequestId: "r-1" });
    } finally {
      await s.close();
    }
  });

  it("a kept-alive connection gets the same rules: a fast call, then a slow one on the same socket", async () => {
    const s = await server((q, res, n) => answerAfter(n === 1 ? 0 : 600)(q, res));
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: NO_RETRY, connectTimeoutMs: 200, readTimeoutMs: 3000 });
      await client.describeKeyPairs();
      await expect(client.describeKeyPairs()).resolves.toMatchObject({ RequestId: "r-1" });
      expect(s.connections()).toBe(1);
    } finally {
      await s.close();
    }
  });

  it("no answer at all: ReadTimeout after the read time-out, said as 'connected, but no answer within'", async () => {
    const s = await server(() => undefined);
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: NO_RETRY, connectTimeoutMs: 200, readTimeoutMs: 700 });
      const t0 = Date.now();
      const err = await failure(client.describeKeyPairs());
      expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
      expect(err).toMatchObject({ code: "ReadTimeout", retryable: true, httpStatus: undefined });
      expect(err.message).toContain(`ENS at ${s.url} (from ens:endpoint / ENS_ENDPOINT): connected, but no answer within 0.7 s`);
      expect(err.message).toContain("ens:readTimeoutSeconds / ENS_READ_TIMEOUT_SECONDS");
      expect(err.message).not.toMatch(/cannot reach|ConnectTimeout|connect timeout/);
    } finally {
      await s.close();
    }
  });

  it("headers, then a body that stalls: ReadTimeout, not ConnectTimeout", async () => {
    const s = await server((_q, res) => (res.writeHead(200, { "content-type": "application/json" }), res.write('{"RequestId":')));
    try {
      const client = new EnsClient({ endpoint: s.url, credentials: KEY, retry: NO_RETRY, connectTimeoutMs: 200, readTimeoutMs: 700 });
      const err = await failure(client.describeKeyPairs());
      expect(err.code).toBe("ReadTimeout");
      expect(err.message).toContain("connected, but no answer within 0.7 s");
    } finally {
      await s.close();
    }
  });

  it("a TLS handshake that never completes is a connect time-out, said with its seconds and its setting", async () => {
    // A TCP server that accepts and stays silent: the client's ClientHello is never answered.
    const sockets: net.Socket[] = [];
    const tcp = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const endpoint = `https://127.0.0.1:${(tcp.address() as net.AddressInfo).port}`;
    try {
      const client = new EnsClient({ endpoint, credentials: KEY, retry: NO_RETRY, connectTimeoutMs: 300, readTimeoutMs: 5000 });
      const t0 = Date.now();
      const err = await failure(client.describeKeyPairs());
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(err).toMatchObject({ code: "ConnectTimeout", retryable: true });
      expect(err.message).toContain(`cannot reach ENS at ${endpoint} (from ens:endpoint / ENS_ENDPOINT): no connection within 0.3 s`);
      expect(err.message).toContain("ens:connectTimeoutSeconds / ENS_CONNECT_TIMEOUT_SECONDS");
      expect(err.message).not.toMatch(/no answer/);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });
});

import http from "node:http";
import { AddressInfo } from "node:net";

export interface Captured {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A loopback HTTP server that records every request and answers with `reply(req)` (status + JSON body).
 * Used to pin what the client puts on the wire, independent of the emulator.
 */
export async function startCaptureServer(reply: (req: Captured) => { status?: number; body: unknown } | "drop") {
  const requests: Captured[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const captured: Captured = {
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams.entries()),
        headers: req.headers,
        body,
      };
      requests.push(captured);
      const r = reply(captured);
      if (r === "drop") return req.socket.destroy();
      res.writeHead(r.status ?? 200, { "content-type": "application/json" });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import http from "node:http";
import { AddressInfo } from "node:net";

/**
 * A loopback proxy in front of the emulator that plays what happens between the provider and a real ENS: something
 * changing the world just before a call lands (`before`: a race with a change by hand), an answer lost after ENS
 * applied the call (`answer` returns "lose"), or an answer in another shape (`answer` returns a new body).
 * Requests are forwarded byte for byte (headers included), so signatures still verify. The hooks also get the request as
 * sent (`url` with its query, `headers`), e.g. to play an endpoint that echoes it.
 */
export interface ProxyHooks {
  /** Runs before the request is forwarded; `n` counts calls of that action, from 1. */
  before?: (action: string, n: number, req: ProxiedRequest) => void | Promise<void>;
  /** Sees the JSON answer; returns it (changed or not), `{ __status, body }` for another status, or "lose" to drop the connection. */
  answer?: (action: string, n: number, body: any, status: number, req: ProxiedRequest) => any | "lose";
}

export interface ProxiedRequest {
  method: string;
  /** Path and query string, as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * `outsideEphemeralPorts`: listen on a port below Linux's ephemeral range (32768-60999), for a test that closes the
 * proxy to play an ENS that cannot be reached: a port from that range may be handed to another test's emulator at
 * once (which would then answer), a port below it never is.
 */
export async function startWireProxy(target: string, hooks: ProxyHooks, opts: { outsideEphemeralPorts?: boolean } = {}) {
  const counts: Record<string, number> = {};
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const action = String(req.headers["x-acs-action"] ?? new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "");
      const n = (counts[action] = (counts[action] ?? 0) + 1);
      const sent: ProxiedRequest = { method: req.method ?? "", url: req.url ?? "/", headers: req.headers };
      await hooks.before?.(action, n, sent);
      const fwd = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        const body: Buffer[] = [];
        up.on("data", (c) => body.push(c));
        up.on("end", () => {
          const text = Buffer.concat(body).toString("utf8");
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const out = json !== undefined && hooks.answer ? hooks.answer(action, n, json, up.statusCode ?? 0, sent) : json;
          if (out === "lose") return req.socket.destroy();
          // `{ __status, body }`: another HTTP status with that body (a refusal ENS did not make, say).
          const status = out?.__status ?? up.statusCode ?? 502;
          const sentBody = out?.__status ? out.body : out;
          res.writeHead(status, { "content-type": "application/json" });
          res.end(sentBody === undefined ? text : JSON.stringify(sentBody));
        });
      });
      fwd.on("error", () => req.socket.destroy());
      fwd.end(Buffer.concat(chunks));
    });
  });
  for (let attempt = 0; ; attempt++) {
    const port = opts.outsideEphemeralPorts ? 20000 + Math.floor(Math.random() * 12000) : 0;
    const error = await new Promise<Error | undefined>((resolve) => {
      server.once("error", resolve);
      server.listen(port, "127.0.0.1", () => resolve(undefined));
    });
    if (!error) break;
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt > 20) throw error;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

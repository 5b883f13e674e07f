import http from "node:http";
import { AddressInfo } from "node:net";

/**
 * A loopback proxy in front of the emulator that plays what happens between the provider and a real ENS: something
 * changing the world just before a call lands (`before`: a race with a change by hand), an answer lost after ENS
 * applied the call (`answer` returns "lose"), or an answer in another shape (`answer` returns a new body).
 * Requests are forwarded byte for byte (headers included), so signatures still verify.
 */
export interface ProxyHooks {
  /** Runs before the request is forwarded; `n` counts calls of that action, from 1. */
  before?: (action: string, n: number) => void | Promise<void>;
  /** Sees the JSON answer; returns it (changed or not), or "lose" to drop the connection instead. */
  answer?: (action: string, n: number, body: any, status: number) => any | "lose";
}

export async function startWireProxy(target: string, hooks: ProxyHooks) {
  const counts: Record<string, number> = {};
  const t = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const action = String(req.headers["x-acs-action"] ?? new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "");
      const n = (counts[action] = (counts[action] ?? 0) + 1);
      await hooks.before?.(action, n);
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
          const out = json !== undefined && hooks.answer ? hooks.answer(action, n, json, up.statusCode ?? 0) : json;
          if (out === "lose") return req.socket.destroy();
          res.writeHead(up.statusCode ?? 502, { "content-type": "application/json" });
          res.end(out === undefined ? text : JSON.stringify(out));
        });
      });
      fwd.on("error", () => req.socket.destroy());
      fwd.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

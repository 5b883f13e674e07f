import http from "node:http";
import { AddressInfo } from "node:net";

/**
 * The wire between one stack's provider process and ENS (the emulator), for the soak:
 * - forwards requests byte for byte (signatures still verify) while healthy;
 * - `kill(k)`: after k more calls, the provider process is dead: every later request is refused at once with a
 *   non-retryable error, so that nothing it does afterwards (its `finally`, retries) reaches ENS, and its run ends fast;
 * - `omitOnce(id)`: the next DescribeInstances answer that lists `id` leaves it out (one-shot, as a flaky read);
 * - remembers every signature and security token it saw (invariant 6 looks for them in outputs, errors, logs, state).
 * A killed switch stays dead: a new provider process gets a new switch.
 */
export interface KillSwitch {
  url: string;
  /** Calls forwarded since start. */
  forwarded(): number;
  /** Dies after `k` more calls. */
  kill(k: number): void;
  dead(): boolean;
  omitOnce(instanceId: string): void;
  /** Forgets omissions not used yet. */
  clearOmit(): void;
  /** Secrets seen on the wire: signatures, tokens. */
  readonly seenSecrets: Set<string>;
  close(): Promise<void>;
}

export const KILLED_CODE = "SoakProviderProcessKilled";

export async function startKillSwitch(target: string): Promise<KillSwitch> {
  const t = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let forwarded = 0;
  let killAt = Infinity;
  const omit = new Set<string>();
  const seenSecrets = new Set<string>();
  const sockets = new Set<import("node:net").Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      remember(req, seenSecrets);
      if (forwarded >= killAt) {
        const body = JSON.stringify({ RequestId: "killed", Code: KILLED_CODE, Message: "the provider process was killed (soak crash)" });
        res.writeHead(400, { "content-type": "application/json", connection: "close" });
        res.end(body);
        return;
      }
      forwarded++;
      const action = String(req.headers["x-acs-action"] ?? new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "");
      const fwd = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
        const body: Buffer[] = [];
        up.on("data", (c) => body.push(c));
        up.on("end", () => {
          let text = Buffer.concat(body).toString("utf8");
          if (action === "DescribeInstances" && omit.size && up.statusCode === 200) text = omitFrom(text, omit);
          res.writeHead(up.statusCode ?? 502, { "content-type": "application/json" });
          res.end(text);
        });
        up.on("error", () => req.socket.destroy());
      });
      // The emulator dropped the connection (dropRate, lostAnswerRate): so does the proxy.
      fwd.on("error", () => req.socket.destroy());
      fwd.end(Buffer.concat(chunks));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded: () => forwarded,
    kill: (k: number) => {
      killAt = forwarded + k;
    },
    dead: () => forwarded >= killAt,
    omitOnce: (id: string) => omit.add(id),
    clearOmit: () => omit.clear(),
    seenSecrets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Drops each instance of `omit` from a DescribeInstances answer (once each). */
function omitFrom(text: string, omit: Set<string>): string {
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  const list: any[] | undefined = json?.Instances?.Instance;
  if (!Array.isArray(list)) return text;
  const kept = list.filter((i) => {
    if (!omit.has(i?.InstanceId)) return true;
    omit.delete(i.InstanceId);
    return false;
  });
  if (kept.length === list.length) return text;
  json.Instances.Instance = kept;
  json.TotalCount = Math.max(0, Number(json.TotalCount ?? list.length) - (list.length - kept.length));
  return JSON.stringify(json);
}

/** Signatures (ACS3 Authorization header, v2 Signature parameter) and security tokens of a request. */
function remember(req: http.IncomingMessage, into: Set<string>): void {
  const auth = req.headers.authorization;
  const m = typeof auth === "string" ? /Signature=([^,\s]+)/.exec(auth) : null;
  if (m) into.add(m[1]);
  const token = req.headers["x-acs-security-token"];
  if (typeof token === "string" && token) into.add(token);
  const q = new URL(req.url ?? "/", "http://x").searchParams;
  for (const k of ["Signature", "SecurityToken"]) {
    const v = q.get(k);
    if (v) into.add(v);
  }
}

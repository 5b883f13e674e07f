import { AsyncLocalStorage } from "node:async_hooks";
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest, IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";

/**
 * Connect and read time-outs of the HTTP requests of one ENS call, each failing in its own words.
 *
 * Why not the library's: `@alicloud/openapi-client` hands `connectTimeout` through tea's `doAction` to httpx, which
 * passes it to `http.request` as `timeout`, Node's *idle* timer of the socket: it keeps running once connected, and
 * httpx reports its firing as "ConnectTimeout: Connect <url> failed." (httpx/lib/index.js, `request.on('timeout')`).
 * So an answer slower than the connect time-out fails as a ConnectTimeout, and httpx's read timer (`ReadTimeout(ms)`,
 * from connect to the end of the body) only fires when it is the shorter. That read timer is also never cleared after
 * a good answer (tea-util reads the body itself, not with `httpx.read`), and on a kept-alive socket a stale one clears
 * the next request's.
 *
 * Here, for requests to `host` made inside {@link withWireTimeouts}: the connect time-out covers DNS, TCP and, for
 * https, the TLS handshake; once connected the socket's idle timer is switched off and the read time-out runs until
 * the answer's body has ended. The library's own timers are set beyond ours ({@link libraryTimeouts}).
 */
export interface WireTimeouts {
  /** `Host` header of the endpoint (host[:port]); other requests of the call (STS, credentials) keep their own. */
  host: string;
  connectMs: number;
  readMs: number;
}

/** Code and limit of a time-out error, for toEnsError to word. */
export type TimeoutCode = "ConnectTimeout" | "ReadTimeout";

const current = new AsyncLocalStorage<WireTimeouts>();
let subscribed = false;

/** Runs `fn` with `timeouts` applied to the requests it makes to `timeouts.host`. */
export function withWireTimeouts<T>(timeouts: WireTimeouts, fn: () => Promise<T>): Promise<T> {
  if (!subscribed) {
    subscribed = true;
    diagnostics.subscribe("http.client.request.start", onRequest);
  }
  return current.run(timeouts, fn);
}

/** What openapi-client's Config gets, so that httpx's timers never fire before ours. */
export function libraryTimeouts(t: { connectMs: number; readMs: number }): { connectTimeout: number; readTimeout: number } {
  const beyond = t.connectMs + t.readMs + 1000;
  return { connectTimeout: beyond, readTimeout: beyond };
}

function onRequest(message: unknown): void {
  const t = current.getStore();
  const request = (message as { request?: ClientRequest }).request;
  if (t && request && String(request.getHeader("host")) === t.host) guard(request, t);
}

function guard(request: ClientRequest, t: WireTimeouts): void {
  let timer: NodeJS.Timeout | undefined;
  let response: IncomingMessage | undefined;
  const stop = () => clearTimeout(timer);
  const arm = (code: TimeoutCode, ms: number) => {
    stop();
    timer = setTimeout(() => {
      const err = timeoutError(code, ms);
      // Once headers are in, the body is read from the response: failing it reaches the reader.
      if (response && !response.complete) response.destroy(err);
      else request.destroy(err);
    }, ms);
    timer.unref();
  };
  const connected = (socket: Socket) => {
    socket.setTimeout(0);
    arm("ReadTimeout", t.readMs);
  };
  const onSocket = (socket: Socket) => {
    if (!socket.connecting) return connected(socket); // a kept-alive socket
    socket.once(socket instanceof TLSSocket ? "secureConnect" : "connect", () => connected(socket));
  };
  arm("ConnectTimeout", t.connectMs);
  // The channel publishes when the request is sent, by which time it may hold its socket already.
  if (request.socket) onSocket(request.socket);
  else request.once("socket", onSocket);
  request.once("response", (res: IncomingMessage) => {
    response = res;
    res.once("close", stop);
  });
  request.once("close", () => response || stop());
  request.once("error", stop);
}

function timeoutError(code: TimeoutCode, ms: number): Error {
  const what = code === "ConnectTimeout" ? "no connection" : "connected, but no answer";
  return Object.assign(new Error(`${code}: ${what} within ${ms} ms`), { name: "RequestTimeoutError", code, timeoutMs: ms });
}

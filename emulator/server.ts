/**
 * The wire layer: HTTP parsing, signature verification, the edge (latency, quota, faults),
 * dispatch to actions, JSON rendering of results and errors, the journal.
 */
import { randomUUID } from "node:crypto";
import { IncomingMessage, Server, ServerResponse, createServer } from "node:http";
import type { Socket } from "node:net";
import { ACTIONS, ActionContext, isAction } from "./actions";
import { handleAdmin } from "./admin";
import { SignedRequest, claimedIdentity } from "./auth";
import type { EmulatorCore } from "./core";
import { EnsFault, Errors } from "./errors";
import type { Params } from "./params";
import { sendJson } from "./respond";

export const API_VERSION = "2017-11-10";
export const ADMIN_PREFIX = "/__emulator/";
const MAX_BODY_BYTES = 1024 * 1024;
/** Request line + headers; the query string carries every parameter, so allow more than Node's 16 KiB. */
const MAX_HEADER_BYTES = 64 * 1024;
const HOST_ID = "ens.aliyuncs.com";
/** Signature plumbing, left out of journaled params (SignatureType: sent empty by the Go SDK). */
const SIGNATURE_PARAMS = new Set([
  "Signature", "SignatureNonce", "Timestamp", "AccessKeyId", "SecurityToken", "SignatureMethod", "SignatureVersion", "SignatureType", "Format",
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function firstValues(search: URLSearchParams): Params {
  const out: Params = {};
  for (const [k, v] of search) if (!(k in out)) out[k] = v;
  return out;
}

function errorBody(f: EnsFault, requestId: string) {
  return {
    RequestId: requestId,
    HostId: HOST_ID,
    Code: f.code,
    Message: f.message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(f.code)}&product=Ens&requestId=${requestId}`,
  };
}

/** Reads the body up to MAX_BODY_BYTES; undefined when it is larger. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        resolve(undefined);
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function handleApi(core: EmulatorCore, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
  const requestId = randomUUID().toUpperCase();
  const query = firstValues(url.searchParams);
  const isForm = /application\/x-www-form-urlencoded/i.test(req.headers["content-type"] ?? "");
  const bodyParams = isForm && body.length ? firstValues(new URLSearchParams(body.toString("utf8"))) : {};
  const signed: SignedRequest = { method: req.method ?? "", path: url.pathname, query, bodyParams, headers: req.headers, body };
  const header = (n: string) => (typeof req.headers[n] === "string" ? (req.headers[n] as string) : undefined);
  const action = query.Action ?? header("x-acs-action");
  const version = query.Version ?? header("x-acs-version");

  const params: Params = { ...bodyParams, ...query };
  const journaled: Params = {};
  for (const [k, v] of Object.entries(params)) if (!SIGNATURE_PARAMS.has(k)) journaled[k] = v;
  if (action !== undefined) journaled.Action = action;
  if (version !== undefined) journaled.Version = version;
  let accessKeyId = claimedIdentity(signed).accessKeyId;
  const journal = (httpStatus: number, code?: string) =>
    core.record({
      action: action ?? "",
      params: journaled,
      httpStatus,
      ...(code ? { code } : {}),
      at: new Date().toISOString(),
      ...(accessKeyId ? { accessKeyId } : {}),
    });

  try {
    const latency = core.edge.latencyMs();
    if (latency > 0) await sleep(latency);
    if (req.method !== "POST" && req.method !== "GET") throw Errors.methodNotAllowed(`HTTP method ${req.method} is not supported.`);
    if (url.pathname !== "/") throw Errors.actionNotFound(`path ${url.pathname}`);
    if (!action) throw Errors.missing("Action");
    if (!version) throw Errors.missing("Version");
    const now = Date.now();
    accessKeyId = core.auth.verify(signed, now).accessKeyId;
    if (version !== API_VERSION) throw Errors.invalidVersion(version);
    if (!isAction(action)) throw Errors.actionNotFound(action);

    // The edge: quota and injected faults, in this one place.
    const decision = core.edge.decide(accessKeyId, now, action);
    if (decision.kind === "drop") {
      journal(0, "ConnectionDropped");
      req.socket.destroy();
      return;
    }
    if (decision.kind === "fail") throw decision.fault;

    const ctx: ActionContext = {
      world: core.world,
      now,
      instanceFault: (id) => core.edge.instanceFault(id),
      resultCodes: core.resultCodes,
      wholeCallPowerFailure: core.edge.wholeCallPowerFailure,
    };
    if (decision.kind === "lose") {
      // The action is carried out; its answer (success or error) never reaches the client.
      try {
        ACTIONS[action](params, ctx);
      } catch (e) {
        if (!(e instanceof EnsFault)) throw e;
      }
      journal(0, "AnswerLost");
      req.socket.destroy();
      return;
    }
    const result = ACTIONS[action](params, ctx);
    sendJson(res, 200, { RequestId: requestId, ...result }, requestId);
    journal(200);
  } catch (e) {
    const f = e instanceof EnsFault ? e : new EnsFault(500, "InternalError", `Emulator error: ${(e as Error)?.message ?? e}`);
    sendJson(res, f.httpStatus, errorBody(f, requestId), requestId);
    journal(f.httpStatus, f.code);
  }
}

async function handle(core: EmulatorCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://emulator.invalid");
  } catch {
    const id = randomUUID().toUpperCase();
    return sendJson(res, 400, errorBody(Errors.badRequest("Malformed request URL."), id), id);
  }
  const body = await readBody(req);
  if (body === undefined) {
    const id = randomUUID().toUpperCase();
    res.setHeader("connection", "close");
    return sendJson(res, 413, errorBody(Errors.bodyTooLarge(`Request bodies are limited to ${MAX_BODY_BYTES} bytes.`), id), id);
  }
  if (url.pathname.startsWith(ADMIN_PREFIX)) return handleAdmin(core, req, res, url, body);
  return handleApi(core, req, res, url, body);
}

export function createEmulatorServer(core: EmulatorCore): Server {
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    handle(core, req, res).catch((e) => {
      if (!res.headersSent) sendJson(res, 500, { Code: "InternalError", Message: String((e as Error)?.message ?? e) });
      else res.destroy();
    });
  });
  // Malformed HTTP (bad request line, oversized headers): answer JSON rather than the default bare 400.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    const text = JSON.stringify({
      RequestId: randomUUID().toUpperCase(),
      HostId: HOST_ID,
      Code: "InvalidRequest",
      Message: `Malformed HTTP request: ${err.code ?? err.message}`,
    });
    socket.end(
      `HTTP/1.1 ${status} Bad Request\r\ncontent-type: application/json;charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
    );
  });
  return server;
}

/**
 * Drives the ENS emulator through the real @alicloud/openapi-client callApi (RPC, formData, json),
 * with either signature style, plus raw HTTP helpers for what the real client cannot send.
 */
import OpenApi, * as $OpenApi from "@alicloud/openapi-client";
import OpenApiUtil from "@alicloud/openapi-util";
import * as $Util from "@alicloud/tea-util";
import { request as httpRequest } from "node:http";

export interface EmuTarget {
  hostPort: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** [label, Config.signatureAlgorithm]: the default (ACS3-HMAC-SHA256) and "v2" (HMAC-SHA1). */
export const SIGNATURE_STYLES: [string, string | undefined][] = [
  ["ACS3-HMAC-SHA256", undefined],
  ["v2 HMAC-SHA1", "v2"],
];

export interface ClientOptions {
  signatureAlgorithm?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  readTimeout?: number;
}

export function emuClient(emu: EmuTarget, o: ClientOptions = {}): OpenApi {
  return new OpenApi(
    new $OpenApi.Config({
      accessKeyId: o.accessKeyId ?? emu.accessKeyId,
      accessKeySecret: o.accessKeySecret ?? emu.accessKeySecret,
      securityToken: o.securityToken,
      endpoint: emu.hostPort,
      protocol: "http",
      signatureAlgorithm: o.signatureAlgorithm,
      readTimeout: o.readTimeout ?? 10000,
      connectTimeout: 5000,
    }),
  );
}

export interface CallOptions {
  version?: string;
  /** Extra headers (ACS3: may override x-acs-date / x-acs-signature-nonce). */
  headers?: Record<string, string>;
}

/** One API call; resolves the JSON body (throws the client's error for 4xx/5xx). */
export async function call(
  client: OpenApi,
  action: string,
  query: Record<string, unknown> = {},
  o: CallOptions = {},
): Promise<Record<string, any>> {
  const params = new $OpenApi.Params({
    action,
    version: o.version ?? "2017-11-10",
    protocol: "HTTPS",
    pathname: "/",
    method: "POST",
    authType: "AK",
    style: "RPC",
    reqBodyType: "formData",
    bodyType: "json",
  });
  const req = new $OpenApi.OpenApiRequest({ query: OpenApiUtil.query(query), headers: o.headers });
  const res = await client.callApi(params, req, new $Util.RuntimeOptions({}));
  return res.body as Record<string, any>;
}

export interface CallError {
  code: string;
  statusCode: number;
  message: string;
  data: Record<string, any>;
}

/** One API call that must fail; resolves the client's error. */
export async function callErr(
  client: OpenApi,
  action: string,
  query: Record<string, unknown> = {},
  o: CallOptions = {},
): Promise<CallError> {
  try {
    const body = await call(client, action, query, o);
    throw new Error(`expected ${action} to fail, got ${JSON.stringify(body).slice(0, 300)}`);
  } catch (e: any) {
    if (e?.message?.startsWith(`expected ${action} to fail`)) throw e;
    return { code: e.code, statusCode: e.statusCode, message: e.message, data: e.data };
  }
}

export const jsonIds = (ids: string[]): string => JSON.stringify(ids);

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json?: any;
}

/** Plain HTTP to the emulator (no signing), a fresh connection each time. */
export function rawHttp(
  emu: { url: string },
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const u = new URL(path, emu.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const adminGet = async (emu: { url: string }, name: string): Promise<any> =>
  (await rawHttp(emu, "GET", `/__emulator/${name}`)).json;
export const adminPost = async (emu: { url: string }, name: string, body: unknown): Promise<RawResponse> =>
  rawHttp(emu, "POST", `/__emulator/${name}`, JSON.stringify(body), { "content-type": "application/json" });

/**
 * A v2 (HMAC-SHA1) signed query string built by hand with @alicloud/openapi-util's own signer,
 * for raw-HTTP tests that need control over Timestamp / SignatureNonce / Version.
 */
export function signedV2Path(
  emu: EmuTarget,
  params: Record<string, string>,
  o: { secret?: string; method?: string; timestamp?: string; nonce?: string } = {},
): string {
  const q: Record<string, string> = {
    Format: "json",
    Version: "2017-11-10",
    Timestamp: o.timestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    SignatureNonce: o.nonce ?? `${Date.now()}-${Math.random()}`,
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    AccessKeyId: emu.accessKeyId,
    ...params,
  };
  q.Signature = OpenApiUtil.getRPCSignature(q, o.method ?? "POST", o.secret ?? emu.accessKeySecret);
  return "/?" + new URLSearchParams(q).toString();
}

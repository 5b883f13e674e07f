/**
 * Signature verification exactly as @alicloud/openapi-client 0.4.x signs:
 *  - ACS3-HMAC-SHA256 (default): Authorization header over a canonical request;
 *  - v2 / HMAC-SHA1 (signatureAlgorithm "v2"): Signature query parameter.
 * Plus timestamp skew and signature-nonce replay checks. STS tokens are accepted when present (not validated).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Errors } from "./errors";
import type { Params } from "./params";

export interface SignedRequest {
  method: string;
  /** Path as sent, without the query string. */
  path: string;
  /** Decoded query parameters. */
  query: Params;
  /** Decoded form-body parameters (v2 signs them together with the query). */
  bodyParams: Params;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type SignatureStyle = "ACS3-HMAC-SHA256" | "v2";
export interface AuthResult {
  style: SignatureStyle;
  accessKeyId: string;
  securityToken?: string;
}

const ACS3 = "ACS3-HMAC-SHA256";
const AUTH_HEADER = /^(\S+)\s+Credential=([^,]*),\s*SignedHeaders=([^,]*),\s*Signature=(\S*)$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** encodeURIComponent plus ! ' ( ) *, as @alicloud/openapi-util encodes. */
export const percentEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
};

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The style and access key a request claims, before any verification (for the journal). */
export function claimedIdentity(req: SignedRequest): { style?: SignatureStyle; accessKeyId?: string } {
  const auth = header(req.headers, "authorization");
  if (auth) return { style: ACS3, accessKeyId: AUTH_HEADER.exec(auth)?.[2] };
  if (req.query.Signature !== undefined || req.query.AccessKeyId !== undefined) return { style: "v2", accessKeyId: req.query.AccessKeyId };
  return {};
}

export class Authenticator {
  /** `${accessKeyId}\n${nonce}` -> expiry (epoch ms); insertion order is time order. */
  private nonces = new Map<string, number>();

  constructor(
    private readonly secrets: Map<string, string>,
    private readonly maxSkewMs: number,
  ) {}

  clearNonces(): void {
    this.nonces.clear();
  }

  verify(req: SignedRequest, now: number): AuthResult {
    const auth = header(req.headers, "authorization");
    if (auth) return this.verifyAcs3(req, auth, now);
    if (req.query.Signature !== undefined || req.query.AccessKeyId !== undefined) return this.verifyV2(req, now);
    throw Errors.incompleteSignature("Neither an Authorization header nor a Signature parameter was supplied.");
  }

  private secretOf(accessKeyId: string): string {
    const secret = this.secrets.get(accessKeyId);
    if (secret === undefined) throw Errors.accessKeyNotFound();
    return secret;
  }

  private verifyAcs3(req: SignedRequest, auth: string, now: number): AuthResult {
    const m = AUTH_HEADER.exec(auth.trim());
    if (!m) throw Errors.incompleteSignature("Malformed Authorization header.");
    const [, algorithm, accessKeyId, signedList, signature] = m;
    if (algorithm !== ACS3) throw Errors.unsupportedSignatureMethod(algorithm);
    if (!accessKeyId || !signedList || !signature) throw Errors.incompleteSignature("Credential, SignedHeaders and Signature are required.");
    const secret = this.secretOf(accessKeyId);
    const date = header(req.headers, "x-acs-date");
    const nonce = header(req.headers, "x-acs-signature-nonce");
    const contentSha = header(req.headers, "x-acs-content-sha256");
    if (!date) throw Errors.incompleteSignature("Missing x-acs-date header.");
    if (!nonce) throw Errors.incompleteSignature("Missing x-acs-signature-nonce header.");
    if (!contentSha) throw Errors.incompleteSignature("Missing x-acs-content-sha256 header.");

    const signed = signedList.split(";");
    const canonicalQuery = Object.keys(req.query)
      .sort()
      .map((k) => `${k}=${percentEncode(req.query[k])}`)
      .join("&");
    const canonicalHeaders = signed.map((n) => `${n}:${(header(req.headers, n) ?? "").trim()}\n`).join("");
    const canonicalRequest = [req.method, req.path, canonicalQuery, canonicalHeaders, signedList, contentSha].join("\n");
    const stringToSign = `${ACS3}\n${createHash("sha256").update(canonicalRequest).digest("hex")}`;
    const expected = createHmac("sha256", secret).update(stringToSign).digest("hex");
    const bodySha = createHash("sha256").update(req.body).digest("hex");
    if (!sameText(expected, signature.toLowerCase()) || bodySha !== contentSha.toLowerCase()) throw Errors.signatureMismatch();
    this.checkFreshness(accessKeyId, date, nonce, now);
    return { style: ACS3, accessKeyId, securityToken: header(req.headers, "x-acs-security-token") };
  }

  private verifyV2(req: SignedRequest, now: number): AuthResult {
    const q = req.query;
    for (const name of ["AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod"]) {
      if (!q[name]) throw Errors.incompleteSignature(`Missing parameter ${name}.`);
    }
    if (q.SignatureMethod !== "HMAC-SHA1") throw Errors.unsupportedSignatureMethod(q.SignatureMethod);
    const secret = this.secretOf(q.AccessKeyId);
    const all: Params = { ...req.bodyParams, ...q };
    delete all.Signature;
    const canonical = Object.keys(all)
      .sort()
      .map((k) => `${percentEncode(k)}=${percentEncode(all[k])}`)
      .join("&");
    const stringToSign = `${req.method}&${percentEncode("/")}&${percentEncode(canonical)}`;
    const expected = createHmac("sha1", `${secret}&`).update(stringToSign).digest("base64");
    if (!sameText(expected, q.Signature)) throw Errors.signatureMismatch();
    this.checkFreshness(q.AccessKeyId, q.Timestamp, q.SignatureNonce, now);
    return { style: "v2", accessKeyId: q.AccessKeyId, securityToken: q.SecurityToken };
  }

  private checkFreshness(accessKeyId: string, timestamp: string, nonce: string, now: number): void {
    if (!TIMESTAMP.test(timestamp) || Number.isNaN(Date.parse(timestamp))) throw Errors.timestampFormat(timestamp);
    if (Math.abs(now - Date.parse(timestamp)) > this.maxSkewMs) throw Errors.timestampExpired(timestamp);
    for (const [k, expiry] of this.nonces) {
      if (expiry > now) break;
      this.nonces.delete(k);
    }
    const key = `${accessKeyId}\n${nonce}`;
    if (this.nonces.has(key)) throw Errors.nonceUsed();
    this.nonces.set(key, now + this.maxSkewMs);
  }
}

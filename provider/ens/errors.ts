/**
 * One error type for every failed ENS call, whatever failed: the service (an error body),
 * the connection, or the client library.
 */
export class EnsError extends Error {
  readonly name = "EnsError";
  constructor(
    /** Alibaba error code such as `Throttling.User`, or a network code such as `ECONNRESET`. */
    readonly code: string,
    message: string,
    readonly action: string,
    /** HTTP status; undefined when no response arrived. */
    readonly httpStatus?: number,
    readonly requestId?: string,
    /** Whether sending the same request again can help. */
    readonly retryable: boolean = false,
  ) {
    super(message);
  }
}

const RETRYABLE_CODES = new Set(["ServiceUnavailable", "InternalError", "Rejected.Throttling", "UnknownError"]);
const RETRYABLE_NET = new Set([
  "ECONNRESET", "EPIPE", "ETIMEDOUT", "ESOCKETTIMEDOUT", "ECONNABORTED", "EAI_AGAIN",
  "ReadTimeout", "ConnectTimeout", "UND_ERR_SOCKET",
]);

/** Terraform's rule for Alibaba Cloud, plus every HTTP 429 (a throttle whatever its body), dropped connections and time-outs. */
export function isRetryable(code: string | undefined, httpStatus: number | undefined): boolean {
  if (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === TOO_MANY_REQUESTS)) return true;
  if (!code) return false;
  return RETRYABLE_CODES.has(code) || code.includes("Throttling") || RETRYABLE_NET.has(code);
}

const TOO_MANY_REQUESTS = 429;

/** ENS's public endpoint, as the client defaults to it (named so here to keep this module free of client imports). */
const DEFAULT_ENS_ENDPOINT = "https://ens.aliyuncs.com";

/** The one line both the settings check and a failed credential chain lead with: which settings to set. */
export function noCredentialsMessage(endpoint: string): string {
  return `no ENS credentials for ${endpoint}: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pulumi config set alicloud:accessKey ... and pulumi config set --secret alicloud:secretKey ...`;
}

/**
 * Turns whatever `@alicloud/openapi-client` (or Node's http stack, or the credential chain) threw into an EnsError
 * whose message is one line, names the endpoint and the fix, and holds no secret: query strings of URLs, signature,
 * token and access key parameters and the configured secret and token are removed (see {@link redact}).
 * `endpoint` is the client's endpoint URL, named in connection and non-ENS-answer messages.
 */
export function toEnsError(err: unknown, action: string, endpoint?: string, source?: string): EnsError {
  if (err instanceof EnsError) return err;
  const e = (err ?? {}) as Record<string, any>;
  const data = (e.data ?? {}) as Record<string, any>;
  const evidence = responseEvidence(e) ?? responseEvidence(data);
  const make = (code: string, text: string, status?: number, requestId?: string, retryable = isRetryable(code, status)) =>
    new EnsError(code, redact(oneLine(`${action}: ${code}: ${text}`)), action, status, requestId, retryable);

  if (isCredentialFailure(e)) {
    const details = oneLine(String(e.message ?? err).replace(HTTP_LIBRARY_TAIL, ""))
      .replace(/^unable to get credentials from any of the providers in the chain:\s*/i, "")
      .replace(/\.,/g, ",");
    const source = (e as any)[CREDENTIAL_FAILURE];
    if (typeof source === "string") {
      return make("CredentialsNotFound", `no ENS credentials from ${source}: ${clip(redact(details), 400)}`, undefined, undefined, false);
    }
    const message = `${noCredentialsMessage(endpoint ?? DEFAULT_ENS_ENDPOINT)}; the @alicloud/credentials default chain found none: ${clip(redact(details), 400)}`;
    return make("CredentialsNotFound", message, undefined, undefined, false);
  }

  const status = numberOrUndefined(e.statusCode ?? data.statusCode);
  if (status !== undefined || data.Code !== undefined) {
    const requestId = data.RequestId ?? data.requestId;
    if (requestId !== undefined && data.Code !== undefined) {
      // A service error body: {RequestId, HostId, Code, Message}.
      const code = String(data.Code);
      const message = String(data.Message ?? stripCodePrefix(String(e.message ?? ""), code)) + credentialHint(code, endpoint) + throttleHint(code, status);
      return make(code, message, status, String(requestId));
    }
    if (status === TOO_MANY_REQUESTS) return make(String(data.Code ?? data.code ?? "TooManyRequests"), throttledBy(endpoint, evidence), status);
    // An error status whose JSON is not ENS's (no RequestId): a proxy, a gateway, another service.
    const code = String(data.Code ?? data.code ?? "ClientError");
    const what = evidence ? describeAnswer(evidence) : `HTTP ${status ?? "?"}, JSON without a RequestId: "${clip(oneLine(redact(JSON.stringify(withoutStatus(data)))), 60)}"`;
    return make(code, notEns(endpoint, what), status);
  }

  if (evidence?.status === TOO_MANY_REQUESTS) return make("TooManyRequests", throttledBy(endpoint, evidence), TOO_MANY_REQUESTS);
  if (evidence || isUnreadableAnswer(e)) {
    // The answer was not JSON at all (an HTML page, an empty body, a redirect) or JSON that is not an object.
    const what = evidence ? describeAnswer(evidence) : /not a object/i.test(String(e.message)) ? "JSON that is not an object" : "an answer that is not JSON";
    return make("ClientError", notEns(endpoint, what), evidence?.status);
  }

  const raw = String(e.message ?? err);
  const netCode = String(e.code ?? e.cause?.code ?? netCodeFromMessage(raw) ?? "ClientError");
  return make(netCode, describeFailure(netCode, raw, endpoint, numberOrUndefined(e.timeoutMs), source));
}

// ---------------------------------------------------------------------------------------------------------------
// Connection failures: "cannot reach ENS at <endpoint> (<where it came from>): <what happened, and the fix>"; a read
// time-out is no failure to reach: "waited for ENS at <endpoint> (...): connected, but no answer within 60 s (...)".

function describeFailure(code: string, raw: string, endpoint: string | undefined, timeoutMs?: number, source?: string): string {
  const detail = cleanTransportMessage(raw);
  const reason = connectionReason(code, raw, detail, endpoint, timeoutMs);
  if (reason === undefined && !/^(E[A-Z_]+|UND_ERR\w*|\w*Timeout)$/.test(code)) return detail; // not a network failure
  const where = endpoint ? ` at ${endpoint} (${source ?? endpointSource(endpoint)})` : "";
  return `${isReadTimeout(code) ? "waited for" : "cannot reach"} ENS${where}: ${reason ?? detail}`;
}

const isReadTimeout = (code: string) => code === "ReadTimeout" || code === "ESOCKETTIMEDOUT";

/** "0.3 s", "60 s": a limit as the settings give it, in seconds. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function connectionReason(code: string, raw: string, detail: string, endpoint: string | undefined, timeoutMs?: number): string | undefined {
  const url = parseUrl(endpoint);
  const host = url?.hostname.replace(/^\[|\]$/g, "") ?? "the host";
  if (code === "ECONNREFUSED") return "connection refused (is ENS, or the emulator, listening at that address and port?)";
  if (["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET"].includes(code)) return "the connection was closed before an answer (by the server or a proxy on the way)";
  if (isReadTimeout(code)) {
    const ms = timeoutMs ?? numberOrUndefined(/ReadTimeout\D{0,3}(\d+)/.exec(raw)?.[1]);
    return `connected, but no answer within ${ms !== undefined ? seconds(ms) : "the read time-out"} (ENS, or a proxy on the way, is slow or stalled: raise ens:readTimeoutSeconds / ENS_READ_TIMEOUT_SECONDS, or try again later)`;
  }
  const unreachable = "is the host reachable from here? a firewall may drop the packets";
  if (code === "ConnectTimeout") {
    return `no connection within ${timeoutMs !== undefined ? seconds(timeoutMs) : "the connect time-out"} (ens:connectTimeoutSeconds / ENS_CONNECT_TIMEOUT_SECONDS): ${unreachable}`;
  }
  if (code === "ETIMEDOUT") return `no connection (the system's TCP connect timed out): ${unreachable}`;
  if (code === "ENOTFOUND") return `host not found: check the host name ${host} in the endpoint`;
  if (code === "EAI_AGAIN") return `DNS lookup of ${host} failed for now (a temporary DNS failure): check the network and DNS`;
  if (code === "EHOSTUNREACH") return "host unreachable (check the address, the routes and the firewall)";
  if (code === "ENETUNREACH") return "network unreachable (check this machine's network connection)";
  if (code === "EPROTO" || /^ERR_SSL/.test(code)) {
    // OpenSSL reading an HTTP answer as a TLS record: "wrong version number" (or "packet length too long").
    if (/wrong version number|packet length too long|unknown protocol|http request/i.test(raw)) {
      return url?.protocol === "https:" ? `TLS handshake failed: is it plain HTTP? use http://${url.host}` : "TLS handshake failed: the server does not speak TLS";
    }
    return `TLS handshake failed (${opensslReason(raw) ?? detail})`;
  }
  if (/^(CERT_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT)/.test(code)) {
    return `TLS certificate not trusted (${code}: ${detail}): check the host name in the endpoint, or trust its CA with NODE_EXTRA_CA_CERTS`;
  }
  return undefined;
}

function endpointSource(endpoint: string): string {
  return endpoint.replace(/\/+$/, "") === DEFAULT_ENS_ENDPOINT ? "the default endpoint; ens:endpoint / ENS_ENDPOINT set another" : "from ens:endpoint / ENS_ENDPOINT";
}

/** httpx appends "<METHOD> <url> failed." to every error it passes on, right after the message ("...127.0.0.1:1POST http://..."). */
const HTTP_LIBRARY_TAIL = /\.?\s*(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \S+ failed\.?/g;

/** The transport's message without the HTTP library's "POST <url> failed." tail and without any secret. */
function cleanTransportMessage(raw: string): string {
  const noTail = raw.replace(HTTP_LIBRARY_TAIL, "");
  return oneLine(redact(noTail)).replace(/[.:\s]+$/, "") || "unknown error";
}

/** "wrong version number" out of "write EPROTO 805C...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/...". */
function opensslReason(raw: string): string | undefined {
  return /SSL routines:[^:]*:([^:]+)/.exec(raw)?.[1];
}

// ---------------------------------------------------------------------------------------------------------------
// Answers that are not ENS's.

/** An HTTP 429 whose body is not ENS's (a gateway's page, JSON without a RequestId, nothing). */
function throttledBy(endpoint: string | undefined, ev: ResponseEvidence | undefined): string {
  const body = ev ? describeAnswer(ev) : "HTTP 429";
  return `throttled: the endpoint ${endpoint ? `${endpoint} ` : ""}answered Too Many Requests (${body}); retried at the learnt rate until ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS`;
}

/** An ENS error body with HTTP 429 under a code that does not say Throttling. */
function throttleHint(code: string, status: number | undefined): string {
  return status === TOO_MANY_REQUESTS && !code.includes("Throttling") ? " (HTTP 429: throttled)" : "";
}

function notEns(endpoint: string | undefined, what: string): string {
  return `the endpoint ${endpoint ? `${endpoint} ` : ""}did not answer as ENS (${what}): check ens:endpoint / ENS_ENDPOINT`;
}

function describeAnswer(ev: ResponseEvidence): string {
  const status = `HTTP ${ev.status ?? "?"}`;
  if (ev.status !== undefined && ev.status >= 300 && ev.status < 400 && ev.location) return `${status}, redirect to ${clip(redact(stripQueries(ev.location)), 100)}`;
  const body = oneLine(redact(ev.head));
  return `${status}, ${ev.contentType ? oneLine(ev.contentType) : "no content-type"}: ${body ? `"${clip(body, 60, "")}"` : "empty body"}`;
}

function isUnreadableAnswer(e: Record<string, any>): boolean {
  return e instanceof SyntaxError || e.name === "SyntaxError" || /^The value is not a object$/.test(String(e.message ?? ""));
}

function withoutStatus(data: Record<string, any>): Record<string, any> {
  const { statusCode: _s, ...rest } = data;
  return rest;
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials.

const CREDENTIAL_FAILURE = Symbol.for("pulumi-ens-keypair.credentialFailure");

/**
 * Marks an error thrown while the credential was fetched (see toCredential), so toEnsError reports it as such;
 * `source` names the configured source (a profile, a role) when it was not the default chain.
 */
export function markCredentialFailure<T>(err: T, source?: string): T {
  if (err && typeof err === "object") Object.defineProperty(err, CREDENTIAL_FAILURE, { value: source ?? true, enumerable: false });
  return err;
}

function isCredentialFailure(e: Record<string, any>): boolean {
  return (e as any)[CREDENTIAL_FAILURE] !== undefined || e.code === "InvalidCredentials" || /unable to get credentials from any of the providers in the chain/i.test(String(e.message ?? ""));
}

// ---------------------------------------------------------------------------------------------------------------
// Redaction.

const SECRETS: string[] = [];
const MAX_SECRETS = 64;

/**
 * Remembers secrets (an access key secret, an STS token) so that no error message can carry them, in any encoding
 * the wire uses. Called for every credential the client signs with; values shorter than 6 characters are ignored.
 */
export function registerSecret(...values: Array<string | undefined | null>): void {
  for (const v of values) {
    if (typeof v !== "string" || v.length < 6 || SECRETS.includes(v)) continue;
    SECRETS.push(v);
    if (SECRETS.length > MAX_SECRETS) SECRETS.shift();
  }
}

const SENSITIVE_NAMES = "SecurityToken|Signature|AccessKeyId|AccessKeySecret|BearerToken|x-acs-security-token|x-acs-accesskey-id|x-acs-bearer-token|security_token|access_key_secret|access_key_id";
/** name=value, name%3Dvalue (in a string to sign), "name":"value" (JSON), name: value (a header). */
const SENSITIVE_PARAM = new RegExp(`((?<![A-Za-z])(?:${SENSITIVE_NAMES})"?\\s*(?:=|%3D|%253D|:)\\s*"?)((?:(?!%26|%2526)[^&\\s"',;}<>])+)`, "gi");

/**
 * Removes what must never be shown: query strings of URLs and paths (a v2-signed request carries its token, key ID and
 * signature there), signature / token / key parameters wherever they appear, and the registered secrets.
 */
export function redact(text: string): string {
  // Secrets first: a token with a space in it would otherwise be cut at the space by the patterns below, and its
  // tail left behind.
  let out = text;
  for (const secret of SECRETS) for (const form of secretForms(secret)) out = out.split(form).join("[redacted]");
  return stripQueries(out).replace(SENSITIVE_PARAM, "$1[redacted]");
}

/**
 * The forms in which a secret comes back: as sent, percent-encoded (once, twice, with `!'()*` too), with its `+` read
 * as a space (a query string decoded as a form) and re-encoded so, with its `/` escaped as `\/` (JSON from PHP, Java,
 * ...), and both. Longest first, so that no form leaves part of a longer one behind.
 */
function secretForms(secret: string): string[] {
  const spaced = secret.replace(/\+/g, " ");
  const escaped = (s: string) => s.replace(/\//g, "\\/");
  const forms = [secret, encodeURIComponent(secret), percentEncode(secret), encodeURIComponent(percentEncode(secret)), spaced, encodeURIComponent(spaced).replace(/%20/g, "+"), escaped(secret), escaped(spaced)];
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

/** `http://h/p?x=1` -> `http://h/p`, `POST /?Action=...` -> `POST /`. */
function stripQueries(text: string): string {
  return text.replace(/((?:\b[a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*)|(?:(?:^|(?<=[\s("'=]))\/[^\s?#"'<>]*))\?[^\s"'<>#]*/gi, "$1");
}

const percentEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

function clip(s: string, max: number, ellipsis = "..."): string {
  return s.length > max ? `${s.slice(0, max)}${ellipsis}` : s;
}

function parseUrl(u: string | undefined): URL | undefined {
  try {
    return u ? new URL(u) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// What the server answered, when its answer was not ENS's.

interface ResponseEvidence {
  status?: number;
  contentType?: string;
  location?: string;
  /** The start of the body as received (redacted only when shown). */
  head: string;
}

const EVIDENCE = Symbol.for("pulumi-ens-keypair.responseEvidence");

function responseEvidence(o: Record<string, any>): ResponseEvidence | undefined {
  return o && typeof o === "object" ? ((o as any)[EVIDENCE] as ResponseEvidence | undefined) : undefined;
}

/**
 * `callApi` reads every answer with tea-util's `readAsJSON`, which throws a bare SyntaxError ("Unexpected end of JSON
 * input") that tells neither the status, the content type nor what came back. This wraps that one function of the
 * tea-util copy openapi-client uses: results and errors stay exactly the same, but a parse error (and the parsed body of
 * an error status) carries, out of sight (a non-enumerable symbol), the status, content type, Location and the first
 * 2,000 characters of the body, for toEnsError to say what the endpoint answered instead.
 */
function installResponseEvidence(): void {
  try {
    const path = require("node:path") as typeof import("node:path");
    const utilPath = require.resolve("@alicloud/tea-util", { paths: [path.dirname(require.resolve("@alicloud/openapi-client"))] });
    const Util = (require(utilPath) as { default?: any }).default;
    if (!Util || typeof Util.readAsJSON !== "function" || typeof Util.readAsString !== "function" || Util.readAsJSON[EVIDENCE]) return;
    const parse = typeof Util.parseJSON === "function" ? (t: string) => Util.parseJSON(t) : (t: string) => JSON.parse(t);
    const readAsJSON = async function (stream: any) {
      const text: string = await Util.readAsString(stream);
      const evidence = (): ResponseEvidence => ({
        status: typeof stream?.statusCode === "number" ? stream.statusCode : undefined,
        contentType: header(stream, "content-type"),
        location: header(stream, "location"),
        head: String(text).slice(0, 2000),
      });
      let value: unknown;
      try {
        value = parse(text);
      } catch (err) {
        if (err && typeof err === "object") Object.defineProperty(err, EVIDENCE, { value: evidence(), enumerable: false });
        throw err;
      }
      const status = stream?.statusCode;
      if (value && typeof value === "object" && typeof status === "number" && (status < 200 || status >= 300)) {
        Object.defineProperty(value, EVIDENCE, { value: evidence(), enumerable: false });
      }
      return value;
    };
    Object.defineProperty(readAsJSON, EVIDENCE, { value: true });
    Util.readAsJSON = readAsJSON;
  } catch {
    // Without it, messages fall back to what the parse error says.
  }
}

function header(stream: any, name: string): string | undefined {
  const v = stream?.headers?.[name];
  return Array.isArray(v) ? v.join(", ") : typeof v === "string" ? v : undefined;
}

installResponseEvidence();

/** ENS refused the access key: say which settings hold it (never their values). */
function credentialHint(code: string, endpoint?: string): string {
  if (!/^(SignatureDoesNotMatch|IncompleteSignature|InvalidAccessKeyId|InvalidSecurityToken|SignatureNonceUsed)/.test(code)) return "";
  // The endpoint tells which account refused, when a program spans several (the resource's account input).
  return ` ENS${endpoint ? ` at ${endpoint}` : ""} refused the access key: set a valid pair in the resource's account (account.accessKey, account.secretKey) when it has one, else in ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY), or in stack config alicloud:accessKey and alicloud:secretKey.`;
}

function netCodeFromMessage(message: string): string | undefined {
  if (/socket hang up/i.test(message)) return "ECONNRESET";
  const timeout = /^(\w*Timeout)\b/.exec(message);
  if (timeout) return timeout[1];
  if (/timeout/i.test(message)) return "ReadTimeout";
  return undefined;
}

function stripCodePrefix(message: string, code: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

function numberOrUndefined(v: unknown): number | undefined {
  const n = Number(v);
  return v === undefined || v === null || Number.isNaN(n) ? undefined : n;
}

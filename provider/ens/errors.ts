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

/** Terraform's rule for Alibaba Cloud, plus dropped connections and time-outs. */
export function isRetryable(code: string | undefined, httpStatus: number | undefined): boolean {
  if (httpStatus !== undefined && httpStatus >= 500) return true;
  if (!code) return false;
  return RETRYABLE_CODES.has(code) || code.includes("Throttling") || RETRYABLE_NET.has(code);
}

/** Turns whatever `@alicloud/openapi-client` (or Node's http stack) threw into an EnsError. */
export function toEnsError(err: unknown, action: string): EnsError {
  if (err instanceof EnsError) return err;
  const e = (err ?? {}) as Record<string, any>;
  const data = (e.data ?? {}) as Record<string, any>;
  const status = numberOrUndefined(e.statusCode ?? data.statusCode);
  if (status !== undefined || data.Code !== undefined) {
    // A service error body: {RequestId, HostId, Code, Message}.
    const code = String(data.Code ?? e.code ?? "UnknownError");
    const message = String(data.Message ?? stripCodePrefix(String(e.message ?? ""), code)) + credentialHint(code);
    return new EnsError(code, `${action}: ${code}: ${message}`, action, status, data.RequestId, isRetryable(code, status));
  }
  const raw = String(e.message ?? err);
  const netCode = String(e.code ?? e.cause?.code ?? netCodeFromMessage(raw) ?? "ClientError");
  return new EnsError(netCode, `${action}: ${netCode}: ${raw}`, action, undefined, undefined, isRetryable(netCode, undefined));
}

/** ENS refused the access key: say which settings hold it (never their values). */
function credentialHint(code: string): string {
  if (!/^(SignatureDoesNotMatch|IncompleteSignature|InvalidAccessKeyId|InvalidSecurityToken|SignatureNonceUsed)/.test(code)) return "";
  return " ENS refused the access key: set a valid pair in ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY), or in stack config alicloud:accessKey and alicloud:secretKey.";
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

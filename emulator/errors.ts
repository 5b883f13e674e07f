/**
 * Errors the emulator answers with, in one catalog so the README, CONFORMANCE.md and the tests can point at one
 * place. Sources of each code: emulator/CONFORMANCE.md.
 */
import type { InstanceFailure, ThrottleCode } from "./types";

export class EnsFault extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EnsFault";
  }
}

const fault = (status: number, code: string) => (message: string) => new EnsFault(status, code, message);

export const Errors = {
  // --- wire / authentication
  incompleteSignature: (detail: string) =>
    new EnsFault(400, "IncompleteSignature", `The request signature does not conform to Aliyun standards. ${detail}`),
  signatureMismatch: () =>
    new EnsFault(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."),
  accessKeyNotFound: () => new EnsFault(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."),
  nonceUsed: () => new EnsFault(400, "SignatureNonceUsed", "Specified signature nonce was used already."),
  timestampExpired: (ts: string) =>
    new EnsFault(400, "InvalidTimeStamp.Expired", `Specified time stamp or date value is expired. (${ts})`),
  timestampFormat: (ts: string) =>
    new EnsFault(400, "InvalidTimeStamp.Format", `Specified time stamp or date value is not well formatted. (${ts})`),
  unsupportedSignatureMethod: (m: string) =>
    new EnsFault(400, "InvalidSignatureMethod", `Specified signature method is not supported: ${m}`),
  actionNotFound: (a: string) =>
    new EnsFault(404, "InvalidAction.NotFound", `Specified api is not found, please check your url and method. (${a})`),
  invalidVersion: (v: string) =>
    new EnsFault(400, "InvalidVersion", `Specified parameter Version is not valid: ${v} (this emulator serves 2017-11-10).`),
  badRequest: fault(400, "InvalidRequest"),
  bodyTooLarge: fault(413, "RequestEntityTooLarge"),
  methodNotAllowed: fault(405, "UnsupportedHTTPMethod"),
  // --- edge faults
  throttled: (code: ThrottleCode = "Throttling.User", status = 400) => new EnsFault(status, code, THROTTLE_MESSAGES[code]),
  serviceUnavailable: () =>
    new EnsFault(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
  // --- parameters
  missing: (name: string) =>
    new EnsFault(400, "MissingParameter", `The input parameter "${name}" that is mandatory for processing this request is not supplied.`),
  invalid: (name: string, why: string) =>
    new EnsFault(400, `InvalidParameter.${name}`, `The specified parameter "${name}" is not valid: ${why}`),
  // --- resources
  keyPairNotFound: (what: string) =>
    new EnsFault(404, "InvalidKeyPair.NotFound", `The specified key pair does not exist: ${what}`),
  keyPairExists: (name: string) => new EnsFault(400, "KeyPair.AlreadyExist", `The key pair already exists: ${name}`),
  keyPairNameMalformed: (name: string) =>
    new EnsFault(
      400,
      "InvalidKeyPairName.Malformed",
      `The key pair name "${name}" is invalid: 2-128 characters, starting with a letter; letters, digits, ":", "_" and "-" only.`,
    ),
  publicKeyMalformed: () =>
    new EnsFault(400, "InvalidPublicKeyBody.Malformed", "The specified PublicKeyBody is not a valid OpenSSH public key."),
  publicKeyNotRsa: () =>
    new EnsFault(400, "InvalidPublicKeyBody.Malformed", "Only ssh-rsa public keys can be imported."),
  keyNotAttached: (keyPairName: string, ids: string[]) =>
    new EnsFault(
      400,
      "PublicKeyNotAttachWithInstance",
      `The key pair ${keyPairName} is not attached to instance(s) ${ids.join(", ")}; nothing was detached.`,
    ),
  resourceNotFound: (id: string) =>
    new EnsFault(404, "InvalidResourceId.NotFound", `The specified resource does not exist: ${id}`),
  /** A per-instance failure raised as the whole call's error (StopInstance/StartInstance, the wholeCallPowerFailure fault). */
  fromItem: (f: InstanceFailure) => new EnsFault(400, f.code, f.message),
  tagLimit: (id: string) =>
    new EnsFault(400, "InvalidParameter.TagCount", `The resource ${id} would carry more than 20 tags.`),
};

const THROTTLE_MESSAGES: Record<ThrottleCode, string> = {
  Throttling: "Request was denied due to request throttling.",
  "Throttling.User": "Request was denied due to user flow control.",
  "Throttling.Api": "Request was denied due to api flow control.",
};

/** Per-instance failure codes used inside batch results (and, for the whole-call fault, as whole-call errors). */
export const ItemErrors = {
  notFound: { code: "InvalidInstanceId.NotFound", message: "The specified instance does not exist." },
  // Not found in StopInstance / StartInstance, as their reference pages say (message verbatim, typo included);
  // StopInstances / StartInstances reuse them (our choice).
  stopNotFound: { code: "InstanceIdNotFound", message: "The input parameter instancdId that is not found." },
  startNotFound: { code: "InstanceNotFound", message: "The input parameter instancdId that is not found." },
  incorrectStatus: { code: "IncorrectInstanceStatus", message: "The current status of the instance does not support this operation." },
  notAttached: { code: "PublicKeyNotAttachWithInstance", message: "The key pair is not attached to the instance." },
} satisfies Record<string, InstanceFailure>;

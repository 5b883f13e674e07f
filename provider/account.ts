/**
 * The `account` input of a KeyPairAttachment: which ENS account (endpoint and credentials) the resource lives in, with
 * pulumi-alicloud's names, so that one program can span accounts as `new alicloud.Provider(...)` lets it. Each field
 * falls back to the stack settings (ens:endpoint / ENS_ENDPOINT, alicloud:* / ALIBABA_CLOUD_*). Validation here is
 * pure and never shows a secret value; the credentials it describes are built by credential-sources.ts.
 */
import { credentialSettings, CredentialSource, parseEndpoint, StaticAccessKey } from "./ens";
import { registerSecret } from "./ens/errors";

/** What the SDK stores (secretKey and securityToken as Pulumi secrets) and delete reads back from the state. */
export interface AccountInput {
  endpoint?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  securityToken?: string;
  profile?: string;
  assumeRole?: AssumeRoleInput;
}

/** pulumi-alicloud's `assumeRole` block. */
export interface AssumeRoleInput {
  roleArn: string;
  sessionName?: string;
  policy?: string;
  /** Seconds, 900-43200; default 3600. */
  sessionExpiration?: number;
  externalId?: string;
}

export const ACCOUNT_FIELDS = ["endpoint", "region", "accessKey", "secretKey", "securityToken", "profile", "assumeRole"];
export const ASSUME_ROLE_FIELDS = ["roleArn", "sessionName", "policy", "sessionExpiration", "externalId"];
/** Fields whose values are never shown, and which the SDK stores as Pulumi secrets. */
export const SECRET_ACCOUNT_FIELDS = ["secretKey", "securityToken"];
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const isUnknown = (v: unknown) => v === UNKNOWN;
const absent = (v: unknown) => v === undefined || v === null || v === "";

type Fail = (property: string, reason: string) => void;

/**
 * Checks `account` (failures named `account.<field>`, with the fix) and returns it normalized: empty fields dropped,
 * undefined when nothing is left. Values not known yet (preview) pass. Secret values are registered for redaction and
 * never quoted.
 */
export function checkAccount(raw: unknown, fail: Fail, nearest: (name: string, known: readonly string[]) => string | undefined): AccountInput | undefined {
  if (absent(raw)) return undefined;
  if (isUnknown(raw)) return raw as AccountInput;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    fail("account", `account must be an object such as { endpoint: "https://ens.aliyuncs.com", accessKey: "LTAI...", secretKey: config.requireSecret("secretKey") }, got ${typeof raw === "string" ? "text" : Array.isArray(raw) ? "a list" : typeof raw}`);
    return undefined;
  }
  const a = raw as Record<string, unknown>;
  registerSecret(...SECRET_ACCOUNT_FIELDS.map((k) => (typeof a[k] === "string" ? (a[k] as string) : undefined)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    if (absent(v)) continue;
    if (!ACCOUNT_FIELDS.includes(k)) {
      const near = nearest(k, ACCOUNT_FIELDS);
      fail(`account.${k}`, near ? `unknown field "${k}": did you mean ${near}?` : `unknown field "${k}": account takes ${ACCOUNT_FIELDS.join(", ")} (pulumi-alicloud's provider settings)`);
      continue;
    }
    out[k] = v;
  }
  for (const k of ["endpoint", "region", "accessKey", "secretKey", "securityToken", "profile"]) {
    const v = out[k];
    if (v === undefined || isUnknown(v) || typeof v === "string") continue;
    const secret = SECRET_ACCOUNT_FIELDS.includes(k);
    fail(`account.${k}`, k === "endpoint" ? `account.endpoint must be a URL such as https://ens.aliyuncs.com or http://127.0.0.1:8734, got ${typeof v}` : `account.${k} must be a string, got ${secret ? "a value of another type (not shown: it is secret)" : typeof v}${secret ? "; pass it as config.requireSecret(...) or a plain string" : ""}`);
    delete out[k];
  }
  if (typeof out.endpoint === "string" && !isUnknown(out.endpoint)) {
    try {
      parseEndpoint(out.endpoint);
    } catch (e) {
      fail("account.endpoint", `account.${(e as Error).message}`);
    }
  }
  if (typeof out.region === "string" && !isUnknown(out.region) && !REGION.test(out.region)) {
    fail("account.region", `account.region must be a region ID such as cn-hangzhou, got ${JSON.stringify(out.region)}`);
  }
  const has = (k: string) => out[k] !== undefined;
  if (has("secretKey") && !has("accessKey")) fail("account.secretKey", "account has secretKey without accessKey: set account.accessKey too (the AccessKey ID, LTAI...)");
  if (has("accessKey") && !has("secretKey")) fail("account.accessKey", "account has accessKey without secretKey: set account.secretKey too, as a secret (config.requireSecret(...))");
  if (has("securityToken") && !has("accessKey")) fail("account.securityToken", "account has securityToken without accessKey: an STS token goes with the temporary accessKey and secretKey it was issued with");
  if (has("profile") && (has("accessKey") || has("secretKey"))) fail("account.profile", "give either accessKey + secretKey or profile in account, not both");
  if (has("assumeRole")) checkAssumeRole(out.assumeRole, fail, nearest);
  return Object.keys(out).length ? (out as AccountInput) : undefined;
}

function checkAssumeRole(v: unknown, fail: Fail, nearest: (name: string, known: readonly string[]) => string | undefined): void {
  if (isUnknown(v)) return;
  const shape = `{roleArn: "acs:ram::<account>:role/<name>", sessionName?, sessionExpiration? (900-43200 s), policy?, externalId?}`;
  if (!v || typeof v !== "object" || Array.isArray(v)) return fail("account.assumeRole", `account.assumeRole must be an object ${shape}`);
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (ASSUME_ROLE_FIELDS.includes(k) || r[k] === undefined) continue;
    const near = nearest(k, ASSUME_ROLE_FIELDS);
    fail(`account.assumeRole.${k}`, near ? `unknown field "${k}": did you mean ${near}?` : `unknown field "${k}": assumeRole takes ${ASSUME_ROLE_FIELDS.join(", ")}`);
  }
  if (!isUnknown(r.roleArn) && (typeof r.roleArn !== "string" || !r.roleArn)) fail("account.assumeRole.roleArn", "account.assumeRole.roleArn is required, such as acs:ram::<account>:role/<name>");
  for (const k of ["sessionName", "externalId"]) {
    if (!absent(r[k]) && !isUnknown(r[k]) && typeof r[k] !== "string") fail(`account.assumeRole.${k}`, `account.assumeRole.${k} must be a string, got ${typeof r[k]}`);
  }
  if (!absent(r.policy) && !isUnknown(r.policy) && typeof r.policy !== "string" && typeof r.policy !== "object") fail("account.assumeRole.policy", "account.assumeRole.policy must be a policy document (JSON text or an object)");
  const exp = r.sessionExpiration;
  if (!absent(exp) && !isUnknown(exp) && (typeof exp !== "number" || !Number.isInteger(exp) || exp < 900 || exp > 43200)) {
    fail("account.assumeRole.sessionExpiration", `account.assumeRole.sessionExpiration must be whole seconds from 900 to 43200, got ${typeof exp === "number" ? exp : typeof exp}`);
  }
}

/** True when some field of the account is not known yet (preview): nothing can be looked up in it. */
export function accountUnknown(account: unknown): boolean {
  if (isUnknown(account)) return true;
  if (!account || typeof account !== "object") return false;
  return Object.values(account).some((v) => isUnknown(v) || (v && typeof v === "object" && Object.values(v).some(isUnknown)));
}

/**
 * The account's credentials over the stack's: the account's key (with its token), else its profile, else the stack's
 * as today (stack config key, stack config profile, the environment's key, its profile, the default chain). The role:
 * the account's assumeRole, else, when the account names no key or profile of its own, the stack's (alicloud:assumeRole
 * / ALICLOUD_ASSUME_ROLE_ARN). `region` picks the STS endpoint of a role (sts.<region>.aliyuncs.com) unless
 * ens:stsEndpoint / ENS_STS_ENDPOINT names one.
 */
export function accountCredentials(account: AccountInput, lookup: (key: string) => unknown, env: NodeJS.ProcessEnv): StaticAccessKey | CredentialSource | undefined {
  const ownBase = Boolean(account.accessKey || account.profile);
  const overlay: Record<string, unknown> = ownBase
    ? { "alicloud:accessKey": account.accessKey, "alicloud:secretKey": account.secretKey, "alicloud:securityToken": account.securityToken, "alicloud:profile": account.profile }
    : {};
  const masked = (key: string) => (key in overlay ? overlay[key] : key === "alicloud:assumeRole" ? (account.assumeRole ?? (ownBase ? undefined : lookup(key))) : lookup(key));
  // The account's own key or profile: the environment's keys, profile and role are not used.
  const scopedEnv = ownBase || account.assumeRole ? { ...env, ALICLOUD_ASSUME_ROLE_ARN: undefined } : env;
  const credentials = credentialSettings(masked, scopedEnv);
  if (!credentials || !("kind" in credentials)) return credentials;
  const named = (c: CredentialSource): CredentialSource => {
    if (c.kind === "profile") return account.profile ? { ...c, from: "account.profile" } : c;
    const base = c.base && "kind" in c.base ? (named(c.base) as typeof c.base) : c.base;
    const own = Boolean(account.assumeRole);
    const sts = c.stsEndpoint ?? (own && account.region ? `sts.${account.region}.aliyuncs.com` : undefined);
    return { ...c, ...(own ? { from: "account.assumeRole" } : {}), ...(sts ? { stsEndpoint: sts } : {}), ...(base ? { base } : {}) };
  };
  return named(credentials);
}

/** The message for a loopback account endpoint with no credentials anywhere. */
export function noAccountCredentialsMessage(endpoint: string): string {
  return `no ENS credentials for ${endpoint}: set account.accessKey and account.secretKey (or account.profile, account.assumeRole) on the resource, or the stack's (pulumi config set alicloud:accessKey ..., pulumi config set --secret alicloud:secretKey ..., or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET)`;
}

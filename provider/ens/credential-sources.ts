/**
 * Credentials the way pulumi-alicloud (and Terraform's alicloud provider) users already have them: a named profile of
 * the Alibaba Cloud CLI (`alicloud:profile`) and a RAM role to assume (`alicloud:assumeRole`), on top of a static
 * access key. Each is a plain description here; {@link providerFor} turns it into an `@alicloud/credentials` provider
 * when a call needs credentials, so nothing secret is read before an operation runs or kept beyond the process.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  CLIProfileCredentialsProvider,
  CredentialsProvider,
  DefaultCredentialsProvider,
  ProfileCredentialsProvider,
  RAMRoleARNCredentialsProvider,
  StaticAKCredentialsProvider,
  StaticSTSCredentialsProvider,
} from "@alicloud/credentials";
import type { StaticAccessKey } from "./credentials";
import { registerSecret } from "./errors";

/** A named profile: `~/.aliyun/config.json` (the `aliyun` CLI) first, then `~/.alibabacloud/credentials`. */
export interface ProfileSource {
  kind: "profile";
  profile: string;
  /** The setting that named it, for messages: `alicloud:profile`, `ALICLOUD_PROFILE`, ... */
  from: string;
}

/** A RAM role assumed with STS AssumeRole, signed with `base` (a key, a profile, or else the default chain). */
export interface AssumeRoleSource {
  kind: "assumeRole";
  roleArn: string;
  /** RoleSessionName; default `pulumi-ens-keypair-<time>`. */
  sessionName?: string;
  /** DurationSeconds, 900-43200; default 3600. */
  sessionExpiration?: number;
  /** A policy (JSON text) narrowing the role's permissions. */
  policy?: string;
  externalId?: string;
  /** STS host[:port]; default sts.aliyuncs.com (or sts.<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com). HTTPS only. */
  stsEndpoint?: string;
  base?: StaticAccessKey | ProfileSource;
  from: string;
}

export type CredentialSource = ProfileSource | AssumeRoleSource;

export function isCredentialSource(x: unknown): x is CredentialSource {
  const kind = (x as { kind?: unknown } | undefined)?.kind;
  return kind === "profile" || kind === "assumeRole";
}

/** One line naming where credentials come from, never what they are (a key ID shows its ends only): for messages. */
export function describeSource(source: CredentialSource | StaticAccessKey | undefined): string {
  if (!source) return "the @alicloud/credentials default chain";
  if (!isCredentialSource(source)) return `access key ${source.accessKeyId.slice(0, 4)}...${source.accessKeyId.slice(-3)}`;
  if (source.kind === "profile") return `profile "${source.profile}" (${source.from})`;
  return `role ${source.roleArn} (${source.from}), assumed with ${describeSource(source.base)}`;
}

/** The `@alicloud/credentials` provider for a source; every secret it reads or obtains is registered for redaction. */
export function providerFor(source: CredentialSource | StaticAccessKey | undefined): CredentialsProvider {
  if (!source) return registering(DefaultCredentialsProvider.builder().build());
  if (!isCredentialSource(source)) return staticProvider(source);
  if (source.kind === "profile") return registering(new NamedProfileProvider(source.profile));
  const builder = RAMRoleARNCredentialsProvider.builder()
    .withCredentialsProvider(providerFor(source.base))
    .withRoleArn(source.roleArn)
    .withRoleSessionName(source.sessionName ?? `pulumi-ens-keypair-${Date.now()}`);
  if (source.sessionExpiration !== undefined) builder.withDurationSeconds(source.sessionExpiration);
  if (source.policy) builder.withPolicy(source.policy);
  if (source.externalId) builder.withExternalId(source.externalId);
  if (source.stsEndpoint) builder.withStsEndpoint(source.stsEndpoint);
  return registering(builder.build());
}

function staticProvider(key: StaticAccessKey): CredentialsProvider {
  registerSecret(key.accessKeySecret, key.securityToken);
  return key.securityToken
    ? StaticSTSCredentialsProvider.builder().withAccessKeyId(key.accessKeyId).withAccessKeySecret(key.accessKeySecret).withSecurityToken(key.securityToken).build()
    : StaticAKCredentialsProvider.builder().withAccessKeyId(key.accessKeyId).withAccessKeySecret(key.accessKeySecret).build();
}

/** Registers whatever secret and token a provider hands out (a base key signing AssumeRole never reaches the client). */
function registering(inner: CredentialsProvider): CredentialsProvider {
  return {
    getProviderName: () => inner.getProviderName(),
    getCredentials: async () => {
      const c = await inner.getCredentials();
      registerSecret(c.accessKeySecret, c.securityToken);
      return c;
    },
  };
}

/** Paths the way `@alicloud/credentials` reads them (HOME at the time of the call; ALIBABA_CLOUD_CREDENTIALS_FILE). */
export function profileFiles(env: NodeJS.ProcessEnv = process.env): { cli: string; shared: string } {
  return {
    cli: path.join(os.homedir(), ".aliyun", "config.json"),
    shared: env.ALIBABA_CLOUD_CREDENTIALS_FILE || path.join(os.homedir(), ".alibabacloud", "credentials"),
  };
}

/**
 * A profile by name: the `aliyun` CLI's config (modes AK, StsToken, RamRoleArn, EcsRamRole, ChainableRamRoleArn,
 * CloudSSO, OAuth, External, as `@alicloud/credentials` supports them), else the section of the same name in the
 * shared credentials file (types access_key, ram_role_arn, ecs_ram_role). Resolved on first use, then kept.
 */
class NamedProfileProvider implements CredentialsProvider {
  private inner?: CredentialsProvider;

  constructor(private readonly profile: string) {}

  getProviderName(): string {
    return this.inner?.getProviderName() ?? "profile";
  }

  async getCredentials() {
    this.inner ??= this.resolve();
    return this.inner.getCredentials();
  }

  private resolve(): CredentialsProvider {
    const { cli, shared } = profileFiles();
    // Every secret in a file read here is registered for redaction, whichever profile is used.
    const cliProfiles = readCliProfiles(cli);
    for (const p of cliProfiles ?? []) registerSecret(p.access_key_secret, p.sts_token, p.oauth_access_token, p.oauth_refresh_token, p.access_token);
    const entry = cliProfiles?.find((p) => p.name === this.profile);
    if (entry) {
      if (process.env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED?.toLowerCase() === "true") {
        throw new Error(`profile "${this.profile}" is in ${cli}, but ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true turns the CLI profile off`);
      }
      return CLIProfileCredentialsProvider.builder().withProfileName(this.profile).build();
    }
    const section = readIniSection(shared, this.profile);
    if (section) {
      return ProfileCredentialsProvider.builder().withProfileName(this.profile).build();
    }
    const known = [...(cliProfiles ?? []).map((p) => p.name), ...iniSections(shared)];
    throw new Error(
      `no profile "${this.profile}" in ${cli} (aliyun configure --profile ${this.profile}) or ${shared}` +
        (known.length ? `; profiles there: ${[...new Set(known)].join(", ")}` : ""),
    );
  }
}

interface CliProfile {
  name?: string;
  access_key_secret?: string;
  sts_token?: string;
  oauth_access_token?: string;
  oauth_refresh_token?: string;
  access_token?: string;
}

function readCliProfiles(file: string): CliProfile[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    const profiles = (JSON.parse(text) as { profiles?: unknown }).profiles;
    return Array.isArray(profiles) ? (profiles as CliProfile[]) : [];
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message.replace(/ in JSON.*$/, "")}`);
  }
}

/** The `key = value` lines of one `[name]` section of an INI file, or undefined when there is no such section. */
function readIniSection(file: string, name: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      current = header[1].trim();
      if (current === name) found ??= {};
      continue;
    }
    const kv = /^\s*([^=#;\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv && /secret|token/i.test(kv[1])) registerSecret(kv[2]);
    if (kv && current === name && found) found[kv[1]] = kv[2];
  }
  return found;
}

function iniSections(file: string): string[] {
  try {
    return [...fs.readFileSync(file, "utf8").matchAll(/^\s*\[([^\]]+)\]\s*$/gm)].map((m) => m[1].trim());
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Settings: which source the stack config and the environment name.

/** Every `alicloud:*` key this provider reads; others are named once per process as unused. */
export const ALICLOUD_KEYS_USED = ["alicloud:accessKey", "alicloud:secretKey", "alicloud:securityToken", "alicloud:profile", "alicloud:assumeRole"];

const ASSUME_ROLE_FIELDS = ["roleArn", "sessionName", "sessionExpiration", "policy", "externalId"];
const ASSUME_ROLE_SHAPE = `{"roleArn": "acs:ram::<account>:role/<name>", "sessionName"?, "sessionExpiration"? (900-43200 s), "policy"?, "externalId"?}`;

/**
 * Which credentials to sign with, from stack config (`lookup`) and the environment. Stack config wins: its
 * access key, else its profile, else the environment's key, else the environment's profile; `alicloud:assumeRole`
 * (or ALICLOUD_ASSUME_ROLE_ARN) then assumes a role with that (or with the default chain when there is none).
 * Undefined: nothing named, the default chain decides. Throws, naming the setting, on a malformed value.
 */
export function credentialSettings(lookup: (key: string) => unknown, env: NodeJS.ProcessEnv): StaticAccessKey | CredentialSource | undefined {
  const text = (key: string) => {
    const v = lookup(key);
    return v === undefined || v === null || v === "" ? undefined : String(v);
  };
  const id = text("alicloud:accessKey");
  const secret = text("alicloud:secretKey");
  if (Boolean(id) !== Boolean(secret)) {
    throw new Error(`stack config has ${id ? "alicloud:accessKey but no alicloud:secretKey" : "alicloud:secretKey but no alicloud:accessKey"}: set both (pulumi config set --secret alicloud:secretKey ...)`);
  }
  const token = text("alicloud:securityToken");
  const profile = text("alicloud:profile");
  const envProfile = env.ALICLOUD_PROFILE ? "ALICLOUD_PROFILE" : env.ALIBABA_CLOUD_PROFILE ? "ALIBABA_CLOUD_PROFILE" : undefined;
  const base: StaticAccessKey | ProfileSource | undefined =
    id && secret ? { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) }
    : profile ? { kind: "profile", profile, from: "alicloud:profile" }
    : accessKeyFromEnv(env) ?? (envProfile ? { kind: "profile", profile: env[envProfile]!, from: envProfile } : undefined);

  const role = assumeRoleSettings(lookup("alicloud:assumeRole"), env);
  if (!role) return base;
  const sts = lookup("ens:stsEndpoint") ?? env.ENS_STS_ENDPOINT;
  return { ...role, ...(sts ? { stsEndpoint: stsHost(String(sts)) } : {}), ...(base ? { base } : {}) };
}

/**
 * Access keys from the environment: Alibaba's own variables first, then the ALICLOUD_* names that
 * Terraform and pulumi-alicloud read.
 */
export function accessKeyFromEnv(env: NodeJS.ProcessEnv = process.env): StaticAccessKey | undefined {
  const id = env.ALIBABA_CLOUD_ACCESS_KEY_ID || env.ALICLOUD_ACCESS_KEY;
  const secret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET || env.ALICLOUD_SECRET_KEY;
  if (!id || !secret) return undefined;
  const token = env.ALIBABA_CLOUD_SECURITY_TOKEN || env.ALICLOUD_SECURITY_TOKEN;
  return { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) };
}

function assumeRoleSettings(raw: unknown, env: NodeJS.ProcessEnv): Omit<AssumeRoleSource, "base" | "stsEndpoint"> | undefined {
  let value: Record<string, unknown>;
  let from = "alicloud:assumeRole";
  if (raw === undefined || raw === null || raw === "") {
    if (!env.ALICLOUD_ASSUME_ROLE_ARN) return undefined;
    from = "ALICLOUD_ASSUME_ROLE_ARN";
    value = {
      roleArn: env.ALICLOUD_ASSUME_ROLE_ARN,
      sessionName: env.ALICLOUD_ASSUME_ROLE_SESSION_NAME || undefined,
      sessionExpiration: env.ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION || undefined,
    };
  } else {
    let parsed = raw;
    if (typeof raw === "string") {
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Error(`alicloud:assumeRole must be an object ${ASSUME_ROLE_SHAPE}, got text that is not JSON: pulumi config set --path alicloud:assumeRole.roleArn acs:ram::...`);
      }
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`alicloud:assumeRole must be an object ${ASSUME_ROLE_SHAPE}`);
    value = parsed as Record<string, unknown>;
    const unknown = Object.keys(value).filter((k) => !ASSUME_ROLE_FIELDS.includes(k));
    if (unknown.length) throw new Error(`alicloud:assumeRole has unknown field(s) ${unknown.join(", ")}: the fields are ${ASSUME_ROLE_FIELDS.join(", ")}`);
  }
  const roleArn = value.roleArn;
  if (typeof roleArn !== "string" || !roleArn) throw new Error(`${from}: roleArn is required, such as acs:ram::<account>:role/<name>`);
  const str = (k: string) => (value[k] === undefined || value[k] === null || value[k] === "" ? undefined : String(value[k]));
  const rawExpiration = str("sessionExpiration");
  let sessionExpiration: number | undefined;
  if (rawExpiration !== undefined) {
    sessionExpiration = Number(rawExpiration);
    if (!Number.isInteger(sessionExpiration) || sessionExpiration < 900 || sessionExpiration > 43200) {
      throw new Error(`${from === "alicloud:assumeRole" ? from : "ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION"}: sessionExpiration must be whole seconds from 900 to 43200, got "${rawExpiration}"`);
    }
  }
  const policy = value.policy !== null && typeof value.policy === "object" ? JSON.stringify(value.policy) : str("policy");
  return { kind: "assumeRole", roleArn, sessionName: str("sessionName"), sessionExpiration, policy, externalId: str("externalId"), from };
}

/** `ens:stsEndpoint` / ENS_STS_ENDPOINT as the host[:port] `@alicloud/credentials` wants (it always uses HTTPS). */
function stsHost(raw: string): string {
  const m = /^(?:https:\/\/)?([^/\s?#]+)\/?$/i.exec(raw.trim());
  if (!m) throw new Error(`ens:stsEndpoint / ENS_STS_ENDPOINT must be a host[:port] or https://host[:port] (AssumeRole is sent over HTTPS only), got "${raw}"`);
  return m[1];
}

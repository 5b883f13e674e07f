import { AccessKey, ALICLOUD_KEYS_USED, credentialSettings, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_ENDPOINT, DEFAULT_READ_TIMEOUT_MS, EnsClient, isLoopbackHost, noCredentialsMessage, parseEndpoint } from "./ens";
import { createBudget, DEFAULT_BUDGET, DEFAULT_RETRY } from "./policies";
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { accountCredentials, AccountInput, noAccountCredentialsMessage } from "./account";
import { keepTagsInProcess } from "./protocol/local-tags";

/**
 * Run-time configuration of the provider process. Read when an operation runs (environment) or handed over by the
 * engine through `configure` (stack config); never captured into `__provider`, never in inputs or outputs.
 */
export interface ConfigSource {
  get(key: string): string | undefined;
  /** Every key of the stack config, when the source can list them. */
  keys?(): string[];
}

export interface Settings {
  endpoint: string;
  /** Where the endpoint came from when not the stack settings: errors name it. */
  endpointSource?: string;
  /** A static key, a CLI profile or a RAM role to assume (see credential-sources.ts); undefined: the default chain. */
  credentials?: AccessKey;
  maxConcurrentCalls: number;
  /** A ceiling: below it the budget learns ENS's quota from its throttling answers (see AdaptiveRate). */
  callsPerSecond?: number;
  pollIntervalMs: number;
  signatureAlgorithm?: "v2";
  /** diff reads ENS for the resource's instances (one DescribeInstances per 100) to see drift. */
  driftCheck: boolean;
  /** DNS, TCP and TLS of a new connection to ENS. */
  connectTimeoutSeconds: number;
  /** From connected to the end of ENS's answer. */
  readTimeoutSeconds: number;
  /** How long one ENS call is retried (throttling, 5xx, time-outs) before it fails. */
  retryDeadlineSeconds: number;
  /** false: the protocol's tags stay in this process, not in ENS (protocol/local-tags.ts). */
  ownershipTags: boolean;
}

let stackConfig: ConfigSource = { get: () => undefined };
/** One client per account (endpoint, credentials, settings): each with its own call budget and learnt rate. */
const clients = new Map<string, EnsClient>();
/** The `account` input of the resource whose operation is running (see withAccount). */
const operationAccount = new AsyncLocalStorage<{ account?: AccountInput }>();

/**
 * Runs one operation of a resource in its account: within it, readSettings() and getClient() (called without
 * arguments everywhere in the provider) are that account's, and module-level state keyed by instance ID can scope
 * itself with currentAccountKey().
 */
export function withAccount<T>(account: AccountInput | undefined, fn: () => Promise<T>): Promise<T> {
  return operationAccount.run({ account: account && typeof account === "object" ? account : undefined }, fn);
}

/** The account of the running operation; undefined outside one or for a resource without `account`. */
export function currentAccount(): AccountInput | undefined {
  return operationAccount.getStore()?.account;
}

/** Which ENS account settings reach, without a secret: the endpoint and the credentials' identity (key ID, profile, role). */
export function accountKey(settings: Pick<Settings, "endpoint" | "credentials">): string {
  return JSON.stringify([settings.endpoint, JSON.stringify(settings.credentials ?? null, (k, v) => (/secret|token/i.test(k) ? undefined : v))]);
}

/** accountKey of the running operation's account (the stack's outside an account); its raw fields if settings fail. */
export function currentAccountKey(): string {
  try {
    return accountKey(readSettings());
  } catch {
    const a = currentAccount();
    return JSON.stringify(["unresolved", a?.endpoint ?? null, a?.accessKey ?? null, a?.profile ?? null, a?.assumeRole?.roleArn ?? null]);
  }
}

/** Called once per provider process by the engine with the whole stack config. */
export function useStackConfig(config: ConfigSource): void {
  stackConfig = config;
  clients.clear();
  noteUnusedKeys(config);
}

let noted = false;

/**
 * pulumi-alicloud users carry `alicloud:region` and friends in their stacks: say once per provider process, in one
 * line, which `alicloud:*` keys this provider leaves alone, rather than ignore them silently.
 */
function noteUnusedKeys(config: ConfigSource): void {
  if (noted) return;
  noted = true;
  // The dynamic-provider host hands over a Config object whose rawConfig holds the whole stack config.
  const raw = (config as { rawConfig?: unknown }).rawConfig;
  const keys = raw && typeof raw === "object" ? Object.keys(raw) : config.keys?.() ?? [];
  const unused = keys.filter((k) => k.startsWith("alicloud:") && !ALICLOUD_KEYS_USED.includes(k)).sort();
  if (unused.length) {
    console.log(`note: pulumi-ens-keypair does not use stack config ${unused.join(", ")}: it reads ${ALICLOUD_KEYS_USED.join(", ")} (and ens:* settings; ENS has one endpoint, ens:endpoint, for every region)`);
  }
}

/** Stack config wins over the environment: `ens:endpoint` / ENS_ENDPOINT, `alicloud:accessKey` / ALIBABA_CLOUD_ACCESS_KEY_ID ... */
export function readSettings(env: NodeJS.ProcessEnv = process.env, config: ConfigSource = stackConfig, account: AccountInput | undefined = currentAccount()): Settings {
  const pick = (cfg: string, ...vars: string[]) => config.get(cfg) || vars.map((v) => env[v]).find((v) => v);
  // The resource's account first (account.endpoint, ...), field by field; then the stack settings (see account.ts).
  const rawEndpoint = account?.endpoint || (pick("ens:endpoint", "ENS_ENDPOINT") ?? DEFAULT_ENDPOINT);
  let endpoint: string;
  try {
    endpoint = parseEndpoint(rawEndpoint).url;
  } catch (e) {
    throw new Error(`ENS endpoint (${account?.endpoint ? "the resource's account.endpoint" : "stack config ens:endpoint or ENS_ENDPOINT"}): ${(e as Error).message}`);
  }

  // Keys, a CLI profile (alicloud:profile) or a role to assume (alicloud:assumeRole): see credential-sources.ts.
  const credentials = account ? accountCredentials(account, (key) => config.get(key), env) : credentialSettings((key) => config.get(key), env);
  if (!credentials && isLoopbackHost(parseEndpoint(endpoint).host)) {
    // Without keys @alicloud/credentials would go on to ECS metadata and other sources, none of which a local endpoint wants.
    throw new Error(account ? noAccountCredentialsMessage(endpoint) : noCredentialsMessage(endpoint));
  }
  return {
    endpoint,
    ...(account?.endpoint ? { endpointSource: "from the resource's account.endpoint" } : {}),
    credentials,
    maxConcurrentCalls: positiveInt(pick("ens:maxConcurrentCalls", "ENS_MAX_CONCURRENT_CALLS"), DEFAULT_BUDGET.maxConcurrent, "ens:maxConcurrentCalls / ENS_MAX_CONCURRENT_CALLS"),
    callsPerSecond: positiveInt(pick("ens:callsPerSecond", "ENS_CALLS_PER_SECOND"), DEFAULT_BUDGET.perSecond, "ens:callsPerSecond / ENS_CALLS_PER_SECOND"),
    pollIntervalMs: positiveInt(pick("ens:pollIntervalMs", "ENS_POLL_INTERVAL_MS"), 2000, "ens:pollIntervalMs / ENS_POLL_INTERVAL_MS"),
    signatureAlgorithm: pick("ens:signatureAlgorithm", "ENS_SIGNATURE_ALGORITHM") === "v2" ? "v2" : undefined,
    driftCheck: boolSetting(pick("ens:driftCheck", "ENS_DRIFT_CHECK"), true, "ens:driftCheck / ENS_DRIFT_CHECK"),
    connectTimeoutSeconds: positiveSeconds(pick("ens:connectTimeoutSeconds", "ENS_CONNECT_TIMEOUT_SECONDS"), DEFAULT_CONNECT_TIMEOUT_MS / 1000, "ens:connectTimeoutSeconds / ENS_CONNECT_TIMEOUT_SECONDS"),
    readTimeoutSeconds: positiveSeconds(pick("ens:readTimeoutSeconds", "ENS_READ_TIMEOUT_SECONDS"), DEFAULT_READ_TIMEOUT_MS / 1000, "ens:readTimeoutSeconds / ENS_READ_TIMEOUT_SECONDS"),
    retryDeadlineSeconds: positiveSeconds(pick("ens:retryDeadlineSeconds", "ENS_RETRY_DEADLINE_SECONDS"), DEFAULT_RETRY.deadlineMs / 1000, "ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS"),
    ownershipTags: boolSetting(pick("ens:ownershipTags", "ENS_OWNERSHIP_TAGS"), true, "ens:ownershipTags / ENS_OWNERSHIP_TAGS"),
  };
}

/**
 * The client of an account: every resource of that account (same endpoint, credentials and settings) shares its
 * concurrency and rate budget, and so the rate learnt from ENS's throttling answers; another account has its own.
 */
export function getClient(settings: Settings = readSettings()): EnsClient {
  // The account (endpoint, credentials without their secrets), the settings, and a digest that tells apart two
  // secrets of one key ID.
  const wire = [settings.connectTimeoutSeconds, settings.readTimeoutSeconds, settings.retryDeadlineSeconds];
  const key = JSON.stringify([accountKey(settings), settings.maxConcurrentCalls, settings.callsPerSecond, settings.signatureAlgorithm, wire, settings.ownershipTags, secretsDigest(settings), settings.endpointSource]);
  let client = clients.get(key);
  if (!client) {
    const { protocol, host } = parseEndpoint(settings.endpoint);
    if (protocol === "http" && !isLoopbackHost(host)) {
      console.error(`warning: ENS endpoint ${settings.endpoint} uses plain HTTP: requests (signed, but readable) cross the network unencrypted; use https`);
    }
    const budget = createBudget({ maxConcurrent: settings.maxConcurrentCalls, perSecond: settings.callsPerSecond });
    const created = new EnsClient({
      endpoint: settings.endpoint,
      endpointSource: settings.endpointSource,
      credentials: settings.credentials,
      budget,
      signatureAlgorithm: settings.signatureAlgorithm,
      connectTimeoutMs: settings.connectTimeoutSeconds * 1000,
      readTimeoutMs: settings.readTimeoutSeconds * 1000,
      retry: { ...DEFAULT_RETRY, deadlineMs: settings.retryDeadlineSeconds * 1000 },
    });
    client = settings.ownershipTags ? created : keepTagsInProcess(created);
    clients.set(key, client);
  }
  return client;
}

/**
 * The endpoint an account reaches (its own, else the stack's, else ENS's public one), normalized; no credential is
 * needed or checked. Two accounts with different ones are different ENS: a change is a replacement.
 */
export function endpointOf(account: { endpoint?: unknown } | undefined, env: NodeJS.ProcessEnv = process.env, config: ConfigSource = stackConfig): string {
  const own = account && typeof account === "object" && typeof account.endpoint === "string" ? account.endpoint : undefined;
  const raw = own || config.get("ens:endpoint") || env.ENS_ENDPOINT || DEFAULT_ENDPOINT;
  try {
    return parseEndpoint(raw).url;
  } catch {
    return raw;
  }
}

/**
 * Tells apart credentials with the same key ID and different secrets (one of them wrong: it must not sign for the
 * other), without keeping a secret in the key: a digest, in this process's memory only.
 */
function secretsDigest(settings: Settings): string {
  return createHash("sha256").update(JSON.stringify(settings.credentials ?? null)).digest("base64").slice(0, 16);
}

function boolSetting(raw: string | undefined, fallback: boolean, name: string): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`${name} (stack config / environment) must be true or false, got "${raw}"`);
}

/** Seconds, fractions allowed (0.5), at most a day. */
function positiveSeconds(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new Error(`${name} (stack config / environment) must be a number of seconds above 0 and at most 86400, got "${raw}"`);
  return n;
}

function positiveInt(raw: string | undefined, fallback: number | undefined, name: string): number {
  if (raw === undefined || raw === "") return fallback as number;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} (stack config / environment) must be a whole number of at least 1, got "${raw}"`);
  return n;
}

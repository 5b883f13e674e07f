import { AccessKey, ALICLOUD_KEYS_USED, credentialSettings, DEFAULT_ENDPOINT, EnsClient, isLoopbackHost, noCredentialsMessage, parseEndpoint } from "./ens";
import { createBudget, DEFAULT_BUDGET } from "./policies";

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
  /** A static key, a CLI profile or a RAM role to assume (see credential-sources.ts); undefined: the default chain. */
  credentials?: AccessKey;
  maxConcurrentCalls: number;
  /** A ceiling: below it the budget learns ENS's quota from its throttling answers (see AdaptiveRate). */
  callsPerSecond?: number;
  pollIntervalMs: number;
  signatureAlgorithm?: "v2";
  /** diff reads ENS for the resource's instances (one DescribeInstances per 100) to see drift. */
  driftCheck: boolean;
}

let stackConfig: ConfigSource = { get: () => undefined };
let cached: { key: string; client: EnsClient } | undefined;

/** Called once per provider process by the engine with the whole stack config. */
export function useStackConfig(config: ConfigSource): void {
  stackConfig = config;
  cached = undefined;
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
export function readSettings(env: NodeJS.ProcessEnv = process.env, config: ConfigSource = stackConfig): Settings {
  const pick = (cfg: string, ...vars: string[]) => config.get(cfg) || vars.map((v) => env[v]).find((v) => v);
  const rawEndpoint = pick("ens:endpoint", "ENS_ENDPOINT") ?? DEFAULT_ENDPOINT;
  let endpoint: string;
  try {
    endpoint = parseEndpoint(rawEndpoint).url;
  } catch (e) {
    throw new Error(`ENS endpoint (stack config ens:endpoint or ENS_ENDPOINT): ${(e as Error).message}`);
  }

  // Keys, a CLI profile (alicloud:profile) or a role to assume (alicloud:assumeRole): see credential-sources.ts.
  const credentials = credentialSettings((key) => config.get(key), env);
  if (!credentials && isLoopbackHost(parseEndpoint(endpoint).host)) {
    // Without keys @alicloud/credentials would go on to ECS metadata and other sources, none of which a local endpoint wants.
    throw new Error(noCredentialsMessage(endpoint));
  }
  return {
    endpoint,
    credentials,
    maxConcurrentCalls: positiveInt(pick("ens:maxConcurrentCalls", "ENS_MAX_CONCURRENT_CALLS"), DEFAULT_BUDGET.maxConcurrent, "ens:maxConcurrentCalls / ENS_MAX_CONCURRENT_CALLS"),
    callsPerSecond: positiveInt(pick("ens:callsPerSecond", "ENS_CALLS_PER_SECOND"), DEFAULT_BUDGET.perSecond, "ens:callsPerSecond / ENS_CALLS_PER_SECOND"),
    pollIntervalMs: positiveInt(pick("ens:pollIntervalMs", "ENS_POLL_INTERVAL_MS"), 2000, "ens:pollIntervalMs / ENS_POLL_INTERVAL_MS"),
    signatureAlgorithm: pick("ens:signatureAlgorithm", "ENS_SIGNATURE_ALGORITHM") === "v2" ? "v2" : undefined,
    driftCheck: boolSetting(pick("ens:driftCheck", "ENS_DRIFT_CHECK"), true, "ens:driftCheck / ENS_DRIFT_CHECK"),
  };
}

/**
 * The one client of this process: every resource the engine sends here shares its concurrency and rate budget,
 * and so the rate learnt from ENS's throttling answers.
 */
export function getClient(settings: Settings = readSettings()): EnsClient {
  // Which credentials, without their secrets (key IDs, profile, role and its options).
  const credentials = JSON.stringify(settings.credentials ?? null, (k, v) => (/secret|token/i.test(k) ? undefined : v));
  const key = JSON.stringify([settings.endpoint, credentials, settings.maxConcurrentCalls, settings.callsPerSecond, settings.signatureAlgorithm]);
  if (cached?.key !== key) {
    const { protocol, host } = parseEndpoint(settings.endpoint);
    if (protocol === "http" && !isLoopbackHost(host)) {
      console.error(`warning: ENS endpoint ${settings.endpoint} uses plain HTTP: requests (signed, but readable) cross the network unencrypted; use https`);
    }
    const budget = createBudget({ maxConcurrent: settings.maxConcurrentCalls, perSecond: settings.callsPerSecond });
    cached = { key, client: new EnsClient({ endpoint: settings.endpoint, credentials: settings.credentials, budget, signatureAlgorithm: settings.signatureAlgorithm }) };
  }
  return cached.client;
}

function boolSetting(raw: string | undefined, fallback: boolean, name: string): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`${name} (stack config / environment) must be true or false, got "${raw}"`);
}

function positiveInt(raw: string | undefined, fallback: number | undefined, name: string): number {
  if (raw === undefined || raw === "") return fallback as number;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} (stack config / environment) must be a whole number of at least 1, got "${raw}"`);
  return n;
}

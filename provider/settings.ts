import { AccessKey, accessKeyFromEnv, DEFAULT_ENDPOINT, EnsClient, isLoopbackHost, noCredentialsMessage, parseEndpoint } from "./ens";
import { createBudget, DEFAULT_BUDGET } from "./policies";

/**
 * Run-time configuration of the provider process. Read when an operation runs (environment) or handed over by the
 * engine through `configure` (stack config); never captured into `__provider`, never in inputs or outputs.
 */
export interface ConfigSource {
  get(key: string): string | undefined;
}

export interface Settings {
  endpoint: string;
  credentials?: AccessKey;
  maxConcurrentCalls: number;
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

  const id = config.get("alicloud:accessKey");
  const secret = config.get("alicloud:secretKey");
  if (Boolean(id) !== Boolean(secret)) {
    throw new Error(`stack config has ${id ? "alicloud:accessKey but no alicloud:secretKey" : "alicloud:secretKey but no alicloud:accessKey"}: set both (pulumi config set --secret alicloud:secretKey ...)`);
  }
  const token = config.get("alicloud:securityToken");
  const credentials: AccessKey | undefined = id && secret ? { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) } : accessKeyFromEnv(env);
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
 * The one client of this process: every resource the engine sends here shares its concurrency and rate budget.
 */
export function getClient(settings: Settings = readSettings()): EnsClient {
  const key = JSON.stringify([settings.endpoint, settings.credentials?.accessKeyId, settings.maxConcurrentCalls, settings.callsPerSecond, settings.signatureAlgorithm]);
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

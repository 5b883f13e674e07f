import { EmulatorOptions, RunningEmulator, startEmulator } from "../../emulator";
import { provider, setLogger } from "../../provider";

/** A fresh emulator per test file, with the provider pointed at it through the environment, as users configure it. */
export async function providerOnEmulator(opts: EmulatorOptions = {}) {
  const emu = await startEmulator({ stopDelayMs: 30, startDelayMs: 30, ...opts });
  const saved = { ...process.env };
  Object.assign(process.env, {
    ENS_ENDPOINT: emu.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret,
    ENS_POLL_INTERVAL_MS: "20",
    ENS_CALLS_PER_SECOND: "1000",
    ENS_CLAIM_SETTLE_MS: "5",
    // The old bound of about 30 s of retries: tests of spent retries stay short (the default is minutes).
    ENS_RETRY_DEADLINE_SECONDS: "30",
  });
  const logs: string[] = [];
  setLogger({ info: (l) => logs.push(l), warn: (l) => logs.push(`warning: ${l}`) });
  return {
    emu,
    provider,
    logs,
    /** Calls per action since the last `clearJournal`. */
    calls(action: string) {
      return emu.journal().filter((j) => j.action === action);
    },
    clearJournal() {
      emu.reset();
    },
    async close() {
      process.env = saved;
      await emu.close();
    },
  };
}

export type ProviderEnv = Awaited<ReturnType<typeof providerOnEmulator>>;

export const instanceIds = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);

/**
 * Inputs as check() returns them (defaults applied), plus the serialized-provider marker the engine adds. For an
 * update the engine hands check the old inputs: pass them as `olds`.
 */
export async function checked(env: ProviderEnv, news: Record<string, unknown>, olds: object = {}) {
  const res = await env.provider.check(olds, { __provider: "PROVIDER-TEXT", ...news });
  if (res.failures.length) throw new Error(JSON.stringify(res.failures));
  return res.inputs;
}

export function keyOf(emu: RunningEmulator, name: string): { keyPairId: string; keyPairName: string } {
  const kp = emu.state().keyPairs.find((k: any) => k.keyPairName === name);
  if (!kp) throw new Error(`no key pair ${name}`);
  return { keyPairId: kp.keyPairId, keyPairName: kp.keyPairName };
}

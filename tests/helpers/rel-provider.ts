/**
 * The provider in this process against an emulator with the reliability suite's access key; one operation at a time
 * with its figures (wall time, retries the client made, faults the emulator injected) and its outcome.
 */
import { EmulatorOptions } from "../../emulator";
import { getClient } from "../../provider/settings";
import { providerOnEmulator, ProviderEnv } from "./provider-env";
import { JournalCursor } from "./rel-emu";
import { REL_KEYS, scanArtifact } from "./rel-secrets";

export type RelEnv = ProviderEnv & { cursor: JournalCursor };

export async function relProvider(opts: EmulatorOptions = {}, env: Record<string, string | undefined> = {}): Promise<RelEnv> {
  const base = await providerOnEmulator({ accessKeys: REL_KEYS, ...opts });
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return Object.assign(base, { cursor: new JournalCursor(base.emu) });
}

export interface Outcome<T> {
  ok: boolean;
  value?: T;
  error?: any;
  ms: number;
  retries: number;
  faults: Record<string, number>;
  calls: number;
}

/**
 * Runs one provider operation, catching its error. Marks the journal cursor first, so `env.cursor` afterwards holds
 * exactly this operation's calls. The error message and the journal are scanned for the secret.
 */
export async function observe<T>(env: RelEnv, op: () => Promise<T>): Promise<Outcome<T>> {
  env.cursor.mark();
  const client = getClient();
  const retries0 = client.stats.retries;
  const t0 = Date.now();
  let out: Outcome<T>;
  try {
    out = { ok: true, value: await op(), ms: 0, retries: 0, faults: {}, calls: 0 };
  } catch (error) {
    out = { ok: false, error, ms: 0, retries: 0, faults: {}, calls: 0 };
    scanArtifact("provider error", `${(error as Error)?.message}\n${(error as Error)?.stack}\n${JSON.stringify(error)}`);
  }
  out.ms = Date.now() - t0;
  out.retries = getClient().stats.retries - retries0;
  out.faults = env.cursor.faults();
  out.calls = env.cursor.calls();
  scanArtifact("emulator journal", JSON.stringify(env.cursor.entries()));
  scanArtifact("provider log", env.logs.join("\n"));
  return out;
}

/** Instance IDs named by the per-instance lines of an error ("<id>: <Action> failed: <code>: ..."), partial-state or not. */
export const failedIds = (error: any): string[] => {
  const lines: string[] = error?.reasons ?? String(error?.message ?? "").split("\n");
  return [...new Set(lines.map((l) => /^(i-[A-Za-z0-9]+): /.exec(l)?.[1]).filter((x): x is string => !!x))].sort();
};

/** `olds` as the engine keeps them after an operation: its outputs, or the partial state of its error. */
export const stateAfter = (o: Outcome<any>, before: Record<string, any>): Record<string, any> =>
  o.ok ? (o.value?.outs ?? before) : o.error?.properties ?? before;

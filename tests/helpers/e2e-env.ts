import path from "node:path";
import { EmulatorOptions, RunningEmulator, startEmulator } from "../../emulator";
import { programFolder } from "./installed-package";
import { PulumiStack } from "./pulumi-cli";

const PROGRAM = path.join(__dirname, "../e2e/program");

export interface E2E {
  emu: RunningEmulator;
  stack: PulumiStack;
  keyPairId: string;
  ids(from: number, count: number): string[];
  /** Attach/Detach calls with their instance lists since the last `mark()`. */
  calls(action: string): string[][];
  mark(): void;
  close(): Promise<void>;
}

/** A fresh emulator, a fresh local backend and a fresh stack; credentials in the environment unless `credentialsInEnv` is false. */
export async function e2eStack(opts: EmulatorOptions & { credentialsInEnv?: boolean } = {}): Promise<E2E> {
  const emu = await startEmulator({ instances: 120, stopDelayMs: 50, startDelayMs: 50, seed: { keyPairs: [{ keyPairName: "e2e-key" }] }, ...opts });
  const keyPairId = emu.state().keyPairs.find((k) => k.keyPairName === "e2e-key")!.keyPairId;
  const env: Record<string, string> = { ENS_ENDPOINT: emu.url, ENS_POLL_INTERVAL_MS: "50" };
  if (opts.credentialsInEnv !== false) Object.assign(env, { ALIBABA_CLOUD_ACCESS_KEY_ID: emu.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: emu.accessKeySecret });
  const stack = new PulumiStack(programFolder(PROGRAM), env);
  await stack.init();
  let since = 0;
  return {
    emu,
    stack,
    keyPairId,
    ids: (from, count) => Array.from({ length: count }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`),
    calls: (action) => emu.journal().slice(since).filter((j) => j.action === action && j.httpStatus === 200).map((j) => JSON.parse(j.params.InstanceIds)),
    mark: () => {
      since = emu.journal().length;
    },
    close: () => emu.close(),
  };
}

export const boundTo = (emu: RunningEmulator, name: string) => emu.state().instances.filter((i) => i.keyPairName === name).map((i) => i.instanceId).sort();

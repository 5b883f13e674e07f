import { spawn } from "node:child_process";
import { join } from "node:path";
import { LEASE_TAG, leaseValue, OWNER_TAG, ownerTagValue } from "../../provider/protocol";
import { keyOf, ProviderEnv } from "./provider-env";

/**
 * What a killed create leaves for an owner no state holds (FINDINGS.md F9), crafted: `bound` Stopped under the run's
 * lease, carrying `keyName` and the owner's claim (fresh for 10 minutes, as a dead run's is); `stopped` under the
 * lease only. The lease expired `agoMs` ago (negative: still live).
 */
export function leftover(env: ProviderEnv, bound: string[], stopped: string[], o: { owner: string; agoMs?: number; keyName?: string }) {
  const keyName = o.keyName ?? "key-a";
  const lease = leaseValue("0badc0de", o.owner, Date.now() - (o.agoMs ?? 5_000), { maxStopped: 10 });
  for (const id of [...bound, ...stopped]) {
    env.emu.world.setInstanceStatus(id, "Stopped");
    env.emu.world.setInstanceTags(id, { [LEASE_TAG]: lease });
  }
  for (const id of bound) {
    env.emu.world.setInstanceKey(id, keyName);
    env.emu.world.setInstanceTags(id, { [OWNER_TAG]: ownerTagValue(keyOf(env.emu, keyName).keyPairId, o.owner, Date.now() + 600_000) });
  }
}

/** Runs the built bin (dist/) against the emulator; spawned, not spawnSync: the emulator answers from this process. */
export function recoverBin(env: ProviderEnv, args: string[], extra: Record<string, string> = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const vars = { PATH: process.env.PATH, ENS_ENDPOINT: env.emu.url, ALIBABA_CLOUD_ACCESS_KEY_ID: env.emu.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: env.emu.accessKeySecret, ENS_POLL_INTERVAL_MS: "20", ...extra };
    const child = spawn(process.execPath, [join(__dirname, "../../dist/provider/recover-cli.js"), ...args], { env: vars });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

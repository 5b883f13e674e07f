/**
 * What the `ens-emulator` CLI starts with and says about it: the built-in demo world (`--demo`, the key pair the
 * README and the examples use, shipped inside the package so it works from `npx`), extra key pairs by name
 * (`--key-pair NAME`), and a banner counting what it serves and saying how to add what is missing.
 */
import { readFileSync } from "node:fs";
import { ADMIN_PREFIX } from "./server";
import type { EmulatorSeed, RunningEmulator } from "./types";

/** `--demo`: key pair `demo-key` = `ssh-demo0000000001`, what the examples default to (= examples/demo-seed.json). */
export const DEMO_SEED: EmulatorSeed = { keyPairs: [{ keyPairName: "demo-key", keyPairId: "ssh-demo0000000001" }] };

/** The seed for `--seed FILE`, `--demo` and `--key-pair NAME` together: the file path alone as before, else one seed. */
export function cliSeed(file: string | undefined, demo: boolean, keyPairNames: string[]): string | EmulatorSeed | undefined {
  if (!demo && !keyPairNames.length) return file;
  let base: EmulatorSeed = {};
  if (file) {
    try {
      base = JSON.parse(readFileSync(file, "utf8")) as EmulatorSeed;
    } catch (e) {
      throw new Error(`cannot read seed file ${file}: ${(e as Error).message}`);
    }
  }
  const extra = [...(demo ? DEMO_SEED.keyPairs ?? [] : []), ...keyPairNames.map((keyPairName) => ({ keyPairName }))];
  return { ...base, keyPairs: [...(Array.isArray(base.keyPairs) ? base.keyPairs : []), ...extra] };
}

/** The lines printed after the URL: what the world holds, and how to add a key pair or instances when it has none. */
export function bannerLines(emu: RunningEmulator): string[] {
  const { instances, keyPairs } = emu.state();
  const byStatus = new Map<string, number>();
  for (const i of instances) byStatus.set(i.status, (byStatus.get(i.status) ?? 0) + 1);
  const statuses = [...byStatus].map(([s, n]) => `${n} ${s}`).join(", ");
  const names = keyPairs.slice(0, 3).map((k) => `${k.keyPairName} (${k.keyPairId})`).join(", ") + (keyPairs.length > 3 ? `, ... ${keyPairs.length - 3} more` : "");
  const world = `${emu.url}${ADMIN_PREFIX}world`;
  const lines = [
    `serving ${instances.length} instance(s)${instances.length ? ` (${statuses})` : ""} and ${keyPairs.length} key pair(s)${keyPairs.length ? `: ${names}` : ""}`,
  ];
  if (!keyPairs.length) {
    lines.push(`no key pair yet: start with --demo (demo-key = ssh-demo0000000001) or --key-pair NAME, or add one now: curl -s -XPOST ${world} -d '{"op":"addKeyPair","keyPairName":"my-key"}'`);
  }
  if (!instances.length) {
    lines.push(`no instance yet: start with --instances N, or add some now: curl -s -XPOST ${world} -d '{"op":"addInstances","count":10}'`);
  }
  return lines;
}

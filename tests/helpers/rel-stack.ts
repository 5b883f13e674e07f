/**
 * The real Pulumi CLI driving the package installed from `npm pack`, for the reliability suite: like e2e-env, but
 * with the distinctive access key of rel-secrets, a choice of program, config written in one step, and every CLI
 * output and backend file handed to the secret scanner.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EmulatorOptions, RunningEmulator, startEmulator } from "../../emulator";
import { programFolder } from "./installed-package";
import { PulumiResult, PulumiStack } from "./pulumi-cli";
import { REL_KEYS, REL_ACCESS_KEY_ID, REL_SECRET, scanArtifact, scanTree } from "./rel-secrets";

export const E2E_PROGRAM = path.join(__dirname, "../e2e/program");
/** Takes config `args` (a JSON object) and passes it verbatim to one KeyPairAttachment: any type, any key. */
export const RAW_PROGRAM = path.join(__dirname, "../reliability/programs/raw-args");
/** Takes config `count`, `keyPairIds` and `idsPerResource`: one KeyPairAttachment per key pair. */
export const MANY_PROGRAM = path.join(__dirname, "../reliability/programs/many");


/** A stack whose every run is scanned for the secret. */
export class RelStack extends PulumiStack {
  readonly runs: { args: string[]; result: PulumiResult; ms: number }[] = [];

  /** `scan: false` only for output that Pulumi documents as possibly holding secrets (engine logs at -v=9). */
  async run(args: string[], opts: { allowFailure?: boolean; onStdout?: (chunk: string) => void; scan?: boolean } = {}): Promise<PulumiResult> {
    const t0 = Date.now();
    const result = await super.run(args, { ...opts, allowFailure: true });
    this.runs.push({ args, result, ms: Date.now() - t0 });
    if (opts.scan !== false) {
      scanArtifact(`pulumi ${args[0]} stdout`, result.stdout);
      scanArtifact(`pulumi ${args[0]} stderr`, result.stderr);
    }
    if (result.code !== 0 && !opts.allowFailure) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  /** The project name from Pulumi.yaml (config keys are `<project>:<key>`). */
  get project(): string {
    return /^name:\s*(\S+)/m.exec(fs.readFileSync(path.join(this.dir, "Pulumi.yaml"), "utf8"))![1];
  }

  /**
   * Replaces the plain config of stack `name` in one write (YAML is a superset of JSON), keeping its encryption salt.
   * Keys without a namespace get the project's; values that are not strings are written as JSON text.
   */
  writeConfig(values: Record<string, unknown>, name = "e2e"): void {
    const file = path.join(this.dir, `Pulumi.${name}.yaml`);
    const salt = fs.existsSync(file) ? /^encryptionsalt:\s*(\S+)/m.exec(fs.readFileSync(file, "utf8"))?.[1] : undefined;
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) config[k.includes(":") ? k : `${this.project}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    fs.writeFileSync(file, JSON.stringify({ ...(salt ? { encryptionsalt: salt } : {}), config }, null, 1));
  }

  /** Scans the backend (state, history, backups, locks) and PULUMI_HOME (logs, workspace files). */
  scanFiles(): number {
    return scanTree("backend", this.backend) + scanTree("pulumi-home", this.home) + scanTree("program", this.dir);
  }

  /** The stack export, scanned, with the KeyPairAttachment resources. */
  async exportResources(name?: string): Promise<{ text: string; resources: any[]; pending: any[] }> {
    const text = (await this.run(["stack", "export", ...(name ? ["--stack", name] : [])])).stdout;
    scanArtifact("stack export", text);
    const deployment = JSON.parse(text).deployment ?? {};
    const resources = (deployment.resources ?? []).filter((r: any) => r.type === "pulumi-nodejs:dynamic/ens:KeyPairAttachment");
    return { text, resources, pending: deployment.pending_operations ?? [] };
  }
}

export interface RelE2E {
  emu: RunningEmulator;
  stack: RelStack;
  keyPairId: string;
  close(): Promise<void>;
}

/**
 * A fresh emulator (distinctive access key, key pair "rel-key" plus any seeded), a fresh backend and a stack of `program`.
 * `env` adds to (or, with undefined values, removes from) the provider's environment.
 */
export async function relStack(
  o: EmulatorOptions & { program?: string; env?: Record<string, string | undefined>; stackName?: string } = {},
): Promise<RelE2E> {
  const { program = E2E_PROGRAM, env = {}, stackName = "e2e", ...emuOpts } = o;
  const seed = typeof emuOpts.seed === "object" ? emuOpts.seed : {};
  const emu = await startEmulator({
    instances: 120,
    stopDelayMs: 50,
    startDelayMs: 50,
    accessKeys: REL_KEYS,
    ...emuOpts,
    seed: { ...seed, keyPairs: [{ keyPairName: "rel-key" }, ...(seed.keyPairs ?? [])] },
  });
  const keyPairId = emu.state().keyPairs.find((k) => k.keyPairName === "rel-key")!.keyPairId;
  const full: Record<string, string | undefined> = {
    ENS_ENDPOINT: emu.url,
    ENS_POLL_INTERVAL_MS: "50",
    ALIBABA_CLOUD_ACCESS_KEY_ID: REL_ACCESS_KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: REL_SECRET,
    ...env,
  };
  const stack = new RelStack(programFolder(program), Object.fromEntries(Object.entries(full).filter(([, v]) => v !== undefined)) as Record<string, string>);
  await stack.init(stackName);
  return { emu, stack, keyPairId, close: () => emu.close() };
}

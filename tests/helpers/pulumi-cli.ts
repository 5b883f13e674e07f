import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./installed-package";

let binDir: string | undefined;

/** The directory with pulumi, pulumi-language-nodejs and pulumi-resource-pulumi-nodejs (built and cached if needed). */
export function pulumiBinDir(): string {
  if (!binDir) {
    const out = execFileSync("bash", [path.join(ROOT, "scripts/ensure-pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    binDir = out.trim().split("\n").pop()!;
  }
  return binDir;
}

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One Pulumi project folder with its own local file backend and stack: nothing shared between tests. */
export class PulumiStack {
  readonly home: string;
  readonly backend: string;
  env: Record<string, string>;

  constructor(readonly dir: string, env: Record<string, string>) {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-home-"));
    this.backend = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-backend-"));
    this.env = {
      PATH: `${pulumiBinDir()}:${process.env.PATH}`,
      HOME: process.env.HOME ?? this.home,
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.backend}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
      ...env,
    };
  }

  /** Runs the CLI asynchronously: the emulator answering it lives in this process. */
  run(args: string[], opts: { allowFailure?: boolean; onStdout?: (chunk: string) => void } = {}): Promise<PulumiResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: this.env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
        opts.onStdout?.(String(d));
      });
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        const res = { code: code ?? -1, stdout, stderr };
        if (res.code !== 0 && !opts.allowFailure) reject(new Error(`pulumi ${args.join(" ")} exited ${res.code}\n${stdout}\n${stderr}`));
        else resolve(res);
      });
    });
  }

  spawnRaw(args: string[]) {
    return spawn("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: this.env, detached: true });
  }

  async init(name = "e2e"): Promise<void> {
    await this.run(["stack", "init", name]);
  }

  async config(values: Record<string, string | number | boolean | string[]>, secret: string[] = []): Promise<void> {
    for (const [k, v] of Object.entries(values)) {
      const text = Array.isArray(v) ? JSON.stringify(v) : String(v);
      await this.run(["config", "set", ...(secret.includes(k) ? ["--secret"] : []), k, text]);
    }
  }

  async outputs(): Promise<Record<string, any>> {
    return JSON.parse((await this.run(["stack", "output", "--json", "--show-secrets"])).stdout);
  }

  async exportState(): Promise<{ text: string; resource: any }> {
    const text = (await this.run(["stack", "export"])).stdout;
    const deployment = JSON.parse(text).deployment;
    const resource = (deployment.resources ?? []).find((r: any) => r.type === "pulumi-nodejs:dynamic/ens:KeyPairAttachment");
    return { text, resource };
  }
}

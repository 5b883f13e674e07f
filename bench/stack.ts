/**
 * The stack scenarios 5 and 7 run through the Pulumi CLI: `count` resources of `per` instances each, either
 * KeyPairAttachments from the package as users install it, or no-op dynamic resources of the same shape (what the
 * engine itself costs).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PulumiStack } from "../tests/helpers/pulumi-cli";
import { BenchEnv } from "./lib";

const PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const cfg = new pulumi.Config();
const count = cfg.requireNumber("count");
const per = cfg.requireNumber("per");
const ids = (r) => Array.from({ length: per }, (_, i) => "i-emu" + String(r * per + i + 1).padStart(8, "0"));
if (cfg.require("mode") === "noop") {
  const noop = { async create(inputs) { return { id: "noop", outs: inputs }; } };
  for (let r = 0; r < count; r++) new pulumi.dynamic.Resource(noop, "r" + r, { instanceIds: ids(r) });
} else {
  const { KeyPairAttachment } = require("pulumi-ens-keypair");
  for (let r = 0; r < count; r++) new KeyPairAttachment("a" + r, { keyPairId: cfg.require("keyPairId"), instanceIds: ids(r) });
}
`;

export type StackMode = "noop" | "attachments";

/** A fresh stack of that program over the installed package in `appDir`; its folders are added to `temp`. */
export async function benchStack(appDir: string, env: BenchEnv, temp: string[], cfg: { mode: StackMode; count: number; per: number }): Promise<PulumiStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-bench-prog-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: ens-keypair-bench\nruntime: nodejs\n");
  fs.writeFileSync(path.join(dir, "index.js"), PROGRAM);
  fs.copyFileSync(path.join(appDir, "package.json"), path.join(dir, "package.json"));
  fs.symlinkSync(path.join(appDir, "node_modules"), path.join(dir, "node_modules"));
  const stack = new PulumiStack(dir, envOf(env));
  temp.push(dir, stack.home, stack.backend);
  await stack.init("bench");
  await stack.config({ ...cfg, keyPairId: env.keyPairId });
  return stack;
}

/** The provider's environment: the emulator's endpoint and credential. */
export function envOf(env: BenchEnv): Record<string, string> {
  return {
    ENS_ENDPOINT: env.emu.url,
    ALIBABA_CLOUD_ACCESS_KEY_ID: env.emu.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: env.emu.accessKeySecret,
  };
}

/**
 * Locates the compiled CLI: dist/emulator/cli.js when it is newer than every emulator/*.ts source,
 * otherwise compiles emulator/ alone (the rest of the repository may be mid-edit) into a temp dir.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

export function emulatorCliPath(): string {
  const dist = join(ROOT, "dist", "emulator", "cli.js");
  const sources = readdirSync(join(ROOT, "emulator")).filter((f) => f.endsWith(".ts"));
  const newest = Math.max(...sources.map((f) => statSync(join(ROOT, "emulator", f)).mtimeMs));
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest) return dist;
  const out = mkdtempSync(join(tmpdir(), "ens-emu-cli-"));
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules", "typescript", "bin", "tsc"),
      "--outDir", out, "--rootDir", ROOT,
      "--module", "commonjs", "--target", "ES2020", "--strict", "--esModuleInterop", "--skipLibCheck", "--types", "node",
      join(ROOT, "emulator", "cli.ts"),
    ],
    { cwd: ROOT, stdio: "pipe" },
  );
  return join(out, "emulator", "cli.js");
}

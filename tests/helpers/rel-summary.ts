/**
 * Figures of the reliability suite (retries, faults injected, wall times, ...): printed with console.log and appended
 * as JSON lines to one summary file per run, so that the lead can read them after `npm test` or `npm run test:reliability`.
 *   REL_SUMMARY_FILE=/path/file.jsonl   overrides the default $TMPDIR/pulumi-ens-keypair-reliability/summary.jsonl
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const SUMMARY_FILE = process.env.REL_SUMMARY_FILE ?? path.join(os.tmpdir(), "pulumi-ens-keypair-reliability", "summary.jsonl");

export function summarize(section: string, row: Record<string, unknown>): void {
  const line = { section, ...row, at: new Date().toISOString() };
  fs.mkdirSync(path.dirname(SUMMARY_FILE), { recursive: true });
  fs.appendFileSync(SUMMARY_FILE, JSON.stringify(line) + "\n");
  // eslint-disable-next-line no-console
  console.log(`[reliability:${section}] ${Object.entries(row).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ")}`);
}

/** Runs `fn` and returns its result with the wall time in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t0 };
}

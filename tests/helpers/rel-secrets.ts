/**
 * Secret-leak ledger of the reliability suite. Every test that produces something a user or an operator could see
 * (stack exports, backend files, CLI output, error messages, serialized providers, the emulator journal) hands it to
 * `scanArtifact` / `scanTree`; any occurrence of the access key secret, in plain text or in a common encoding,
 * fails the test at once, and the tally is written to the reliability summary.
 */
import fs from "node:fs";
import path from "node:path";
import { summarize } from "./rel-summary";

/** A distinctive access key: nothing else in the repository or in Pulumi output looks like this. */
export const REL_ACCESS_KEY_ID = "relAK4Fq7Tz";
export const REL_SECRET = "relCanarySecret9Xq2Lm7Vb4Kp8Zt";
export const REL_KEYS: Record<string, string> = { [REL_ACCESS_KEY_ID]: REL_SECRET };

/** The forms a secret could take on its way out: plain, base64 (of itself and inside JSON), hex. */
const NEEDLES: [string, string][] = [
  ["plain", REL_SECRET],
  ["base64", Buffer.from(REL_SECRET).toString("base64").replace(/=+$/, "")],
  ["hex", Buffer.from(REL_SECRET).toString("hex")],
];

export interface Hit {
  label: string;
  form: string;
  context: string;
}

const tally = { artifacts: 0, bytes: 0, hits: [] as Hit[] };

export function findSecret(label: string, text: string | Buffer): Hit[] {
  const s = Buffer.isBuffer(text) ? text.toString("latin1") : text;
  tally.artifacts++;
  tally.bytes += s.length;
  const hits: Hit[] = [];
  for (const [form, needle] of NEEDLES) {
    const at = s.indexOf(needle);
    if (at >= 0) hits.push({ label, form, context: s.slice(Math.max(0, at - 80), at + needle.length + 80) });
  }
  tally.hits.push(...hits);
  return hits;
}

/** Whether `text` holds the secret, without counting it as a leak (for output documented to hold secrets). */
export const mentionsSecret = (text: string): boolean => NEEDLES.some(([, needle]) => text.includes(needle));

/** Fails the calling test when `text` holds the secret. */
export function scanArtifact(label: string, text: string | Buffer | undefined): void {
  if (text === undefined) return;
  const hits = findSecret(label, text);
  if (hits.length) throw new Error(`access key secret leaked into ${label}:\n${hits.map((h) => `[${h.form}] ...${h.context}...`).join("\n")}`);
}

/** Every file under `dir` (state, history, backups, locks, logs, plugin caches). */
export function scanTree(label: string, dir: string): number {
  let files = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "node_modules") walk(p);
      } else if (e.isFile() && fs.statSync(p).size < 64 * 1024 * 1024) {
        files++;
        scanArtifact(`${label}/${path.relative(dir, p)}`, fs.readFileSync(p));
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return files;
}

/** Call in afterAll of every reliability file: records what was scanned in the summary. */
export function summarizeScans(file: string): void {
  summarize("secrets", { file, artifactsScanned: tally.artifacts, bytesScanned: tally.bytes, secretsFound: tally.hits.length });
}

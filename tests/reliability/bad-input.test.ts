/**
 * Bad input, before anything changes: each case must give one clear error naming the field and the fix, at the
 * provider (check, and create as the engine would call it after a check) and in `pulumi preview` through the CLI,
 * with no AttachKeyPair/DetachKeyPair/StopInstances (nor any other change) and the emulator's world unchanged.
 */
import { RunningEmulator } from "../../emulator";
import { ids, JournalCursor, keyPairIdOf } from "../helpers/rel-emu";
import { relProvider, RelEnv } from "../helpers/rel-provider";
import { REL_ACCESS_KEY_ID, scanArtifact, summarizeScans } from "../helpers/rel-secrets";
import { RAW_PROGRAM, relStack, RelE2E } from "../helpers/rel-stack";
import { summarize } from "../helpers/rel-summary";

jest.setTimeout(180_000);

const KEY = "rel-key";
const OK_IDS = ids(1, 3);

interface BadInput {
  name: string;
  /** Resource inputs; `K` stands for the real key pair id. */
  args?: Record<string, unknown>;
  /** Provider environment (undefined removes a variable); `EMU` stands for the emulator URL. */
  env?: Record<string, string | undefined>;
  /** Stack config (provider configuration). */
  config?: Record<string, string>;
  /** The field the error must name, and what it must say to fix it. */
  field: string;
  fix: RegExp;
  /** Needs ENS or the provider's settings to be found (check's live lookups): create must refuse it too. */
  live?: boolean;
  /** Instead of args.instanceIds, the program generates this many IDs (a config value that large exceeds what the engine can hand a program). */
  generate?: number;
}

const K = "<K>";
const EMU = "<EMU>";
const valid = { keyPairId: K, instanceIds: OK_IDS };

const CASES: BadInput[] = [
  { name: "empty instance list", args: { keyPairId: K, instanceIds: [] }, field: "instanceIds", fix: /list at least one instance/ },
  { name: "malformed instance IDs", args: { keyPairId: K, instanceIds: ["web-1", "i-", "I-EMU00000001x"] }, field: "instanceIds", fix: /not ENS instance IDs \("i-" followed by letters and digits\)/ },
  { name: "instanceIds is a string", args: { keyPairId: K, instanceIds: "i-emu00000001" }, field: "instanceIds", fix: /must be a list of ENS instance IDs/ },
  { name: "instanceIds is null", args: { keyPairId: K, instanceIds: null }, field: "instanceIds", fix: /must be a list of ENS instance IDs/ },
  { name: "instance IDs of the wrong type", args: { keyPairId: K, instanceIds: [42, true] }, field: "instanceIds", fix: /not ENS instance IDs/ },
  { name: "both key references", args: { ...valid, keyPairName: KEY }, field: "keyPairId", fix: /either keyPairId or keyPairName, not both/ },
  { name: "no key reference", args: { instanceIds: OK_IDS }, field: "keyPairId", fix: /a key pair is required: set keyPairId/ },
  { name: "malformed keyPairId", args: { keyPairId: "key-123", instanceIds: OK_IDS }, field: "keyPairId", fix: /must look like "ssh-xxxx"/ },
  { name: "keyPairId is a number", args: { keyPairId: 123, instanceIds: OK_IDS }, field: "keyPairId", fix: /must look like "ssh-xxxx"/ },
  { name: "malformed keyPairName", args: { keyPairName: "1bad", instanceIds: OK_IDS }, field: "keyPairName", fix: /start with a letter/ },
  { name: "unknown key pair ID", args: { keyPairId: "ssh-doesnotexist", instanceIds: OK_IDS }, field: "keyPairId", fix: /create or import it first, or fix keyPairId/, live: true },
  { name: "unknown key pair name", args: { keyPairName: "no-such-key", instanceIds: OK_IDS }, field: "keyPairName", fix: /create or import it first, or fix keyPairName/, live: true },
  { name: "nonexistent instances", args: { keyPairId: K, instanceIds: [...OK_IDS, "i-nosuch0001", "i-nosuch0002"] }, field: "instanceIds", fix: /i-nosuch0001, i-nosuch0002.*remove it from instanceIds/, live: true },
  { name: "huge list (10,001)", args: { keyPairId: K, instanceIds: Array.from({ length: 10001 }, (_, i) => `i-huge${i}`) }, generate: 10001, field: "instanceIds", fix: /at most 10000: split it into several resources/ },
  { name: "stopInstances is a string", args: { ...valid, stopInstances: "yes" }, field: "stopInstances", fix: /must be true or false/ },
  { name: "forceStop is a number", args: { ...valid, forceStop: 1 }, field: "forceStop", fix: /must be true or false/ },
  { name: "maxStoppedInstances zero", args: { ...valid, maxStoppedInstances: 0 }, field: "maxStoppedInstances", fix: /whole number from 1 to 10000/ },
  { name: "maxStoppedInstances negative", args: { ...valid, maxStoppedInstances: -3 }, field: "maxStoppedInstances", fix: /whole number from 1 to 10000/ },
  { name: "maxStoppedInstances fractional", args: { ...valid, maxStoppedInstances: 2.5 }, field: "maxStoppedInstances", fix: /whole number from 1 to 10000/ },
  { name: "maxStoppedInstances is a string", args: { ...valid, maxStoppedInstances: "10" }, field: "maxStoppedInstances", fix: /whole number from 1 to 10000/ },
  { name: "stopTimeoutSeconds zero", args: { ...valid, stopTimeoutSeconds: 0 }, field: "stopTimeoutSeconds", fix: /whole number from 1 to 3600/ },
  { name: "stopTimeoutSeconds too long", args: { ...valid, stopTimeoutSeconds: 99999 }, field: "stopTimeoutSeconds", fix: /whole number from 1 to 3600/ },
  { name: "ENS_ENDPOINT not a URL", env: { ENS_ENDPOINT: "not a url" }, field: "ENS_ENDPOINT", fix: /give one such as https:\/\/ens\.aliyuncs\.com/, live: true },
  { name: "ENS_ENDPOINT with a path", env: { ENS_ENDPOINT: `${EMU}/ens/v1` }, field: "ENS_ENDPOINT", fix: /scheme, host and optional port only/, live: true },
  { name: "ens:endpoint of another scheme", config: { "ens:endpoint": "ftp://127.0.0.1:21" }, field: "ens:endpoint", fix: /must use http or https/, live: true },
  { name: "credentials missing", env: { ALIBABA_CLOUD_ACCESS_KEY_ID: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined }, field: "ALIBABA_CLOUD_ACCESS_KEY_ID", fix: /set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET/, live: true },
  { name: "alicloud:accessKey without alicloud:secretKey", config: { "alicloud:accessKey": REL_ACCESS_KEY_ID }, field: "alicloud:secretKey", fix: /set both/, live: true },
  { name: "wrong access key secret", env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: "relWrongSecretValue1" }, field: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", fix: /SignatureDoesNotMatch.*(check|fix|set)/, live: true },
  { name: "unknown access key ID", env: { ALIBABA_CLOUD_ACCESS_KEY_ID: "relUnknownKeyId" }, field: "ALIBABA_CLOUD_ACCESS_KEY_ID", fix: /InvalidAccessKeyId\.NotFound.*(check|fix|set)/, live: true },
  { name: "ENS_MAX_CONCURRENT_CALLS zero", env: { ENS_MAX_CONCURRENT_CALLS: "0" }, field: "ENS_MAX_CONCURRENT_CALLS", fix: /whole number of at least 1/, live: true },
  { name: "ENS_CALLS_PER_SECOND negative", env: { ENS_CALLS_PER_SECOND: "-5" }, field: "ENS_CALLS_PER_SECOND", fix: /whole number of at least 1/, live: true },
];

const expand = (v: unknown, keyPairId: string, emu: RunningEmulator): any =>
  JSON.parse(JSON.stringify(v).split(JSON.stringify(K)).join(JSON.stringify(keyPairId)).split(EMU).join(emu.url));

/** `base` with the case's variables set (undefined removes one). */
function withEnv<T extends Record<string, string | undefined>>(base: T, c: BadInput, emu: RunningEmulator): T {
  const out: Record<string, string | undefined> = { ...base };
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v.split(EMU).join(emu.url);
  }
  return out as T;
}

/** Everything a case may not change: the world (bindings, statuses, tags, key pairs) and the change journal. */
function expectNothingChanged(emu: RunningEmulator, before: string, cursor: JournalCursor) {
  expect(cursor.mutating().map((j) => j.action)).toEqual([]);
  expect(JSON.stringify(emu.state())).toEqual(before);
}

/** One clear error: names the field, says the fix, and is not buried in a stack trace. */
function expectClear(text: string, c: BadInput) {
  expect(text).toContain(c.field);
  expect(text).toMatch(c.fix);
  expect(text).not.toMatch(/^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/m);
}

describe("at the provider: check names the field and the fix; create refuses too; nothing changes", () => {
  let env: RelEnv;
  let keyPairId: string;
  beforeAll(async () => {
    env = await relProvider({ instances: 10, seed: { keyPairs: [{ keyPairName: KEY }] } });
    keyPairId = keyPairIdOf(env.emu, KEY);
  });
  afterAll(() => env.close());

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    const args = expand(c.args ?? valid, keyPairId, env.emu);
    const saved = process.env;
    process.env = withEnv(saved, c, env.emu);
    await env.provider.configure({ config: { get: (k: string) => c.config?.[k] } });
    const before = JSON.stringify(env.emu.state());
    env.cursor.mark();
    try {
      const checked = await env.provider.check({}, args).then((r) => r, (e: Error) => ({ thrown: e }));
      const checkText = "thrown" in checked ? checked.thrown.message : checked.failures.map((f) => `${f.property}: ${f.reason}`).join("\n");
      expect("thrown" in checked || checked.failures.length > 0).toBe(true);
      expectClear(checkText, c);

      scanArtifact("provider check error", checkText);
      if (c.live) {
        // What check found live, create (which the engine calls after check, on apply) must refuse too.
        const created = await env.provider.create({ stopInstances: false, maxStoppedInstances: 30, forceStop: false, stopTimeoutSeconds: 300, ...args }).then(() => undefined, (e: Error) => e);
        expect(created).toBeInstanceOf(Error);
        scanArtifact("provider create error", created!.message);
        expectClear(created!.message, c);
      }
      expectNothingChanged(env.emu, before, env.cursor);
    } finally {
      process.env = saved;
      await env.provider.configure({ config: { get: () => undefined } });
    }
  });
});

describe("in pulumi preview (the real CLI, the package from npm pack)", () => {
  let t: RelE2E;
  let baseEnv: Record<string, string>;
  beforeAll(async () => {
    t = await relStack({ program: RAW_PROGRAM, instances: 10 });
    baseEnv = { ...t.stack.env };
  });
  afterAll(async () => {
    t.stack.scanFiles();
    summarizeScans("bad-input");
    summarize("bad-input", { cases: CASES.length, previews: t.stack.runs.filter((r) => r.args[0] === "preview").length, previewMsTotal: t.stack.runs.reduce((n, r) => n + r.ms, 0) });
    await t.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    t.stack.env = withEnv(baseEnv, c, t.emu) as Record<string, string>;
    const args = expand(c.args ?? valid, t.keyPairId, t.emu);
    if (c.generate) delete args.instanceIds;
    t.stack.writeConfig({ args, ...(c.generate ? { generateInstanceIds: c.generate } : {}), ...(c.config ?? {}) });
    const before = JSON.stringify(t.emu.state());
    const cursor = new JournalCursor(t.emu);
    const r = await t.stack.run(["preview"], { allowFailure: true });
    const shown = r.stdout + r.stderr;
    expect(r.code).not.toBe(0);
    const diagnostics = shown.slice(shown.indexOf("Diagnostics:"));
    expectClear(diagnostics, c);
    expectNothingChanged(t.emu, before, cursor);
  });
});

import path from "node:path";
import { e2eStack } from "../helpers/e2e-env";
import { programFolder } from "../helpers/installed-package";
import { PulumiResult, PulumiStack } from "../helpers/pulumi-cli";
import { startWireProxy } from "../helpers/wire-proxy";

/**
 * An error, as the Pulumi CLI shows it: once in the diagnostics, under its resource, with no stack frames (they would
 * point into files the package does not ship) and no colour codes when the output is piped. Through the real CLI and
 * the packed package.
 */
jest.setTimeout(300000);

const FRAME = /^\s+at .*(:\d+:\d+\)?|\(native\))$/m;

/** What a user reads: everything printed, and the summary after `Diagnostics:`. */
function shown(r: PulumiResult) {
  const text = r.stdout + r.stderr;
  const at = text.indexOf("Diagnostics:");
  return { text, diagnostics: at < 0 ? "" : text.slice(at) };
}
const count = (text: string, part: string) => text.split(part).length - 1;

it("an ENS that cannot be reached: check, diff, read and delete each say it once, with no stack frames", async () => {
  const t = await e2eStack();
  const gone = await startWireProxy(t.emu.url, {}, { outsideEphemeralPorts: true });
  try {
    const ids = t.ids(1, 3);
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids, "ens:endpoint": gone.url });
    await t.stack.run(["up", "--yes"]);
    await gone.close();
    const reach = `cannot reach ENS at ${gone.url}`;

    const runs: Record<string, PulumiResult> = {
      // diff: the drift check reads the instances.
      diff: await t.stack.run(["preview"], { allowFailure: true }),
      // read
      read: await t.stack.run(["refresh", "--yes"], { allowFailure: true }),
      // delete (with the configuration stored at the last up)
      delete: await t.stack.run(["destroy", "--yes"], { allowFailure: true }),
    };
    // check: a new instance is looked up in ENS.
    await t.stack.config({ instanceIds: [...ids, t.ids(4, 1)[0]] });
    runs.check = await t.stack.run(["preview"], { allowFailure: true });

    for (const [op, r] of Object.entries(runs)) {
      const { text, diagnostics } = shown(r);
      expect([op, r.code === 0]).toEqual([op, false]);
      expect([op, count(diagnostics, reach), diagnostics]).toEqual([op, 1, diagnostics]);
      expect([op, text.match(FRAME)?.[0]]).toEqual([op, undefined]);
      expect([op, text.includes("EnsError")]).toEqual([op, false]);
      expect([op, diagnostics]).toEqual([op, expect.stringMatching(new RegExp(`KeyPairAttachment \\(fleet\\):\\n\\s+error: [^\\n]*${reach.replace(/[.:/]/g, "\\$&")}`))]);
    }
  } finally {
    await gone.close();
    await t.close();
  }
});

it("a create whose instances fail says each failure once, with no stack frames", async () => {
  const t = await e2eStack({ faults: { instanceFailures: { "i-emu00000002": { code: "NoPermission", message: "Permission denied." } } } });
  try {
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 3) });
    const r = await t.stack.run(["up", "--yes"], { allowFailure: true });
    const { text, diagnostics } = shown(r);
    expect(r.code).not.toBe(0);
    expect(count(diagnostics, "i-emu00000002: AttachKeyPair failed: NoPermission: Permission denied.")).toBe(1);
    expect(text.match(FRAME)?.[0]).toBeUndefined();
  } finally {
    await t.close();
  }
});

it("two collisions in one program are both named in one run, once each, without colour codes or stack frames; nothing is bound", async () => {
  const t = await e2eStack();
  try {
    const stack = new PulumiStack(programFolder(path.join(__dirname, "claims-program")), t.stack.env);
    await stack.init();
    const attachments = { web: t.ids(1, 3), db: t.ids(3, 2), cache: t.ids(10, 2), queue: t.ids(11, 1), solo: t.ids(20, 1) };
    await stack.config({ keyPairId: t.keyPairId, attachments: JSON.stringify(attachments) });
    // An up, not only a preview: no attachment of the program is made, not even "solo", which collides with none.
    const r = await stack.run(["up", "--yes"], { allowFailure: true });
    const { text, diagnostics } = shown(r);
    expect(r.code).not.toBe(0);
    expect(count(diagnostics, `KeyPairAttachment "db" and "web" both name 1 instance(s): i-emu00000003`)).toBe(1);
    expect(count(diagnostics, `KeyPairAttachment "queue" and "cache" both name 1 instance(s): i-emu00000011`)).toBe(1);
    expect(text).not.toMatch(/\x1b\[/);
    expect(text.match(FRAME)?.[0]).toBeUndefined();
    expect(t.emu.journal().filter((j) => j.action === "AttachKeyPair")).toEqual([]);
    expect((await stack.exportState()).resource).toBeUndefined();
  } finally {
    await t.close();
  }
});

import fs from "node:fs";
import path from "node:path";
import { boundTo, e2eStack } from "../helpers/e2e-env";
import { startWireProxy } from "../helpers/wire-proxy";

/**
 * What the README says about stack config and destroy (Configuration): the engine keeps the default provider's
 * configuration (the stack config, secrets encrypted) in the state, and `destroy` uses the one of the last `up`, not
 * the current stack config. `pulumi up --target '**pulumi:providers:pulumi-nodejs::default'` stores the new one
 * without touching any resource.
 */
jest.setTimeout(300000);

const PROVIDER = "**pulumi:providers:pulumi-nodejs::default";

it("the README gives the command this file checks, and no longer says credentials are never captured", () => {
  const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
  expect(readme).toContain(`pulumi up --target '${PROVIDER}'`);
  expect(readme).not.toMatch(/read when an operation runs, never captured/);
});

it("destroy uses the endpoint of the last up; a targeted up of the provider stores the new config, then destroy works", async () => {
  const t = await e2eStack({ credentialsInEnv: false });
  const old = await startWireProxy(t.emu.url, {});
  try {
    const ids = t.ids(1, 2);
    await t.stack.config(
      { keyPairId: t.keyPairId, instanceIds: ids, "ens:endpoint": old.url, "alicloud:accessKey": t.emu.accessKeyId, "alicloud:secretKey": t.emu.accessKeySecret },
      ["alicloud:secretKey"],
    );
    await t.stack.run(["up", "--yes"]);
    const { text } = await t.stack.exportState();
    expect(text).toContain(old.url); // the stack config is in the state...
    expect(text).not.toContain(t.emu.accessKeySecret); // ...its secrets encrypted

    // The endpoint moves: the old address is gone, the stack config names the new one.
    await old.close();
    await t.stack.config({ "ens:endpoint": t.emu.url });
    const stale = await t.stack.run(["destroy", "--yes"], { allowFailure: true });
    expect(stale.code).not.toBe(0);
    expect(stale.stdout + stale.stderr).toContain(`cannot reach ENS at ${old.url}`);

    t.mark();
    const targeted = await t.stack.run(["up", "--yes", "--target", PROVIDER]);
    expect(targeted.code).toBe(0);
    expect([...t.calls("AttachKeyPair"), ...t.calls("DetachKeyPair")]).toEqual([]);
    expect(boundTo(t.emu, "e2e-key")).toEqual(ids);

    const done = await t.stack.run(["destroy", "--yes"]);
    expect(done.stdout).toMatch(/detached 2/);
    expect(boundTo(t.emu, "e2e-key")).toEqual([]);
  } finally {
    await t.close();
  }
});

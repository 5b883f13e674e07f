import { boundTo, e2eStack } from "../helpers/e2e-env";

jest.setTimeout(300000);

it("per-instance failures fail the up naming each instance and code, keep the partial result in state, and the next up converges with calls for the rest only", async () => {
  const t = await e2eStack();
  try {
    const ids = t.ids(1, 95);
    const failing = [ids[10], ids[70]];
    t.emu.setFaults({ instanceFailures: { [failing[0]]: { code: "NoPermission", message: "Permission denied." }, [failing[1]]: { code: "Forbidden.Locked", message: "The instance is locked." } } });
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids });
    const r = await t.stack.run(["up", "--yes"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    const shown = r.stdout + r.stderr;
    expect(shown).toContain(`${failing[0]}: AttachKeyPair failed: NoPermission: Permission denied.`);
    expect(shown).toContain(`${failing[1]}: AttachKeyPair failed: Forbidden.Locked: The instance is locked.`);

    const { resource } = await t.stack.exportState();
    expect(resource.outputs.attachedInstanceIds).toEqual(ids.filter((i) => !failing.includes(i)));
    expect(resource.outputs.instanceIds).toEqual(ids);

    t.emu.setFaults({});
    t.mark();
    await t.stack.run(["up", "--yes"]);
    expect(t.calls("AttachKeyPair").map((b) => [...b].sort())).toEqual([[...failing].sort()]);
    expect(boundTo(t.emu, "e2e-key")).toEqual(ids);
  } finally {
    await t.close();
  }
});

it("credentials given as secret stack config work and never appear in plain text in the exported state", async () => {
  const t = await e2eStack({ credentialsInEnv: false, accessKeys: { "e2e-secret-config-key": "e2e-very-secret-value-42" } });
  try {
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 5), "alicloud:accessKey": "e2e-secret-config-key", "alicloud:secretKey": "e2e-very-secret-value-42" }, ["alicloud:secretKey"]);
    const r = await t.stack.run(["up", "--yes"]);
    expect(boundTo(t.emu, "e2e-key")).toEqual(t.ids(1, 5));
    const { text } = await t.stack.exportState();
    expect(text).not.toContain("e2e-very-secret-value-42");
    expect(r.stdout + r.stderr).not.toContain("e2e-very-secret-value-42");
    await t.stack.run(["destroy", "--yes"]);
    expect(boundTo(t.emu, "e2e-key")).toEqual([]);
  } finally {
    await t.close();
  }
});

it("adopting existing bindings: the import option cannot work at @pulumi/pulumi 3.248.0, a plain up adopts them without a call", async () => {
  const t = await e2eStack();
  try {
    const ids = t.ids(1, 8);
    for (const id of ids) t.emu.world.setInstanceKey(id, "e2e-key");
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids, importId: `${t.keyPairId}:${ids.join(",")}` });
    t.mark();
    // The Node dynamic-provider host reads the (absent) stored properties of the resource to find __provider and
    // crashes before our read() runs. If a later @pulumi/pulumi fixes this, this assertion fails: then document import.
    const r = await t.stack.run(["up", "--yes"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("Cannot read properties of undefined (reading 'toJavaScript')");
    expect(t.emu.journal()).toHaveLength(0);

    // The documented way: declare the attachment; instances that already carry the key pair are adopted.
    await t.stack.run(["config", "rm", "importId"]);
    t.mark();
    const up = await t.stack.run(["up", "--yes"]);
    expect(up.stdout).toContain("adopting 8 instance(s) that already carry e2e-key and have no owner");
    expect(up.stdout).toMatch(/attached 0, detached 0, adopted 8/);
    expect(t.calls("AttachKeyPair")).toHaveLength(0);
    expect((await t.stack.exportState()).resource.outputs.attachedInstanceIds).toEqual(ids);
  } finally {
    await t.close();
  }
});

import { e2eStack } from "../helpers/e2e-env";

/** What a Pulumi user sees through the real CLI: the plan in preview, resource names on every line, short errors. */

jest.setTimeout(300000);

it("preview says the plan per resource, every provider line names its resource, up ends with one closing line", async () => {
  const t = await e2eStack();
  try {
    const ids = t.ids(1, 40);
    t.emu.world.setInstanceKey(ids[0], "e2e-key");
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids });
    const preview = await t.stack.run(["preview"]);
    expect(preview.stdout).toContain(`KeyPairAttachment 'fleet': plan: attach 39 (${ids.slice(1, 4).join(", ")} and 36 more) in 2 call(s); adopt 1 already bound`);
    const up = await t.stack.run(["up", "--yes"]);
    expect(up.stdout).toMatch(/KeyPairAttachment 'fleet': done in \d+\.\d s with \d+ ENS call\(s\): attached 39, detached 0, adopted 1/);

    // A changed set: the plan says detach and attach, not a positional diff.
    const after = [...ids.slice(2), ...t.ids(61, 2)];
    await t.stack.config({ instanceIds: after });
    const changed = await t.stack.run(["preview"]);
    expect(changed.stdout).toContain(`KeyPairAttachment 'fleet': plan: attach 2 (${t.ids(61, 2).join(", ")}) in 1 call(s); detach 2 (${ids[0]}, ${ids[1]}) in 1 call(s); 38 unchanged`);
    const lines = (changed.stdout + up.stdout).split("\n").filter((l) => /ENS|attach|plan:|done/.test(l) && !/^\s*(\+|~|-|Resources|Previewing|Updating|Duration|View|Outputs|pulumi:pulumi:Stack)/.test(l));
    for (const l of lines.filter((x) => x.includes("instance") || x.includes("plan:"))) expect(l).toContain("KeyPairAttachment 'fleet'");
  } finally {
    await t.close();
  }
});

it("one bad ID among 1,000: preview fails with one short line naming the resource and the ID, not the whole list", async () => {
  const t = await e2eStack({ instances: 1000 });
  try {
    const ids = [...t.ids(1, 150), "i-nosuch151", ...t.ids(152, 849)];
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids });
    const r = await t.stack.run(["preview"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    const line = (r.stdout + r.stderr).split("\n").find((l) => l.includes("i-nosuch151"))!;
    expect(line).toContain("resource 'fleet' has a problem: instanceIds: ENS has no instance i-nosuch151");
    expect(line.length).toBeLessThan(300);
    expect(r.stdout + r.stderr).not.toContain(t.ids(500, 1)[0]);
  } finally {
    await t.close();
  }
});

it("two attachments naming the same instance are refused in preview, naming both; nothing is bound", async () => {
  const t = await e2eStack();
  try {
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 3), secondInstanceIds: t.ids(3, 2) });
    const r = await t.stack.run(["preview"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/KeyPairAttachment "(second|fleet)" and "(fleet|second)" both name 1 instance\(s\): i-emu00000003/);
    expect(t.emu.journal().filter((j) => j.action === "AttachKeyPair")).toEqual([]);
  } finally {
    await t.close();
  }
});

it("an endpoint that is down: one sentence naming the endpoint and where it came from", async () => {
  const t = await e2eStack();
  try {
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 2), "ens:endpoint": "http://127.0.0.1:1" });
    const r = await t.stack.run(["preview"], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("cannot reach ENS at http://127.0.0.1:1 (from ens:endpoint / ENS_ENDPOINT): connection refused");
    expect(r.stdout + r.stderr).not.toMatch(/ECONNREFUSED 127\.0\.0\.1:1POST|\?.*Signature=/);
  } finally {
    await t.close();
  }
});

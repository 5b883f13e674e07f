import { LEASE_TAG, OWNER_TAG, parseOwnerTag } from "../../provider/protocol";
import { E2E, e2eStack } from "../helpers/e2e-env";
import { programFolder } from "../helpers/installed-package";
import { PulumiStack } from "../helpers/pulumi-cli";
import path from "node:path";

/**
 * The multi-writer protocol through the real engine: a key rotation (a replacement, create before delete) on a
 * stop-first fleet, and two stacks racing on overlapping instance sets. Both failed before owner = logical resource:
 * the rotation was refused naming the resource's own previous ID, the race left a state that lied.
 */
jest.setTimeout(300000);

const listed = (p: Record<string, string>): string[] => (p.InstanceIds?.startsWith("[") ? JSON.parse(p.InstanceIds) : p.InstanceIds?.split(",") ?? []);

describe("through the CLI", () => {
  let t: E2E;
  beforeAll(async () => {
    t = await e2eStack({ instances: 60, initialStatus: "Running", stopDelayMs: 30, startDelayMs: 30 });
    t.emu.world.addKeyPair({ keyPairName: "e2e-key-next" });
  });
  afterAll(() => t.close());

  it("rotating keyPairId on a stop-first fleet: up succeeds, each instance stopped once, all on the new key and Running, no adoption", async () => {
    const ids = t.ids(1, 12);
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: ids, stopInstances: true, maxStoppedInstances: 4 });
    await t.stack.run(["up", "--yes"]);
    const next = t.emu.state().keyPairs.find((k) => k.keyPairName === "e2e-key-next")!.keyPairId;
    await t.stack.config({ keyPairId: next });
    const from = t.emu.journal().length;
    const r = await t.stack.run(["up", "--yes"]);
    const journal = t.emu.journal().slice(from);
    const stops = ids.map((id) => journal.filter((j) => j.action === "StopInstances" && listed(j.params).includes(id)).length);
    expect(stops).toEqual(ids.map(() => 1));
    const world = t.emu.state().instances.filter((i) => ids.includes(i.instanceId));
    expect(world.every((i) => i.keyPairName === "e2e-key-next" && i.status === "Running" && !(LEASE_TAG in i.tags))).toBe(true);
    expect(world.every((i) => parseOwnerTag(i.tags[OWNER_TAG]).owner.endsWith("/e2e/fleet"))).toBe(true);
    expect(r.stdout).toMatch(/attached 12, detached 0, adopted 0/);
    expect(r.stdout).toMatch(/1 replaced|replaced 1|\+-/);
    // The old resource's delete made no binding or power call: all of them came before it.
    expect(journal.filter((j) => j.action === "DetachKeyPair")).toHaveLength(0);
    const again = t.emu.journal().length;
    await t.stack.run(["up", "--yes"]);
    expect(t.emu.journal().slice(again).filter((j) => /KeyPair$|^St(op|art)Instances?$/.test(j.action) && j.action !== "DescribeKeyPairs")).toEqual([]);
    await t.stack.run(["destroy", "--yes"]);
  });

  it("two stacks racing on overlapping sets with different keys: one owner per instance, each state is what ENS has, none left Stopped", async () => {
    const other = new PulumiStack(programFolder(path.join(__dirname, "program")), t.stack.env);
    await other.init("other");
    const b = t.emu.world.addKeyPair({ keyPairName: "e2e-key-b" });
    const [setA, setB] = [t.ids(21, 20), t.ids(31, 20)];
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: setA, stopInstances: true, maxStoppedInstances: 5 });
    await other.config({ keyPairId: b, instanceIds: setB, stopInstances: true, maxStoppedInstances: 5 });
    const [ra, rb] = await Promise.all([t.stack.run(["up", "--yes"], { allowFailure: true }), other.run(["up", "--yes"], { allowFailure: true })]);
    const world = new Map(t.emu.state().instances.map((i) => [i.instanceId, i]));
    const created: boolean[] = [];
    for (const [stack, res, key, ids, name] of [[t.stack, ra, "e2e-key", setA, "e2e"], [other, rb, "e2e-key-b", setB, "other"]] as const) {
      const { resource } = await stack.exportState();
      const truth = ids.filter((id) => world.get(id)!.keyPairName === key && parseOwnerTag(world.get(id)!.tags[OWNER_TAG] ?? "").owner.endsWith(`/${name}/fleet`)).sort();
      created.push(resource !== undefined);
      if (resource) expect(resource.outputs.attachedInstanceIds).toEqual(truth);
      else {
        // The other run claimed the overlap before this one's check (its update checks again after the preview):
        // refused before any change, naming the instances and their owner; nothing of it is bound.
        expect(res.code).not.toBe(0);
        expect(res.stdout + res.stderr).toMatch(/bound and owned by another resource: i-emu000000(3\d|40) \(owner [^)]*\/(e2e|other)\/fleet\)/);
        expect(truth).toEqual([]);
      }
      for (const id of ids.filter((i) => !truth.includes(i) && resource)) expect(res.stdout + res.stderr).toContain(id);
    }
    expect(created.some((c) => c)).toBe(true);
    expect([...world.values()].filter((i) => [...setA, ...setB].includes(i.instanceId)).every((i) => i.status === "Running" && !(LEASE_TAG in i.tags))).toBe(true);
    // Later runs of both change nothing (a stack refused in check is refused again, before any change).
    const from = t.emu.journal().length;
    const again = await Promise.all([t.stack.run(["up", "--yes"], { allowFailure: true }), other.run(["up", "--yes"], { allowFailure: true })]);
    expect(again.map((r) => r.code === 0)).toEqual(created);
    expect(t.emu.journal().slice(from).filter((j) => ["AttachKeyPair", "DetachKeyPair", "StopInstances", "StartInstances"].includes(j.action))).toEqual([]);
    await Promise.all([t.stack.run(["destroy", "--yes"]), other.run(["destroy", "--yes"])]);
  });
});

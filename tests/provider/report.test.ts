import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";

/** What a user reads: every line names its resource, preview says what will happen, one warning per kind. */

let env: ProviderEnv;
let key: { keyPairId: string; keyPairName: string };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 1000, seed: { keyPairs: [{ keyPairName: "say-key" }, { keyPairName: "old-key" }] } });
  key = keyOf(env.emu, "say-key");
});
afterAll(() => env.close());
beforeEach(() => {
  env.clearJournal();
  env.logs.length = 0;
});

it("check of a create names the resource and says the plan: attach, adopt, stop, and Running instances without stopInstances", async () => {
  const ids = instanceIds(1, 40);
  env.emu.world.setInstanceKey(ids[0], "say-key");
  env.emu.world.setInstanceStatus(ids[1], "Running");
  const res = await env.provider.check({}, { __provider: "P", __attachmentName: "web", keyPairId: key.keyPairId, instanceIds: ids });
  // Up would fail: preview fails too, naming the instance and the input to set.
  expect(res.failures).toEqual([{ property: "stopInstances", reason: expect.stringContaining(`1 instance(s) to bind or unbind are Running (${ids[1]})`) }]);
  expect(env.logs).toEqual([
    `KeyPairAttachment 'web': plan: attach 39 (${ids.slice(2, 5).join(", ")} and 36 more) in 2 call(s); adopt 1 already bound; 1 instance(s) are Running (${ids[1]}) and stopInstances is false: this will fail unless they are stopped first`,
  ]);
  env.emu.world.setInstanceKey(ids[0], undefined);
  env.emu.world.setInstanceStatus(ids[1], "Stopped");
});

it("diff of a changed set says detach and attach, not a positional diff; every line of the update names the resource", async () => {
  const before = instanceIds(51, 3);
  const { id, outs } = await env.provider.create(await checked(env, { __attachmentName: "api", keyPairId: key.keyPairId, instanceIds: before }));
  expect((outs as unknown as Record<string, unknown>).__attachmentName).toBe("api");
  env.logs.length = 0;
  const after = [before[0], ...instanceIds(61, 2)];
  const news = await checked(env, { __attachmentName: "api", keyPairId: key.keyPairId, instanceIds: after }, outs);
  expect((await env.provider.diff(id, outs, news)).changes).toBe(true);
  expect(env.logs).toEqual([`KeyPairAttachment 'api': plan: attach 2 (${after[1]}, ${after[2]}) in 1 call(s); detach 2 (${before[1]}, ${before[2]}) in 1 call(s); 1 unchanged`]);
  const { outs: updated } = await env.provider.update(id, outs, news);
  await env.provider.delete(id, updated);
  expect(env.logs.length).toBeGreaterThan(1);
  expect(env.logs.every((l) => l.startsWith("KeyPairAttachment 'api': ") || l.startsWith("warning: KeyPairAttachment 'api': "))).toBe(true);
});

it("key rotation on 100 instances: one warning with a count and a few IDs, not one per instance", async () => {
  const ids = instanceIds(101, 100);
  for (const i of ids) env.emu.world.setInstanceKey(i, "old-key");
  const { id, outs } = await env.provider.create(await checked(env, { __attachmentName: "fleet", keyPairId: key.keyPairId, instanceIds: ids }));
  const warnings = env.logs.filter((l) => l.startsWith("warning:"));
  expect(warnings).toEqual([`warning: KeyPairAttachment 'fleet': 100 instance(s) carry another key pair (old-key); attaching say-key replaces it (an ENS instance holds one key pair): ${ids.slice(0, 5).join(", ")} and 95 more`]);
  await env.provider.delete(id, outs);
});

it("a failure for one bad ID among 1,000 is one short line naming the field, not the whole list", async () => {
  const ids = [...instanceIds(1, 150), "i-nosuch151", ...instanceIds(152, 849)];
  const res = await env.provider.check({}, { __attachmentName: "big", keyPairId: key.keyPairId, instanceIds: ids });
  // No property: the engine then prints "<type> resource 'big' has a problem: <reason>", not the 1,000 IDs first.
  expect(res.failures).toEqual([{ property: "", reason: `instanceIds: ENS has no instance i-nosuch151 at ${env.emu.url}: remove it from instanceIds or check the account and region` }]);
});

import { checked, instanceIds, keyOf, providerOnEmulator, ProviderEnv } from "../helpers/provider-env";

/**
 * The protocol's calls grow with the resource, not with the account: a create looks for what earlier runs of its own
 * logical resource left claimed by the owner-name tag (ListTagResources by key and value), not by paging through every
 * owner tag in the account. Before, 100 attachments of 100 instances through the CLI made 10,766 ListTagResources
 * (bench scenario 7: 246 s against 27 s before the protocol).
 */

let env: ProviderEnv;
let keyA: { keyPairId: string };

beforeAll(async () => {
  env = await providerOnEmulator({ instances: 1_010 });
  env.emu.world.addKeyPair({ keyPairName: "key-a" });
  keyA = keyOf(env.emu, "key-a");
});
afterAll(() => env.close());

async function tagReadsOfCreate(owner: string, ids: string[]) {
  const inputs = await checked(env, { __owner: owner, keyPairId: keyA.keyPairId, instanceIds: ids });
  env.clearJournal();
  const made = await env.provider.create(inputs);
  return { made, reads: env.calls("ListTagResources").length };
}

it("a create of 4 instances makes as many ListTagResources in an account where another resource binds 1,000 as in one where nothing is bound", async () => {
  const alone = await tagReadsOfCreate("p/cost/first", instanceIds(1001, 4));
  const big = await tagReadsOfCreate("p/cost/big", instanceIds(1, 1000));
  const beside = await tagReadsOfCreate("p/cost/second", instanceIds(1005, 4));
  expect(big.made.outs.attachedInstanceIds).toHaveLength(1000);
  expect(beside.reads).toBe(alone.reads);
  expect(beside.reads).toBeLessThanOrEqual(6);
  for (const r of [alone, big, beside]) await env.provider.delete(r.made.id, r.made.outs);
}, 120_000);

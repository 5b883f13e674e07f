/**
 * What the provider reports after a failure must be what ENS really has: the engine writes it into the state, and the
 * next operation (and `pulumi destroy`) trusts it. Two ways to break that, each as a user meets it.
 */
import { boundTo, ids, keyPairIdOf, notRunning, waitUntil } from "../helpers/rel-emu";
import { checked } from "../helpers/provider-env";
import { failedIds, observe, relProvider, RelEnv } from "../helpers/rel-provider";
import { summarizeScans } from "../helpers/rel-secrets";

jest.setTimeout(120_000);

const KEY = "rel-key";
let env: RelEnv;
let keyPairId: string;

beforeAll(async () => {
  env = await relProvider({ instances: 400, stopDelayMs: 20, startDelayMs: 20, seed: { keyPairs: [{ keyPairName: KEY }, { keyPairName: "other-key" }] } });
  keyPairId = keyPairIdOf(env.emu, KEY);
});
afterAll(async () => {
  summarizeScans("true-state");
  await env?.close();
});

it("an update whose attach fails for an instance that drifted off the key pair does not report that instance as attached", async () => {
  const A = ids(1, 5);
  const { id, outs } = await env.provider.create(await checked(env, { keyPairId, instanceIds: A }));
  // Behind our back (no refresh since): one instance loses the key pair, another gets a different one.
  env.emu.world.setInstanceKey(A[0], undefined);
  env.emu.world.setInstanceKey(A[1], "other-key");
  env.emu.setFaults({ instanceFailures: { [A[0]]: { code: "NoPermission", message: "Permission denied." }, [A[1]]: { code: "NoPermission", message: "Permission denied." } } });
  const news = await checked(env, { keyPairId, instanceIds: [...A, ...ids(6, 1)] }, outs);
  const o = await observe(env, () => env.provider.update(id, outs, news));
  env.emu.setFaults({});

  expect(failedIds(o.error)).toEqual([A[0], A[1]]);
  // The partial state the engine records must match ENS: A[0] and A[1] do not carry rel-key.
  expect(o.error.properties.attachedInstanceIds).toEqual(boundTo(env.emu, KEY));
});

it("an instance released in the middle of a rolling stop-first create: the error still records what was attached, names the instance, and nothing stays stopped", async () => {
  const A = ids(101, 90);
  for (const i of A) env.emu.world.setInstanceStatus(i, "Running");
  env.emu.setFaults({ latencyMs: 10 });
  const inputs = await checked(env, { keyPairId, instanceIds: A, stopInstances: true, maxStoppedInstances: 30 });
  env.cursor.mark();
  const pending = observe(env, () => env.provider.create(inputs));
  // A first batch has attached: the last instance of the window is released (as ENS does when a subscription ends).
  await waitUntil(() => env.cursor.batches("AttachKeyPair").length >= 1, 60_000, "the first AttachKeyPair", 1);
  const released = A[A.length - 1];
  env.emu.world.removeInstance(released);
  const o = await pending;
  env.emu.setFaults({});

  expect(o.ok).toBe(false);
  expect(notRunning(env.emu, A)).toEqual([]);
  const bound = boundTo(env.emu, KEY).filter((i) => A.includes(i));
  expect(bound.length).toBeGreaterThanOrEqual(30);
  // Without a partial state (id + properties) the engine records no resource: `pulumi destroy` would then leave
  // these instances bound to the key pair for good.
  expect(o.error.id).toMatch(/^ssh-[0-9a-f]+:att-/);
  expect(o.error.properties?.attachedInstanceIds).toEqual(bound);
  expect(o.error.message).toContain(released);
});

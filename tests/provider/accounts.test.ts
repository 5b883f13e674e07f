/**
 * Issue 18 item 1, through the provider API as the engine drives it: two ENS accounts (two emulators, different keys,
 * the same instance IDs) in one provider process, with no endpoint or credentials in the environment. Each resource
 * works in its own account from its `account` input; delete works from the stored outputs alone; a change of endpoint
 * replaces, a change of keys updates; a wrong secret fails that resource only, naming its endpoint and no secret.
 */
import { RunningEmulator, startEmulator } from "../../emulator";
import { provider, setLogger } from "../../provider";

const A_KEY = { id: "LTAIaccountA0000001", secret: "account-A-secret/+=0001" };
const B_KEY = { id: "LTAIaccountB0000001", secret: "account-B-secret/+=0002" };
/** A second key of account A: a rotation. */
const A_ROTATED = { id: "LTAIaccountA0000002", secret: "account-A-secret/+=0003" };
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);

let a: RunningEmulator;
let b: RunningEmulator;
let saved: NodeJS.ProcessEnv;
const logs: string[] = [];

beforeAll(async () => {
  a = await startEmulator({ instances: 10, accessKeys: { [A_KEY.id]: A_KEY.secret, [A_ROTATED.id]: A_ROTATED.secret }, seed: { keyPairs: [{ keyPairName: "key-a" }] } });
  b = await startEmulator({ instances: 10, accessKeys: { [B_KEY.id]: B_KEY.secret }, seed: { keyPairs: [{ keyPairName: "key-b" }] } });
  saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (/^(ENS_ENDPOINT|ALIBABA_CLOUD_|ALICLOUD_)/.test(k)) delete process.env[k];
  Object.assign(process.env, { ENS_POLL_INTERVAL_MS: "20", ENS_CLAIM_SETTLE_MS: "5", ENS_RETRY_DEADLINE_SECONDS: "5" });
  setLogger({ info: (l) => logs.push(l), warn: (l) => logs.push(`warning: ${l}`) });
});
afterAll(async () => {
  process.env = saved;
  await Promise.all([a.close(), b.close()]);
});

const accountOf = (emu: RunningEmulator, key: { id: string; secret: string }) => ({ endpoint: emu.url, accessKey: key.id, secretKey: key.secret });
const keyId = (emu: RunningEmulator, name: string) => emu.state().keyPairs.find((k) => k.keyPairName === name)!.keyPairId;
const boundTo = (emu: RunningEmulator, name: string) => emu.state().instances.filter((i) => i.keyPairName === name).map((i) => i.instanceId).sort();

async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
  const res = await provider.check(olds, { __provider: "PROVIDER-TEXT", ...news });
  if (res.failures.length) throw new Error(JSON.stringify(res.failures));
  return res.inputs;
}

it("binds each attachment in its own account (same instance IDs in both), and delete unbinds each from its outputs alone", async () => {
  const inA = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: ids(1, 3), account: accountOf(a, A_KEY), __attachmentName: "in-a" });
  const inB = await checked({ keyPairId: keyId(b, "key-b"), instanceIds: ids(1, 3), account: accountOf(b, B_KEY), __attachmentName: "in-b" });
  const [ra, rb] = await Promise.all([provider.create(inA), provider.create(inB)]);
  expect(boundTo(a, "key-a")).toEqual(ids(1, 3));
  expect(boundTo(b, "key-b")).toEqual(ids(1, 3));
  expect(new Set(a.journal().map((j) => j.accessKeyId))).toEqual(new Set([A_KEY.id]));
  expect(new Set(b.journal().map((j) => j.accessKeyId))).toEqual(new Set([B_KEY.id]));
  // The outputs keep the account: the engine stores them (as a secret, by the SDK's additionalSecretOutputs).
  expect(ra.outs.account).toEqual(accountOf(a, A_KEY));

  // Nothing changed: no update, and the diff reads each account with its own client.
  expect(await provider.diff(ra.id, ra.outs, inA)).toMatchObject({ changes: false, replaces: [] });

  await Promise.all([provider.delete(ra.id, { ...ra.outs, __provider: "x" }), provider.delete(rb.id, { ...rb.outs, __provider: "x" })]);
  expect(boundTo(a, "key-a")).toEqual([]);
  expect(boundTo(b, "key-b")).toEqual([]);
});

it("a change of endpoint replaces the resource; a change of keys alone (same endpoint) is an update with no binding call", async () => {
  const inA = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: ids(4, 2), account: accountOf(a, A_KEY), __attachmentName: "moving" });
  const created = await provider.create(inA);
  const toB = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: ids(4, 2), account: accountOf(b, B_KEY) }, inA).catch((e) => e);
  // (B has no key pair key-a's ID: check refuses it; the diff alone decides on replacement.)
  expect(String(toB)).toContain(`ENS has no key pair`);
  expect(await provider.diff(created.id, created.outs, { ...inA, account: accountOf(b, B_KEY) })).toMatchObject({ changes: true, replaces: ["account"] });
  // The same endpoint written another way is the same ENS.
  expect(await provider.diff(created.id, created.outs, { ...inA, account: { ...accountOf(a, A_KEY), endpoint: `${a.url}/` } })).toMatchObject({ replaces: [] });

  // Keys rotated: another pair of the same account.
  const rotated = A_ROTATED;
  const news = await checked({ ...inA, account: accountOf(a, rotated) }, inA);
  const d = await provider.diff(created.id, created.outs, news);
  expect(d).toMatchObject({ changes: true, replaces: [] });
  const mark = a.journal().length;
  const { outs } = await provider.update(created.id, created.outs, news);
  const calls = a.journal().slice(mark);
  expect(calls.filter((j) => /^(Attach|Detach)KeyPair$/.test(j.action))).toEqual([]);
  expect(new Set(calls.map((j) => j.accessKeyId))).toEqual(new Set([rotated.id]));
  expect(outs.account).toEqual(accountOf(a, rotated));
  await provider.delete(created.id, outs);
  expect(boundTo(a, "key-a")).toEqual([]);
});

it("a wrong secret fails only that resource, naming its endpoint and not the secret", async () => {
  const WRONG = "wrong-secret-for-A/+=9999";
  const res = await provider.check({}, { __provider: "x", keyPairId: keyId(a, "key-a"), instanceIds: ids(7, 1), account: { endpoint: a.url, accessKey: A_KEY.id, secretKey: WRONG } });
  expect(res.failures).toHaveLength(1);
  expect(res.failures[0].property).toBe("");
  expect(res.failures[0].reason).toContain(`ENS at ${a.url} refused the access key`);
  expect(res.failures[0].reason).toContain("account.accessKey, account.secretKey");
  expect(JSON.stringify(res)).not.toContain(WRONG.replace(/\+/g, ""));
  expect(JSON.stringify(res.failures)).not.toContain(WRONG);
  // The other account, checked at the same time in the same process, is fine.
  await checked({ keyPairId: keyId(b, "key-b"), instanceIds: ids(7, 1), account: accountOf(b, B_KEY) });
  expect(logs.join("\n")).not.toContain(WRONG);
});

it("a bad account fails check naming the field and the fix, before any call", async () => {
  const mark = a.journal().length;
  const res = await provider.check({}, { __provider: "x", keyPairId: keyId(a, "key-a"), instanceIds: ids(1, 1), account: { endpoint: "ftp://x", secretKey: "only-a-secret-000" } });
  expect(res.failures.map((f) => f.property)).toEqual(["", ""]);
  expect(res.failures.map((f) => f.reason).join("\n")).toMatch(/^account\.endpoint "ftp:\/\/x" must use http or https/m);
  expect(res.failures.map((f) => f.reason).join("\n")).toMatch(/^account\.secretKey: account has secretKey without accessKey: set account\.accessKey too/m);
  expect(JSON.stringify(res.failures)).not.toContain("only-a-secret-000");
  expect(a.journal().length).toBe(mark);
});

/**
 * Attacks on issue 18 item 1 (the per-resource `account` input, commit 621a12d), through the provider API as the
 * engine drives it. Each test states the defect it proves; tests that pass document angles that held.
 */
import net from "node:net";
import { RunningEmulator, startEmulator } from "../../emulator";
import { provider, setLogger } from "../../provider";

const A_KEY = { id: "LTAIattackA00000001", secret: "attack-A-secret/+=0001" };
const B_KEY = { id: "LTAIattackB00000001", secret: "attack-B-secret/+=0002" };
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);

let a: RunningEmulator;
let b: RunningEmulator;
let saved: NodeJS.ProcessEnv;
const logs: string[] = [];

beforeAll(async () => {
  a = await startEmulator({ instances: 20, accessKeys: { [A_KEY.id]: A_KEY.secret }, seed: { keyPairs: [{ keyPairName: "key-a" }] } });
  b = await startEmulator({ instances: 20, accessKeys: { [B_KEY.id]: B_KEY.secret }, seed: { keyPairs: [{ keyPairName: "key-b" }] } });
  saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (/^(ENS_|ALIBABA_CLOUD_|ALICLOUD_)/.test(k)) delete process.env[k];
  Object.assign(process.env, { ENS_POLL_INTERVAL_MS: "20", ENS_CLAIM_SETTLE_MS: "5", ENS_RETRY_DEADLINE_SECONDS: "2", ENS_CALLS_PER_SECOND: "1000" });
  setLogger({ info: (l) => logs.push(l), warn: (l) => logs.push(`warning: ${l}`) });
});
afterAll(async () => {
  process.env = saved;
  await Promise.all([a.close(), b.close()]);
});

const accountOf = (emu: RunningEmulator, key: { id: string; secret: string }, endpoint = emu.url) => ({ endpoint, accessKey: key.id, secretKey: key.secret });
const keyId = (emu: RunningEmulator, name: string) => emu.state().keyPairs.find((k) => k.keyPairName === name)!.keyPairId;
const boundTo = (emu: RunningEmulator, name: string, among?: string[]) =>
  emu
    .state()
    .instances.filter((i) => i.keyPairName === name && (!among || among.includes(i.instanceId)))
    .map((i) => i.instanceId)
    .sort();

async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
  const res = await provider.check(olds, { __provider: "PROVIDER-TEXT", ...news });
  if (res.failures.length) throw new Error(JSON.stringify(res.failures));
  return res.inputs;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("changing account.endpoint", () => {
  it("regression (attack on 621a12d): the same ENS written as another URL (127.0.0.1 -> localhost; in real life http -> https, which the provider's own warning asks for) is an update (its owner tags there prove it), never a replacement whose delete unbinds what the new resource bound", async () => {
    const mine = ids(1, 3);
    const inputs = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: mine, account: accountOf(a, A_KEY), __attachmentName: "respelled", __owner: "proj/stack/respelled" });
    const created = await provider.create(inputs);
    expect(boundTo(a, "key-a", mine)).toEqual(mine);

    // The user writes the same emulator (the same ENS account) with another host name.
    const respelled = a.url.replace("127.0.0.1", "localhost");
    const news = await checked({ ...inputs, account: accountOf(a, A_KEY, respelled) }, inputs);
    const d = await provider.diff(created.id, created.outs, news);
    // Proved the same ENS (its instances carry this resource's owner tags there): an update, no replacement.
    expect(d.replaces).toEqual([]);
    // The engine then does what the diff asks: a replacement, create-before-delete.
    if (d.replaces.length && d.deleteBeforeReplace) {
      await provider.delete(created.id, { ...created.outs, __provider: "x" });
      const replacement = await provider.create(news);
      expect(replacement.outs.attachedInstanceIds).toEqual(mine);
    } else if (d.replaces.length) {
      const replacement = await provider.create(news);
      await provider.delete(created.id, { ...created.outs, __provider: "x" });
      // The state now says the replacement binds these instances: ENS must agree.
      expect(replacement.outs.attachedInstanceIds).toEqual(mine);
    } else {
      await provider.update(created.id, created.outs, news);
    }
    expect(boundTo(a, "key-a", mine)).toEqual(mine);
  });
});

describe("error messages name where the endpoint came from", () => {
  it("regression (attack on 621a12d): once any resource's account.endpoint names an endpoint, a resource WITHOUT account on the same (stack) endpoint is told it came from account.endpoint", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    // A resource with its own account on that endpoint: its message rightly names account.endpoint.
    const withAccount = await provider.check({}, { __provider: "x", keyPairId: "ssh-whatever0001", instanceIds: ids(1, 1), account: { endpoint: url, accessKey: A_KEY.id, secretKey: A_KEY.secret } });
    expect(withAccount.failures.map((f) => f.reason).join("\n")).toContain("from the resource's account.endpoint");

    // Another resource, no account: the endpoint is the stack's (ENS_ENDPOINT). The hint must send the user there.
    process.env.ENS_ENDPOINT = url;
    process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = A_KEY.id;
    process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = A_KEY.secret;
    try {
      const res = await provider.check({}, { __provider: "x", keyPairId: "ssh-whatever0001", instanceIds: ids(1, 1) });
      const text = res.failures.map((f) => f.reason).join("\n");
      expect(text).toContain("cannot reach ENS");
      expect(text).not.toContain("account.endpoint");
      expect(text).toContain("ens:endpoint / ENS_ENDPOINT");
    } finally {
      delete process.env.ENS_ENDPOINT;
      delete process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
      delete process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    }
  });
});

describe("concurrency across accounts (held)", () => {
  it("two stop-first attachments of different accounts with the same instance IDs, run at once, never sign for or reach the other account", async () => {
    const both = ids(10, 6);
    const [ea, eb] = [a, b];
    // Make the instances Running so that the rolling window (leases, renewals, pollers) is exercised.
    for (const emu of [ea, eb]) for (const id of both) emu.world.setInstanceStatus(id, "Running");
    const inA = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: both, stopInstances: true, maxStoppedInstances: 2, account: accountOf(a, A_KEY), __attachmentName: "roll-a", __owner: "p/s/roll-a" });
    const inB = await checked({ keyPairId: keyId(b, "key-b"), instanceIds: both, stopInstances: true, maxStoppedInstances: 2, account: accountOf(b, B_KEY), __attachmentName: "roll-b", __owner: "p/s/roll-b" });
    const markA = a.journal().length;
    const markB = b.journal().length;
    const [ra, rb] = await Promise.all([provider.create(inA), provider.create(inB)]);
    expect(ra.outs.attachedInstanceIds).toEqual(both);
    expect(rb.outs.attachedInstanceIds).toEqual(both);
    expect(new Set(a.journal().slice(markA).map((j) => j.accessKeyId))).toEqual(new Set([A_KEY.id]));
    expect(new Set(b.journal().slice(markB).map((j) => j.accessKeyId))).toEqual(new Set([B_KEY.id]));
    await Promise.all([provider.delete(ra.id, { ...ra.outs, __provider: "x" }), provider.delete(rb.id, { ...rb.outs, __provider: "x" })]);
    expect(boundTo(a, "key-a", both)).toEqual([]);
    expect(boundTo(b, "key-b", both)).toEqual([]);
  });
});

describe("secrets and stored accounts (held)", () => {
  it.each([["default"], ["v2"]])("a delete from the state with a secret nobody checked in this process (signature %s), refused by ENS, names the endpoint and never the secret", async (alg) => {
    const inputs = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: ids(17, 1), account: accountOf(a, A_KEY), __attachmentName: `del-${alg}` });
    const created = await provider.create(inputs);
    const WRONG = `never-checked-${alg}-secret/+=77`;
    if (alg === "v2") process.env.ENS_SIGNATURE_ALGORITHM = "v2";
    try {
      const mark = logs.length;
      const err = await provider.delete(created.id, { ...created.outs, account: { ...created.outs.account, secretKey: WRONG }, __provider: "x" }).then(() => undefined, (e) => e as Error);
      expect(err).toBeDefined();
      const text = `${err!.message}\n${err!.stack}\n${logs.slice(mark).join("\n")}`;
      expect(text).toContain(`ENS at ${a.url} refused the access key`);
      for (const form of [WRONG, encodeURIComponent(WRONG), WRONG.replace(/\+/g, " ")]) expect(text).not.toContain(form);
    } finally {
      delete process.env.ENS_SIGNATURE_ALGORITHM;
    }
    await provider.delete(created.id, { ...created.outs, __provider: "x" });
    expect(boundTo(a, "key-a", ids(17, 1))).toEqual([]);
  });

  it("removing account when the stack's endpoint is the same ENS is an update in the stack's account; with another endpoint it is a replacement", async () => {
    const inputs = await checked({ keyPairId: keyId(a, "key-a"), instanceIds: ids(18, 1), account: accountOf(a, A_KEY), __attachmentName: "unaccount" });
    const created = await provider.create(inputs);
    Object.assign(process.env, { ENS_ENDPOINT: a.url, ALIBABA_CLOUD_ACCESS_KEY_ID: A_KEY.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: A_KEY.secret });
    try {
      const { account: _drop, ...without } = inputs;
      const news = await checked(without, inputs);
      expect(await provider.diff(created.id, created.outs, news)).toMatchObject({ changes: true, replaces: [] });
      const { outs } = await provider.update(created.id, created.outs, news);
      expect(outs.account).toBeUndefined();
      process.env.ENS_ENDPOINT = b.url;
      expect(await provider.diff(created.id, created.outs, news)).toMatchObject({ replaces: ["account"] });
      process.env.ENS_ENDPOINT = a.url;
      await provider.delete(created.id, { ...outs, __provider: "x" });
    } finally {
      for (const k of ["ENS_ENDPOINT", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"]) delete process.env[k];
    }
    expect(boundTo(a, "key-a", ids(18, 1))).toEqual([]);
  });
});

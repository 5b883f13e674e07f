/**
 * Issue 18 item 1: the `account` input (pulumi-alicloud's names) that lets one program span ENS accounts. Its
 * validation (every failure names the field under account. and holds no secret), its fallback to the stack settings,
 * one client (and so one call budget) per account, and the module-level state that must be scoped by account: the
 * in-process stop windows (provider/protocol/fleet.ts) and the SDK's claims.
 */
import { describeSource } from "../../provider/ens";
import { accountKey, currentAccountKey, getClient, readSettings, withAccount } from "../../provider/settings";
import { effectiveBounds, registerWindow } from "../../provider/protocol/fleet";
import { checkInputs } from "../../provider/validate";
import { claimInstances, claimScope } from "../../sdk/claims";

const valid = { keyPairId: "ssh-abc", instanceIds: ["i-a1"] };
const failuresOf = (account: unknown) => checkInputs({ ...valid, account }).failures;
const SECRET = "account-secret-Value/+=0042";

describe("account: validation in check", () => {
  it("accepts pulumi-alicloud's fields and keeps them (no empty ones)", () => {
    const account = { endpoint: "http://127.0.0.1:8734", region: "cn-hangzhou", accessKey: "LTAIaccountKey0001", secretKey: SECRET, securityToken: "CAIS-token-000001" };
    const res = checkInputs({ ...valid, account });
    expect(res.failures).toEqual([]);
    expect(res.inputs.account).toEqual(account);
    expect(checkInputs({ ...valid, account: { profile: "prod", assumeRole: { roleArn: "acs:ram::1:role/x", sessionName: "s", sessionExpiration: 900, policy: "{}", externalId: "e" } } }).failures).toEqual([]);
    expect(checkInputs({ ...valid, account: { endpoint: "ens.aliyuncs.com", profile: "" } }).inputs.account).toEqual({ endpoint: "ens.aliyuncs.com" });
    expect(checkInputs({ ...valid, account: {} }).inputs).not.toHaveProperty("account");
    expect(checkInputs({ ...valid, account: null }).inputs).not.toHaveProperty("account");
  });

  it.each([
    [{ endpoit: "http://127.0.0.1:1" }, "account.endpoit", /unknown field "endpoit": did you mean endpoint\?/],
    [{ acessKey: "LTAI1234" }, "account.acessKey", /did you mean accessKey\?/],
    [{ foo: 1 }, "account.foo", /account takes endpoint, region, accessKey, secretKey, securityToken, profile, assumeRole/],
    [{ endpoint: "ftp://h" }, "account.endpoint", /must use http or https/],
    [{ endpoint: "http://h/path" }, "account.endpoint", /no path/],
    [{ endpoint: 42 }, "account.endpoint", /must be a URL such as https:\/\/ens\.aliyuncs\.com/],
    [{ region: "Hang Zhou" }, "account.region", /such as cn-hangzhou/],
    [{ secretKey: SECRET }, "account.secretKey", /secretKey without accessKey: set account.accessKey too/],
    [{ accessKey: "LTAIaccountKey0001" }, "account.accessKey", /accessKey without secretKey/],
    [{ securityToken: "CAIS-token-000001" }, "account.securityToken", /securityToken without accessKey/],
    [{ accessKey: "LTAIaccountKey0001", secretKey: SECRET, profile: "prod" }, "account.profile", /either accessKey \+ secretKey or profile/],
    [{ accessKey: 12345678 }, "account.accessKey", /must be a string/],
    [{ assumeRole: "acs:ram::1:role/x" }, "account.assumeRole", /must be an object \{roleArn/],
    [{ assumeRole: { sessionName: "s" } }, "account.assumeRole.roleArn", /required/],
    [{ assumeRole: { roleArn: "acs:ram::1:role/x", roleArm: "y" } }, "account.assumeRole.roleArm", /did you mean roleArn\?/],
    [{ assumeRole: { roleArn: "acs:ram::1:role/x", sessionExpiration: 60 } }, "account.assumeRole.sessionExpiration", /900 to 43200/],
    ["http://127.0.0.1:1", "account", /must be an object such as \{ endpoint/],
  ])("%j fails as %s", (account, property, reason) => {
    const failures = failuresOf(account);
    expect(failures.map((f) => f.property)).toContain(property);
    expect(failures.find((f) => f.property === property)!.reason).toMatch(reason);
  });

  it("never shows a secret value, even a malformed one", () => {
    const failures = [...failuresOf({ secretKey: SECRET }), ...failuresOf({ accessKey: "LTAIaccountKey0001", secretKey: [SECRET] }), ...failuresOf({ accessKey: "LTAIaccountKey0001", secretKey: SECRET, securityToken: { t: SECRET } })];
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(failures)).not.toContain(SECRET);
  });

  it("values not known yet (preview) are left for the apply", () => {
    const U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(failuresOf({ endpoint: U, accessKey: U, secretKey: U })).toEqual([]);
    expect(failuresOf(U)).toEqual([]);
  });
});

describe("account: fallback to the stack settings, field by field", () => {
  const config = (values: Record<string, unknown> = {}) => ({ get: (k: string) => values[k] as string | undefined });
  const ENV = { ENS_ENDPOINT: "http://127.0.0.1:9001", ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIenvKey00000001", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "env-secret-000001" };

  it("no account: as today", () => {
    const s = readSettings(ENV, config(), undefined);
    expect(s.endpoint).toBe("http://127.0.0.1:9001");
    expect(describeSource(s.credentials as any)).toBe("access key LTAI...001");
  });

  it("endpoint alone: the stack's credentials; keys alone: the stack's endpoint", () => {
    expect(readSettings(ENV, config(), { endpoint: "http://127.0.0.1:9002" })).toMatchObject({ endpoint: "http://127.0.0.1:9002", credentials: { accessKeyId: "LTAIenvKey00000001" } });
    const s = readSettings(ENV, config({ "alicloud:accessKey": "LTAIcfgKey00000001", "alicloud:secretKey": "cfg-secret-0001" }), { accessKey: "LTAIaccKey00000001", secretKey: SECRET });
    expect(s).toMatchObject({ endpoint: "http://127.0.0.1:9001", credentials: { accessKeyId: "LTAIaccKey00000001", accessKeySecret: SECRET } });
  });

  it("the account's profile wins over the stack's keys; the account's own key or profile drops the stack's role", () => {
    const cfg = config({ "alicloud:accessKey": "LTAIcfgKey00000001", "alicloud:secretKey": "cfg-secret-0001", "alicloud:assumeRole": { roleArn: "acs:ram::1:role/stack" } });
    expect(describeSource(readSettings(ENV, cfg, { profile: "other" }).credentials as any)).toBe('profile "other" (account.profile)');
    expect(describeSource(readSettings(ENV, cfg, { accessKey: "LTAIaccKey00000001", secretKey: SECRET }).credentials as any)).toBe("access key LTAI...001");
    // Only a role: assumed with the stack's key (one base key, one role per account: the usual multi-account set-up).
    expect(describeSource(readSettings(ENV, cfg, { assumeRole: { roleArn: "acs:ram::2:role/acct" } }).credentials as any)).toBe("role acs:ram::2:role/acct (account.assumeRole), assumed with access key LTAI...001");
    // Nothing about credentials in the account: the stack's role as today.
    expect(describeSource(readSettings(ENV, cfg, { endpoint: "http://127.0.0.1:9002" }).credentials as any)).toBe("role acs:ram::1:role/stack (alicloud:assumeRole), assumed with access key LTAI...001");
  });

  it("the region picks the STS endpoint of a role, unless ens:stsEndpoint names one", () => {
    const s = readSettings(ENV, config(), { region: "cn-shanghai", assumeRole: { roleArn: "acs:ram::2:role/acct" } });
    expect(s.credentials).toMatchObject({ kind: "assumeRole", stsEndpoint: "sts.cn-shanghai.aliyuncs.com" });
    expect(readSettings(ENV, config({ "ens:stsEndpoint": "127.0.0.1:4443" }), { region: "cn-shanghai", assumeRole: { roleArn: "acs:ram::2:role/acct" } }).credentials).toMatchObject({ stsEndpoint: "127.0.0.1:4443" });
  });

  it("a loopback account endpoint with no credentials anywhere names the account's fields", () => {
    expect(() => readSettings({}, config(), { endpoint: "http://127.0.0.1:9002" })).toThrow(/no ENS credentials for http:\/\/127\.0\.0\.1:9002: set account\.accessKey and account\.secretKey/);
  });
});

describe("one client per account", () => {
  const config = { get: () => undefined };
  const A = { endpoint: "http://127.0.0.1:9101", accessKey: "LTAIaccountA000001", secretKey: "secret-A-000001" };
  const B = { endpoint: "http://127.0.0.1:9102", accessKey: "LTAIaccountB000001", secretKey: "secret-B-000001" };

  it("resources of one account share a client (and its budget); another endpoint or key gets its own", () => {
    const a1 = getClient(readSettings({}, config, A));
    const a2 = getClient(readSettings({}, config, { ...A }));
    const b = getClient(readSettings({}, config, B));
    const aOtherKey = getClient(readSettings({}, config, { ...A, accessKey: "LTAIaccountC000001" }));
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    expect(aOtherKey).not.toBe(a1);
    expect(a1.endpoint).toBe(A.endpoint);
    expect(b.endpoint).toBe(B.endpoint);
    // A client of the first account stays in use while the other one is used.
    expect(getClient(readSettings({}, config, A))).toBe(a1);
  });

  it("inside an operation of an account, getClient() and readSettings() are that account's", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { ENS_ENDPOINT: "http://127.0.0.1:9100", ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIenvKey00000001", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "env-secret-000001" });
    try {
      const [inA, inB, outside] = await Promise.all([
        withAccount(A, async () => (await new Promise((r) => setTimeout(r, 5)), getClient())),
        withAccount(B, async () => getClient()),
        Promise.resolve(getClient()),
      ]);
      expect(inA.endpoint).toBe(A.endpoint);
      expect(inB.endpoint).toBe(B.endpoint);
      expect(outside.endpoint).toBe("http://127.0.0.1:9100");
      expect(await withAccount(A, async () => readSettings().endpoint)).toBe(A.endpoint);
      expect(await withAccount(A, async () => currentAccountKey())).toBe(accountKey(readSettings(process.env, config, A)));
      expect(accountKey(readSettings(process.env, config, A))).not.toContain(A.secretKey);
    } finally {
      process.env = saved;
    }
  });
});

describe("messages name the account's endpoint", () => {
  it("a connection failure says the endpoint came from the resource's account.endpoint", async () => {
    const saved = { ...process.env };
    process.env.ENS_RETRY_DEADLINE_SECONDS = "0.3";
    try {
      const account = { endpoint: "http://127.0.0.1:1", accessKey: "LTAIaccountD000001", secretKey: "secret-D-000001" };
      const err = await withAccount(account, () => getClient().describeKeyPairs().catch((e: Error) => e));
      expect(String((err as Error).message)).toContain("cannot reach ENS at http://127.0.0.1:1 (from the resource's account.endpoint)");
      expect(String((err as Error).message)).not.toContain("secret-D-000001");
    } finally {
      process.env = saved;
    }
  });
});

describe("module-level state is scoped by account", () => {
  it("stop windows of another account do not tighten this one's bounds", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { ALIBABA_CLOUD_ACCESS_KEY_ID: "LTAIenvKey00000001", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "env-secret-000001" });
    try {
      const other = await withAccount({ endpoint: "http://127.0.0.1:9201" }, async () => registerWindow(() => [["i-x1", "r1"]], { maxStopped: 1, maxStoppedPerRegion: 1 }));
      const same = await withAccount({ endpoint: "http://127.0.0.1:9202" }, async () => registerWindow(() => [["i-y1", "r1"]], { maxStopped: 5 }));
      const mine = await withAccount({ endpoint: "http://127.0.0.1:9202" }, async () => {
        const w = registerWindow(() => [], { maxStopped: 10 });
        return { w, bounds: effectiveBounds({ maxStopped: 10 }, w.self, []) };
      });
      expect(mine.bounds).toEqual({ maxStopped: 5 });
      for (const w of [other, same, mine.w]) w.done();
    } finally {
      process.env = saved;
    }
  });

  it("two accounts may both have instance i-xxx: the SDK's claims collide only within one account", () => {
    const a = claimScope("p", "dev", { endpoint: "http://127.0.0.1:9301", accessKey: "LTAIaccountA000001" });
    const b = claimScope("p", "dev", { endpoint: "http://127.0.0.1:9302", accessKey: "LTAIaccountB000001" });
    expect(a).not.toBe(b);
    expect(claimScope("p", "dev", { endpoint: "http://127.0.0.1:9301/", accessKey: "LTAIaccountA000001", secretKey: "x" })).toBe(a);
    expect(claimScope("p", "dev", undefined)).toBe("p/dev");
    expect(a).not.toContain("secret");
    expect(claimInstances(a, "web-a", ["i-same01"])).toBeUndefined();
    expect(claimInstances(b, "web-b", ["i-same01"])).toBeUndefined();
    expect(claimInstances(a, "other-a", ["i-same01"])).toContain('"other-a" and "web-a"');
  });
});

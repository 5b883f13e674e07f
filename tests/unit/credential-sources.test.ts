/**
 * Credentials as pulumi-alicloud users have them: a CLI profile (alicloud:profile, ~/.aliyun/config.json or
 * ~/.alibabacloud/credentials) and a RAM role to assume (alicloud:assumeRole), with a temp HOME and fake profile
 * files. Calls go to the emulator on loopback; AssumeRole goes to a loopback STS fake over HTTPS (in a child process
 * that trusts its certificate). No secret shows in an error, and every secret a source yields is registered.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { RunningEmulator, startEmulator } from "../../emulator";
import { credentialSettings, describeSource } from "../../provider/ens";
import { getClient, readSettings, useStackConfig } from "../../provider/settings";
import { ROOT } from "../helpers/installed-package";
import { startStsFake, StsFake } from "../helpers/sts-fake";

const PROFILE_KEY = { id: "LTAIprofileKey000001", secret: "profile-secret-Value/+=0042" };
const INI_KEY = { id: "LTAIiniKey0000000001", secret: "ini-secret-Value/+=0042" };
const ROLE_ARN = "acs:ram::1234567890123456:role/ens-deployer";
const STS_ISSUED = { accessKeyId: "STS.tempKey0000000001", accessKeySecret: "sts-temp-secret-Value/+=77", securityToken: "CAIS-sts-fake-token/+=0123456789abcdef" };

let emu: RunningEmulator;
let home: string;

beforeAll(async () => {
  emu = await startEmulator({
    instances: 3,
    accessKeys: { [PROFILE_KEY.id]: PROFILE_KEY.secret, [INI_KEY.id]: INI_KEY.secret, [STS_ISSUED.accessKeyId]: STS_ISSUED.accessKeySecret },
    seed: { keyPairs: [{ keyPairName: "cred-key" }] },
  });
});
afterAll(() => emu.close());

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-credhome-"));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const writeCliConfig = (profiles: object[], current = "default") => {
  fs.mkdirSync(path.join(home, ".aliyun"), { recursive: true });
  fs.writeFileSync(path.join(home, ".aliyun", "config.json"), JSON.stringify({ current, profiles }));
};
const writeIni = (text: string) => {
  fs.mkdirSync(path.join(home, ".alibabacloud"), { recursive: true });
  fs.writeFileSync(path.join(home, ".alibabacloud", "credentials"), text);
};
const akProfile = (name: string, key = PROFILE_KEY) => ({ name, mode: "AK", access_key_id: key.id, access_key_secret: key.secret, region_id: "cn-hangzhou" });
const config = (values: Record<string, unknown>) => ({ get: (k: string) => values[k] as string | undefined });
const env = (extra: Record<string, string> = {}) => ({ ENS_ENDPOINT: emu.url, ...extra });

interface ChildResult {
  ok: boolean;
  code?: string;
  message?: string;
  /** redact(TEST_PROBE) after the call: whether the secrets read were registered. */
  probe?: string;
}

/**
 * Runs one DescribeKeyPairs in a node process of its own with HOME = the temp home (the library reads it through
 * os.homedir(), which jest's sandboxed process.env does not reach), trusting the STS fake's certificate if any.
 */
async function inChild(values: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<ChildResult> {
  // Only PATH from this process: no ALIBABA_CLOUD_* / ALICLOUD_* of the machine running the tests leaks in.
  const script = `
    const { readSettings, getClient } = require("./provider/settings");
    const { redact } = require("./provider/ens");
    const values = JSON.parse(process.env.TEST_CONFIG);
    (async () => {
      const client = getClient(readSettings(process.env, { get: (k) => values[k] }));
      await client.findKeyPair({ keyPairName: "cred-key" });
      return { ok: true };
    })()
      .catch((e) => ({ ok: false, code: e.code, message: e.message }))
      .then((r) => process.stdout.write(JSON.stringify({ ...r, probe: redact(process.env.TEST_PROBE || "") })));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: home, ENS_ENDPOINT: emu.url, TEST_CONFIG: JSON.stringify(values), ...extraEnv },
  });
  return JSON.parse(stdout);
}

/** The access keys ENS saw for one DescribeKeyPairs signed with what the settings resolve to. */
async function keySeenByEns(values: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<string | undefined> {
  const before = emu.journal().length;
  const r = await inChild(values, extraEnv);
  expect(r).toMatchObject({ ok: true });
  return emu.journal()[before]?.accessKeyId;
}

describe("alicloud:profile", () => {
  it("signs with the named profile of the aliyun CLI config (~/.aliyun/config.json), not the current one", async () => {
    writeCliConfig([akProfile("default", { id: "LTAIother", secret: "other-secret-123" }), akProfile("dev")]);
    expect(await keySeenByEns({ "alicloud:profile": "dev" })).toBe(PROFILE_KEY.id);
  });

  it("falls back to the section of that name in ~/.alibabacloud/credentials", async () => {
    writeIni(`[default]\ntype = access_key\naccess_key_id = LTAIwrong\naccess_key_secret = wrong-secret-1\n\n[ci]\ntype = access_key\naccess_key_id = ${INI_KEY.id}\naccess_key_secret = ${INI_KEY.secret}\n`);
    expect(await keySeenByEns({ "alicloud:profile": "ci" })).toBe(INI_KEY.id);
  });

  it("takes ALICLOUD_PROFILE from the environment; stack config wins: its keys over its profile over the environment's keys", async () => {
    writeCliConfig([akProfile("dev"), akProfile("other", INI_KEY)]);
    expect(await keySeenByEns({}, { ALICLOUD_PROFILE: "dev" })).toBe(PROFILE_KEY.id);
    // Stack config profile over environment keys.
    expect(await keySeenByEns({ "alicloud:profile": "other" }, { ALIBABA_CLOUD_ACCESS_KEY_ID: PROFILE_KEY.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: PROFILE_KEY.secret })).toBe(INI_KEY.id);
    // Stack config keys over stack config profile.
    expect(await keySeenByEns({ "alicloud:profile": "other", "alicloud:accessKey": PROFILE_KEY.id, "alicloud:secretKey": PROFILE_KEY.secret })).toBe(PROFILE_KEY.id);
    // Environment keys over the environment's profile.
    expect(await keySeenByEns({}, { ALICLOUD_PROFILE: "other", ALICLOUD_ACCESS_KEY: PROFILE_KEY.id, ALICLOUD_SECRET_KEY: PROFILE_KEY.secret })).toBe(PROFILE_KEY.id);
  });

  it("a missing profile fails the call naming the profile, the setting, both files and the profiles there, with no secret", async () => {
    writeCliConfig([akProfile("dev")]);
    const r = await inChild({ "alicloud:profile": "prod" }, { TEST_PROBE: `x ${PROFILE_KEY.secret} y` });
    expect(r.code).toBe("CredentialsNotFound");
    expect(r.message).toContain(`no ENS credentials from profile "prod" (alicloud:profile): no profile "prod" in ${path.join(home, ".aliyun/config.json")} (aliyun configure --profile prod) or ${path.join(home, ".alibabacloud/credentials")}; profiles there: dev`);
    expect(r.message).not.toContain(PROFILE_KEY.secret);
    // Reading the file registered the secrets in it: no later error can show them.
    expect(r.probe).not.toContain(PROFILE_KEY.secret);
  });

  it("a profile on a loopback endpoint is enough (no 'no credentials' refusal), and the cache key names the source, not a secret", () => {
    const settings = readSettings(env(), config({ "alicloud:profile": "dev" }));
    expect(settings.credentials).toEqual({ kind: "profile", profile: "dev", from: "alicloud:profile" });
    expect(describeSource(settings.credentials)).toBe('profile "dev" (alicloud:profile)');
    expect(getClient(settings)).toBe(getClient(readSettings(env(), config({ "alicloud:profile": "dev" }))));
  });
});

describe("alicloud:assumeRole: what is configured", () => {
  it("reads pulumi-alicloud's object (as an object or as JSON text) on top of the profile or key", () => {
    const role = { roleArn: ROLE_ARN, sessionName: "deploy", sessionExpiration: 1800, policy: { Version: "1", Statement: [] }, externalId: "ext-1" };
    for (const value of [role, JSON.stringify(role)]) {
      const stack: Record<string, unknown> = { "alicloud:profile": "dev", "alicloud:assumeRole": value };
      expect(credentialSettings((k) => stack[k], {})).toEqual({
        kind: "assumeRole",
        from: "alicloud:assumeRole",
        roleArn: ROLE_ARN,
        sessionName: "deploy",
        sessionExpiration: 1800,
        policy: '{"Version":"1","Statement":[]}',
        externalId: "ext-1",
        base: { kind: "profile", profile: "dev", from: "alicloud:profile" },
      });
    }
    const fromEnv = credentialSettings(() => undefined, { ALICLOUD_ASSUME_ROLE_ARN: ROLE_ARN, ALICLOUD_ASSUME_ROLE_SESSION_NAME: "ci", ALICLOUD_ACCESS_KEY: "LTAIbase", ALICLOUD_SECRET_KEY: "base-secret-1", ENS_STS_ENDPOINT: "https://sts-vpc.cn-hangzhou.aliyuncs.com" });
    expect(fromEnv).toMatchObject({ kind: "assumeRole", from: "ALICLOUD_ASSUME_ROLE_ARN", roleArn: ROLE_ARN, sessionName: "ci", stsEndpoint: "sts-vpc.cn-hangzhou.aliyuncs.com", base: { accessKeyId: "LTAIbase" } });
    expect(describeSource(fromEnv)).toBe(`role ${ROLE_ARN} (ALICLOUD_ASSUME_ROLE_ARN), assumed with access key LTAI...ase`);
  });

  it.each([
    ["text that is not JSON", "role", /alicloud:assumeRole must be an object .*pulumi config set --path alicloud:assumeRole.roleArn/],
    ["no roleArn", { sessionName: "x" }, /alicloud:assumeRole: roleArn is required/],
    ["a short session", { roleArn: ROLE_ARN, sessionExpiration: 60 }, /sessionExpiration must be whole seconds from 900 to 43200, got "60"/],
    ["an unknown field", { roleArn: ROLE_ARN, role_arn: "x" }, /unknown field\(s\) role_arn: the fields are roleArn, sessionName, sessionExpiration, policy, externalId/],
  ])("refuses %s, naming the setting", (_what, value, message) => {
    expect(() => readSettings(env(), config({ "alicloud:assumeRole": value }))).toThrow(message);
  });
});

describe("alicloud:assumeRole: through STS", () => {
  let sts: StsFake;
  beforeAll(async () => {
    sts = await startStsFake({ [PROFILE_KEY.id]: PROFILE_KEY.secret }, STS_ISSUED);
  });
  afterAll(() => sts.close());
  const trustSts = () => ({ NODE_EXTRA_CA_CERTS: sts.caFile, ENS_STS_ENDPOINT: sts.host });


  it("assumes the role with the profile's key (signed, with the configured session) and calls ENS with the STS key and token", async () => {
    writeCliConfig([akProfile("dev")]);
    const before = emu.journal().length;
    const r = await inChild({ "alicloud:profile": "dev", "alicloud:assumeRole": { roleArn: ROLE_ARN, sessionName: "deploy", sessionExpiration: 1800, externalId: "ext-1" } }, { ...trustSts(), TEST_PROBE: `${STS_ISSUED.accessKeySecret} ${STS_ISSUED.securityToken} ${PROFILE_KEY.secret}` });
    expect(r.ok).toBe(true);
    // The STS answer and the base key that signed AssumeRole are registered for redaction.
    for (const secret of [STS_ISSUED.accessKeySecret, STS_ISSUED.securityToken, PROFILE_KEY.secret]) expect(r.probe).not.toContain(secret);
    const call = sts.requests.at(-1)!;
    expect(call).toMatchObject({ signatureOk: true, query: { Action: "AssumeRole", AccessKeyId: PROFILE_KEY.id }, form: { RoleArn: ROLE_ARN, RoleSessionName: "deploy", DurationSeconds: "1800", ExternalId: "ext-1" } });
    const seen = emu.journal().slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((j) => j.accessKeyId === STS_ISSUED.accessKeyId)).toBe(true);
  });

  it("a refused AssumeRole fails with CredentialsNotFound naming the role and its base, holding no secret", async () => {
    writeCliConfig([akProfile("dev", { id: PROFILE_KEY.id, secret: "not-the-right-secret-99" })]);
    const r = await inChild({ "alicloud:profile": "dev", "alicloud:assumeRole": JSON.stringify({ roleArn: ROLE_ARN }) }, { ...trustSts(), TEST_PROBE: "not-the-right-secret-99" });
    expect(r.ok).toBe(false);
    expect(r.code).toBe("CredentialsNotFound");
    expect(r.message).toContain(`no ENS credentials from role ${ROLE_ARN} (alicloud:assumeRole), assumed with profile "dev" (alicloud:profile)`);
    expect(r.message).toContain("InvalidAccessKeyId.NotFound");
    expect(r.message).not.toContain("not-the-right-secret-99");
    expect(r.probe).not.toContain("not-the-right-secret-99");
  });
});

describe("alicloud:* keys this provider does not use", () => {
  it("are named in one note line, once per provider process", () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, "log").mockImplementation((l: string) => void lines.push(l));
    try {
      const rawConfig = { "alicloud:region": "cn-hangzhou", "alicloud:accessKey": "x", "alicloud:skipRegionValidation": "true", "proj:instanceIds": "[]" };
      useStackConfig({ rawConfig, get: (k: string) => (rawConfig as Record<string, string>)[k] } as any);
      useStackConfig({ rawConfig, get: (k: string) => (rawConfig as Record<string, string>)[k] } as any);
    } finally {
      spy.mockRestore();
      useStackConfig({ get: () => undefined });
    }
    expect(lines).toEqual([
      "note: pulumi-ens-keypair does not use stack config alicloud:region, alicloud:skipRegionValidation: it reads alicloud:accessKey, alicloud:secretKey, alicloud:securityToken, alicloud:profile, alicloud:assumeRole (and ens:* settings; ENS has one endpoint, ens:endpoint, for every region)",
    ]);
  });
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { boundTo, e2eStack } from "../helpers/e2e-env";
import { startStsFake } from "../helpers/sts-fake";

/**
 * Credentials as pulumi-alicloud users set them, through the real CLI: a CLI profile (alicloud:profile, in a temp HOME)
 * and a role (alicloud:assumeRole set with `config set --path`, so the engine hands over an object), AssumeRole sent to
 * a loopback STS fake over HTTPS; alicloud:region, which this provider does not use, gets one note line.
 */
jest.setTimeout(300000);

const BASE = { id: "LTAIe2eProfileKey001", secret: "e2e-profile-secret/+=Value9" };
const ISSUED = { accessKeyId: "STS.e2eTempKey000001", accessKeySecret: "e2e-sts-temp-secret/+=Value7", securityToken: "CAIS-e2e-sts-token/+=abcdef0123456789" };
const ROLE_ARN = "acs:ram::1234567890123456:role/ens-deployer";

it("alicloud:profile + alicloud:assumeRole from stack config: AssumeRole signed with the profile's key, ENS called with the STS key, no secret in output or state, one note for alicloud:region", async () => {
  const t = await e2eStack({ credentialsInEnv: false, accessKeys: { [BASE.id]: BASE.secret, [ISSUED.accessKeyId]: ISSUED.accessKeySecret } });
  const sts = await startStsFake({ [BASE.id]: BASE.secret }, ISSUED);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "ens-kp-e2ehome-"));
  try {
    fs.mkdirSync(path.join(home, ".aliyun"));
    fs.writeFileSync(path.join(home, ".aliyun", "config.json"), JSON.stringify({ current: "default", profiles: [{ name: "deploy", mode: "AK", access_key_id: BASE.id, access_key_secret: BASE.secret }] }));
    t.stack.env = { ...t.stack.env, HOME: home, NODE_EXTRA_CA_CERTS: sts.caFile };
    await t.stack.config({ keyPairId: t.keyPairId, instanceIds: t.ids(1, 3), "alicloud:profile": "deploy", "alicloud:region": "cn-hangzhou", "ens:stsEndpoint": sts.host });
    await t.stack.run(["config", "set", "--path", "alicloud:assumeRole.roleArn", ROLE_ARN]);
    await t.stack.run(["config", "set", "--path", "alicloud:assumeRole.sessionName", "e2e-deploy"]);

    const preview = await t.stack.run(["preview"]);
    // The CLI shows a message on the resource's progress line and again under Diagnostics: count the latter.
    const diagnostics = preview.stdout.slice(preview.stdout.indexOf("Diagnostics:"));
    const notes = diagnostics.split("\n").filter((l) => l.includes("note: pulumi-ens-keypair does not use stack config"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain("does not use stack config alicloud:region: it reads alicloud:accessKey");

    const up = await t.stack.run(["up", "--yes"]);
    expect(boundTo(t.emu, "e2e-key")).toEqual(t.ids(1, 3));
    expect(sts.requests.length).toBeGreaterThan(0);
    for (const r of sts.requests) expect(r).toMatchObject({ signatureOk: true, query: { AccessKeyId: BASE.id }, form: { RoleArn: ROLE_ARN, RoleSessionName: "e2e-deploy" } });
    expect(new Set(t.emu.journal().map((j) => j.accessKeyId))).toEqual(new Set([ISSUED.accessKeyId]));

    const { text } = await t.stack.exportState();
    for (const secret of [BASE.secret, ISSUED.accessKeySecret, ISSUED.securityToken]) {
      expect(text).not.toContain(secret);
      expect(preview.stdout + preview.stderr + up.stdout + up.stderr).not.toContain(secret);
    }
    await t.stack.run(["destroy", "--yes"]);
    expect(boundTo(t.emu, "e2e-key")).toEqual([]);
  } finally {
    await sts.close();
    await t.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});

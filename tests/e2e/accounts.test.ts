import fs from "node:fs";
import path from "node:path";
import { RunningEmulator, startEmulator } from "../../emulator";
import { boundTo } from "../helpers/e2e-env";
import { programFolder } from "../helpers/installed-package";
import { PulumiStack } from "../helpers/pulumi-cli";

/**
 * Issue 18 item 1 through the real CLI and the packed package: one program, two ENS accounts (two emulators with
 * different keys and key pairs, the same instance IDs), no endpoint or credentials in the environment or the stack's
 * ens:* / alicloud:* config. Each attachment is bound in its own emulator; neither secret is in the state in plain
 * text; a wrong secret fails only its resource, naming its endpoint and no secret; destroy reaches both accounts
 * from the state alone (the program's config then holds a wrong secret).
 */
jest.setTimeout(300000);

const PROGRAM = path.join(__dirname, "accounts-program");
const A = { id: "LTAIe2eAccountA00001", secret: "e2e-account-A-secret/+=Value1" };
const B = { id: "LTAIe2eAccountB00001", secret: "e2e-account-B-secret/+=Value2" };
const WRONG = "e2e-wrong-secret-for-A/+=Value3";
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

let emuA: RunningEmulator;
let emuB: RunningEmulator;
let stack: PulumiStack;

beforeAll(async () => {
  emuA = await startEmulator({ instances: 10, stopDelayMs: 50, startDelayMs: 50, accessKeys: { [A.id]: A.secret }, seed: { keyPairs: [{ keyPairName: "key-a" }] } });
  emuB = await startEmulator({ instances: 10, stopDelayMs: 50, startDelayMs: 50, accessKeys: { [B.id]: B.secret }, seed: { keyPairs: [{ keyPairName: "key-b" }] } });
  stack = new PulumiStack(programFolder(PROGRAM), { ENS_POLL_INTERVAL_MS: "50", E2E_SECRET_B: B.secret });
  // No ~/.aliyun or ~/.alibabacloud profile either: the accounts come from the program only.
  stack.env.HOME = stack.home;
  await stack.init();
});
afterAll(async () => {
  await Promise.all([emuA?.close(), emuB?.close()]);
});

const keyId = (emu: RunningEmulator, name: string) => emu.state().keyPairs.find((k) => k.keyPairName === name)!.keyPairId;
const attachments = (bIds: string[]) => [
  { name: "in-a", keyPairId: keyId(emuA, "key-a"), instanceIds: ids(1, 3), endpoint: emuA.url, accessKey: A.id, secretConfig: "secretKeyA" },
  { name: "in-b", keyPairId: keyId(emuB, "key-b"), instanceIds: bIds, endpoint: emuB.url, accessKey: B.id, secretEnv: "E2E_SECRET_B" },
];

it("up binds each attachment in its own account; the state holds no secret in plain text; a wrong secret fails only its resource; destroy unbinds both from the state", async () => {
  for (const k of Object.keys(stack.env)) expect(k).not.toMatch(/^(ENS_ENDPOINT|ALIBABA_CLOUD_|ALICLOUD_)/);
  await stack.config({ attachments: JSON.stringify(attachments(ids(1, 3))) });
  await stack.config({ secretKeyA: A.secret }, ["secretKeyA"]);

  const up = await stack.run(["up", "--yes", "--skip-preview"]);
  expect(boundTo(emuA, "key-a")).toEqual(ids(1, 3));
  expect(boundTo(emuB, "key-b")).toEqual(ids(1, 3));
  expect(new Set(emuA.journal().map((j) => j.accessKeyId))).toEqual(new Set([A.id]));
  expect(new Set(emuB.journal().map((j) => j.accessKeyId))).toEqual(new Set([B.id]));

  const { text } = await stack.exportState();
  for (const secret of [A.secret, B.secret]) {
    expect(text).not.toContain(secret);
    expect(up.stdout + up.stderr).not.toContain(secret);
  }
  const resources = JSON.parse(text).deployment.resources.filter((r: any) => r.type === "pulumi-nodejs:dynamic/ens:KeyPairAttachment");
  expect(resources).toHaveLength(2);
  for (const r of resources) {
    // Inputs: the secret fields are secrets (the endpoint stays readable); outputs: the whole account is a secret.
    expect(r.inputs.account.secretKey[SECRET_SIG]).toBeDefined();
    expect(typeof r.inputs.account.endpoint).toBe("string");
    expect(r.outputs.account[SECRET_SIG]).toBeDefined();
    expect(r.outputs.__provider.length).toBeLessThan(300);
  }

  // A's secret is now wrong, and B gets one more instance: B is updated, A fails naming its endpoint, no secret shown.
  await stack.config({ secretKeyA: WRONG }, ["secretKeyA"]);
  await stack.config({ attachments: JSON.stringify(attachments(ids(1, 4))) });
  const bad = await stack.run(["up", "--yes", "--skip-preview", "--continue-on-error"], { allowFailure: true });
  const shown = bad.stdout + bad.stderr;
  if (process.env.E2E_SHOW) console.log(shown);
  expect(bad.code).not.toBe(0);
  expect(shown).toContain(`ENS at ${emuA.url} refused the access key`);
  expect(shown).not.toContain(`ENS at ${emuB.url} refused`);
  for (const secret of [A.secret, B.secret, WRONG]) expect(shown).not.toContain(secret);
  expect(boundTo(emuB, "key-b")).toEqual(ids(1, 4));
  expect(boundTo(emuA, "key-a")).toEqual(ids(1, 3));
  expect((await stack.exportState()).text).not.toContain(WRONG);

  // The program's config still holds the wrong secret: destroy uses the account stored in the state.
  const destroy = await stack.run(["destroy", "--yes", "--skip-preview"]);
  expect(boundTo(emuA, "key-a")).toEqual([]);
  expect(boundTo(emuB, "key-b")).toEqual([]);
  for (const secret of [A.secret, B.secret, WRONG]) expect(destroy.stdout + destroy.stderr).not.toContain(secret);
  fs.rmSync(stack.backend, { recursive: true, force: true });
});

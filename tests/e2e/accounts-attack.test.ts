import fs from "node:fs";
import path from "node:path";
import { RunningEmulator, startEmulator } from "../../emulator";
import { boundTo } from "../helpers/e2e-env";
import { programFolder } from "../helpers/installed-package";
import { PulumiStack } from "../helpers/pulumi-cli";

/**
 * Attacks on issue 18 item 1 through the real CLI and the packed package: the account given as an Output, as a secret
 * Output and as plain strings, under ens:signatureAlgorithm v2; no secret may appear in the CLI's output or in
 * `pulumi stack export` after up, refresh, an update and destroy.
 */
jest.setTimeout(400000);

const PROGRAM = path.join(__dirname, "accounts-attack-program");
const A = { id: "LTAIe2eAttackA00001", secret: "e2e-attack-A-secret/+=ValueA" };
const B = { id: "LTAIe2eAttackB00001", secret: "e2e-attack-B-secret/+=ValueB" };
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

let emuA: RunningEmulator;
let emuB: RunningEmulator;
let stack: PulumiStack;

beforeAll(async () => {
  emuA = await startEmulator({ instances: 10, stopDelayMs: 50, startDelayMs: 50, accessKeys: { [A.id]: A.secret }, seed: { keyPairs: [{ keyPairName: "key-a" }] } });
  emuB = await startEmulator({ instances: 10, stopDelayMs: 50, startDelayMs: 50, accessKeys: { [B.id]: B.secret }, seed: { keyPairs: [{ keyPairName: "key-b" }] } });
  stack = new PulumiStack(programFolder(PROGRAM), { ENS_POLL_INTERVAL_MS: "50", E2E_SECRET_A: A.secret, E2E_SECRET_B: B.secret });
  stack.env.HOME = stack.home;
  await stack.init();
});
afterAll(async () => {
  await Promise.all([emuA?.close(), emuB?.close()]);
  if (stack) fs.rmSync(stack.backend, { recursive: true, force: true });
});

const keyId = (emu: RunningEmulator, name: string) => emu.state().keyPairs.find((k) => k.keyPairName === name)!.keyPairId;
const attachments = (extra: number) => [
  { name: "a-output", form: "output", keyPairId: keyId(emuA, "key-a"), instanceIds: ids(1, 2), endpoint: emuA.url, accessKey: A.id, secretEnv: "E2E_SECRET_A" },
  { name: "a-plain", form: "plain", keyPairId: keyId(emuA, "key-a"), instanceIds: ids(3, 2 + extra), endpoint: emuA.url, accessKey: A.id, secretEnv: "E2E_SECRET_A" },
  { name: "b-secret", form: "secretOutput", keyPairId: keyId(emuB, "key-b"), instanceIds: ids(1, 2), endpoint: emuB.url, accessKey: B.id, secretEnv: "E2E_SECRET_B" },
];

function noSecret(text: string, where: string) {
  for (const s of [A.secret, B.secret, encodeURIComponent(A.secret), encodeURIComponent(B.secret)]) {
    if (text.includes(s)) throw new Error(`${where} shows a secret in plain text: ${text.slice(Math.max(0, text.indexOf(s) - 300), text.indexOf(s) + 100)}`);
  }
}

it("accounts as an Output, a secret Output and plain strings, signature v2: up, refresh, update and destroy never show a secret", async () => {
  await stack.config({ "ens:signatureAlgorithm": "v2", attachments: JSON.stringify(attachments(0)) });
  const up = await stack.run(["up", "--yes", "--skip-preview", "--diff"]);
  noSecret(up.stdout + up.stderr, "pulumi up");
  expect(boundTo(emuA, "key-a")).toEqual(ids(1, 4));
  expect(boundTo(emuB, "key-b")).toEqual(ids(1, 2));
  expect(new Set(emuA.journal().map((j) => j.accessKeyId))).toEqual(new Set([A.id]));
  expect(new Set(emuB.journal().map((j) => j.accessKeyId))).toEqual(new Set([B.id]));

  let exported = await stack.exportState();
  noSecret(exported.text, "stack export after up");
  for (const r of JSON.parse(exported.text).deployment.resources.filter((r: any) => r.type === "pulumi-nodejs:dynamic/ens:KeyPairAttachment")) {
    expect(r.outputs.account[SECRET_SIG]).toBeDefined();
  }

  const refresh = await stack.run(["refresh", "--yes", "--skip-preview"]);
  noSecret(refresh.stdout + refresh.stderr, "pulumi refresh");
  exported = await stack.exportState();
  noSecret(exported.text, "stack export after refresh");

  await stack.config({ attachments: JSON.stringify(attachments(1)) });
  const preview = await stack.run(["preview", "--diff"]);
  noSecret(preview.stdout + preview.stderr, "pulumi preview --diff");
  const update = await stack.run(["up", "--yes", "--skip-preview", "--diff"]);
  noSecret(update.stdout + update.stderr, "pulumi up (update)");
  expect(boundTo(emuA, "key-a")).toEqual(ids(1, 5));
  exported = await stack.exportState();
  noSecret(exported.text, "stack export after update");

  const destroy = await stack.run(["destroy", "--yes", "--skip-preview"]);
  noSecret(destroy.stdout + destroy.stderr, "pulumi destroy");
  expect(boundTo(emuA, "key-a")).toEqual([]);
  expect(boundTo(emuB, "key-b")).toEqual([]);
});

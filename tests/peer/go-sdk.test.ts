/**
 * Peer client: Alibaba's own Go SDK (github.com/aliyun/alibaba-cloud-sdk-go, services/ens, HMAC-SHA1 RPC signer)
 * drives the emulator through a key pair's whole life. tests/peer/go is our CLI around the SDK; it prints one JSON
 * line per step and exits non-zero on the first call the SDK rejects or decodes wrongly. Built (and cached outside
 * the repository) by scripts/ensure-go-peer.sh; the first build downloads the SDK through the Go module proxy.
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { JournalEntry, RunningEmulator, startEmulator } from "../../emulator";

const ROOT = join(__dirname, "..", "..");
const KEY = "go-sdk-key";
const TAG = { key: "go-peer", value: "alibaba-cloud-sdk-go" };
const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
const IDS = [id(1), id(2), id(3)];
const BYSTANDERS = [id(4), id(5)];

interface Step {
  step: number;
  action: string;
  ok: boolean;
  requestId?: string;
  fields?: Record<string, any>;
  error?: string;
  errorCode?: string;
  errorMessage?: string;
  httpStatus?: number;
}
interface PeerRun {
  code: number | null;
  steps: Step[];
  stdout: string;
  stderr: string;
}

let binary: string;

beforeAll(async () => {
  // Cold: go mod download + compile, about 2 minutes on 2 cores; cached: instant.
  const { stdout } = await promisify(execFile)("bash", [join(ROOT, "scripts", "ensure-go-peer.sh")], {
    cwd: ROOT,
    timeout: 10 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  binary = stdout.trim().split("\n").pop()!;
  expect(binary).toMatch(/go-peer\/[0-9a-f]{12}\/ens-go-peer$/);
}, 10 * 60_000);

/** Runs the Go peer asynchronously (the emulator lives in this process and must keep serving). */
function runPeer(emu: RunningEmulator, extra: string[] = [], secret = emu.accessKeySecret): Promise<PeerRun> {
  const args = [
    "-endpoint", emu.url,
    "-access-key-id", emu.accessKeyId,
    "-access-key-secret", secret,
    "-instance-ids", IDS.join(","),
    "-key-name", KEY,
    "-tag-key", TAG.key,
    "-tag-value", TAG.value,
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    // No proxy variables: the peer may only reach the emulator (its transport refuses anything else anyway).
    const env = { ...process.env, HTTP_PROXY: "", HTTPS_PROXY: "", http_proxy: "", https_proxy: "" };
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const steps = stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Step);
      resolve({ code, steps, stdout, stderr });
    });
  });
}

/** Fails with the peer's own output when it did not pass every step. */
function expectPassed(run: PeerRun): void {
  if (run.code !== 0) throw new Error(`ens-go-peer exited ${run.code}\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout}`);
}

const ACTIONS = [
  "CreateKeyPair", "DescribeKeyPairs", "DescribeInstances", "StopInstances", "DescribeInstances", "AttachKeyPair",
  "DescribeInstances", "TagResources", "ListTagResources", "DetachKeyPair", "DescribeInstances", "StartInstances",
  "DescribeInstances", "StartInstances", "DeleteKeyPairs", "DescribeKeyPairs",
];
const forAll = <T>(value: T) => Object.fromEntries(IDS.map((i) => [i, value]));

describe("Alibaba's Go SDK (services/ens) drives the emulator", () => {
  let emu: RunningEmulator;
  let run: PeerRun;
  let journal: JournalEntry[];
  const step = (n: number) => run.steps[n - 1];
  const calls = (action: string) => journal.filter((j) => j.action === action);

  beforeAll(async () => {
    // Stop/start take a moment, so the SDK sees Stopping/Starting and has to wait like a real user.
    emu = await startEmulator({ instances: 5, initialStatus: "Running", stopDelayMs: 150, startDelayMs: 150 });
    run = await runPeer(emu);
    journal = emu.journal();
  });
  afterAll(() => emu?.close());

  test("every step passes: the SDK's signer is accepted and its typed responses decode", () => {
    expectPassed(run);
    expect(run.steps.map((s) => s.action)).toEqual(ACTIONS);
    expect(run.steps.every((s) => s.ok && typeof s.requestId === "string" && s.requestId.length > 0)).toBe(true);
    expect(run.stderr).toMatch(/all 16 steps passed/);
  });

  test("CreateKeyPair's KeyPairId is the emulator's and DescribeKeyPairs finds it by that id", () => {
    expectPassed(run);
    const created = step(1).fields!;
    expect(created).toEqual(expect.objectContaining({ keyPairName: KEY, privateKeyBodyIsPem: true }));
    expect(created.keyPairId).toMatch(/^ssh-/);
    const described = step(2).fields!;
    expect(described.totalCount).toBe(1);
    expect(described.keyPairs).toEqual([
      expect.objectContaining({ keyPairId: created.keyPairId, keyPairName: KEY, keyPairFingerPrint: created.keyPairFingerPrint }),
    ]);
    expect(calls("CreateKeyPair")[0].params).toEqual(expect.objectContaining({ KeyPairName: KEY, RegionId: "cn-hangzhou" }));
  });

  test("DescribeInstances decodes Status through Running -> Stopped -> Running and KeyPairName after attach and detach", () => {
    expectPassed(run);
    const [before, stopped, attached, detached, restarted] = [3, 5, 7, 11, 13].map((n) => step(n).fields!);
    expect(before).toEqual(expect.objectContaining({ code: 0, totalCount: 3, status: forAll("Running"), keyPairName: forAll("") }));
    expect(stopped.status).toEqual(forAll("Stopped"));
    expect(stopped.polls).toBeGreaterThanOrEqual(1);
    expect(attached).toEqual(expect.objectContaining({ status: forAll("Stopped"), keyPairName: forAll(KEY) }));
    expect(detached.keyPairName).toEqual(forAll(""));
    expect(restarted).toEqual(expect.objectContaining({ status: forAll("Running"), keyPairName: forAll("") }));
    // The SDK sends InstanceIds as the JSON array string ENS wants (plus null for its unset JSON-typed fields).
    for (const j of calls("DescribeInstances")) {
      expect(j.httpStatus).toBe(200);
      expect(JSON.parse(j.params.InstanceIds)).toEqual(IDS);
    }
  });

  test("StopInstances/StartInstances: the Go SDK's InstanceIds.N form is understood and Code 200 decodes per instance", () => {
    expectPassed(run);
    const ok = IDS.map((i) => ({ code: 200, instanceId: i, message: expect.any(String) }));
    expect(step(4).fields!.instanceResponses).toEqual(ok);
    expect(step(12).fields!.instanceResponses).toEqual(ok);
    const [stop] = calls("StopInstances");
    expect(stop.httpStatus).toBe(200);
    expect(stop.params).toEqual(
      expect.objectContaining({ "InstanceIds.1": IDS[0], "InstanceIds.2": IDS[1], "InstanceIds.3": IDS[2], RegionId: "cn-hangzhou" }),
    );
    expect(stop.params).not.toHaveProperty("InstanceIds");
    expect(calls("StartInstances")[0].params).toEqual(expect.objectContaining({ "InstanceIds.1": IDS[0], "InstanceIds.3": IDS[2] }));
    // All three were down at once, and nothing else.
    expect(emu.stats().peakStopped).toBe(3);
  });

  test("a per-instance failure (StartInstances on a Running instance) decodes into the SDK's int64 Code, with the reason", () => {
    expectPassed(run);
    const f = step(14).fields!;
    expect(f.outcome).toBe("per-instance failure");
    expect(f.instanceResponses).toEqual([{ code: expect.any(Number), instanceId: IDS[0], message: expect.stringMatching(/IncorrectInstanceStatus/) }]);
    expect(f.instanceResponses[0].code).not.toBe(200);
    expect(calls("StartInstances")[1]).toEqual(expect.objectContaining({ httpStatus: 200, params: expect.objectContaining({ "InstanceIds.1": IDS[0] }) }));
  });

  test("AttachKeyPair/DetachKeyPair through the SDK's CommonRequest: every instance Code 200, FailCount 0", () => {
    expectPassed(run);
    for (const n of [6, 10]) {
      expect(step(n).fields).toEqual(
        expect.objectContaining({ httpStatus: 200, keyPairId: step(1).fields!.keyPairId, keyPairName: KEY, totalCount: 3, failCount: 0, codes: forAll(200) }),
      );
    }
    for (const action of ["AttachKeyPair", "DetachKeyPair"]) {
      const [j] = calls(action);
      expect(j.httpStatus).toBe(200);
      expect(JSON.parse(j.params.InstanceIds)).toEqual(IDS);
      expect(j.params.KeyPairId).toBe(step(1).fields!.keyPairId);
    }
  });

  test("TagResources/ListTagResources: the tag set with the SDK's ResourceId.N/Tag.N form is listed back for every instance", () => {
    expectPassed(run);
    expect(step(9).fields!.tagged).toEqual(forAll(TAG.value));
    expect(calls("TagResources")[0].params).toEqual(
      expect.objectContaining({ ResourceType: "instance", "ResourceId.1": IDS[0], "ResourceId.3": IDS[2], "Tag.1.Key": TAG.key, "Tag.1.Value": TAG.value }),
    );
  });

  test("the emulator ends where a user would expect: key pair gone, instances Running with no key and the tag, bystanders untouched", () => {
    expectPassed(run);
    expect(step(16).fields!.totalCount).toBe(0);
    const state = emu.state();
    expect(state.keyPairs.find((k) => k.keyPairName === KEY)).toBeUndefined();
    const byId = Object.fromEntries(state.instances.map((i) => [i.instanceId, i]));
    for (const i of IDS) {
      expect(byId[i].status).toBe("Running");
      expect(byId[i].keyPairName).toBeUndefined();
      expect(byId[i].tags).toEqual({ [TAG.key]: TAG.value });
    }
    for (const i of BYSTANDERS) expect(byId[i]).toEqual(expect.objectContaining({ status: "Running", tags: {} }));
    expect(byId[BYSTANDERS[0]].keyPairName).toBeUndefined();
    // Every call was signed correctly and answered 200: no rejected request form.
    expect(journal.filter((j) => j.httpStatus !== 200)).toEqual([]);
    expect(journal.every((j) => j.accessKeyId === emu.accessKeyId)).toBe(true);
  });
});

test("a wrong secret: the SDK reports the emulator's SignatureDoesNotMatch and the peer stops at the first step", async () => {
  const emu = await startEmulator({ instances: 3, initialStatus: "Running" });
  try {
    const run = await runPeer(emu, [], "not-the-secret");
    expect(run.code).toBe(1);
    expect(run.steps).toEqual([
      expect.objectContaining({ step: 1, action: "CreateKeyPair", ok: false, errorCode: "SignatureDoesNotMatch", httpStatus: 400 }),
    ]);
    expect(run.stderr).toMatch(/FAILED at step 1: CreateKeyPair: .*SignatureDoesNotMatch/s);
    expect(emu.state().keyPairs).toEqual([]);
  } finally {
    await emu.close();
  }
});

test('with the emulator\'s "string" result-code style, the Go SDK cannot read a per-instance failure (why "number" is the default)', async () => {
  const emu = await startEmulator({ instances: 3, initialStatus: "Running", resultCodes: "string" });
  try {
    const run = await runPeer(emu);
    expect(run.code).toBe(1);
    // Successes carry Code 200 in both styles: the first 13 steps pass; the failure's Code "IncorrectInstanceStatus" does not decode into int64.
    expect(run.steps.slice(0, 13).every((s) => s.ok)).toBe(true);
    expect(run.steps[13]).toEqual(expect.objectContaining({ step: 14, action: "StartInstances", ok: false, errorCode: "SDK.JsonUnmarshalError" }));
    expect(run.steps[13]).not.toHaveProperty("httpStatus");
    expect(run.stderr).toMatch(/FAILED at step 14: StartInstances/);
  } finally {
    await emu.close();
  }
});

/** 10,000 instances: everything still answers (no timing assertions here; see bench/emulator-rps.ts). */
import { RunningEmulator, startEmulator } from "../../emulator";
import { call, emuClient, jsonIds } from "../helpers/emu-raw-client";

const N = 10_000;
const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: N, initialStatus: "Running", seed: { keyPairs: [{ keyPairName: "bulk" }] } });
});
afterAll(() => emu.close());

test("DescribeInstances pages through 10,000 instances", async () => {
  const c = emuClient(emu);
  const first = await call(c, "DescribeInstances", { PageSize: 100 });
  expect(first.TotalCount).toBe(N);
  const last = await call(c, "DescribeInstances", { PageSize: 100, PageNumber: 100 });
  expect(last.Instances.Instance.at(-1).InstanceId).toBe(id(N));
  const seen = new Set<string>();
  const pages = await Promise.all(
    Array.from({ length: 100 }, (_, i) => call(c, "DescribeInstances", { PageSize: 100, PageNumber: i + 1 })),
  );
  for (const p of pages) for (const inst of p.Instances.Instance) seen.add(inst.InstanceId);
  expect(seen.size).toBe(N);
});

test("stop 1,000 in one StopInstances call, filter by Status, attach in batches of 30", async () => {
  const c = emuClient(emu, { signatureAlgorithm: "v2" });
  const ids = Array.from({ length: 1000 }, (_, i) => id(i + 1));
  const stop = await call(c, "StopInstances", { InstanceIds: ids.join(",") });
  expect(stop.InstanceResponses.filter((r: any) => r.Code === 200)).toHaveLength(1000);
  expect(emu.stats()).toEqual(expect.objectContaining({ peakStopped: 1000, stoppedNow: 1000 }));
  const stopped = await call(c, "DescribeInstances", { Status: "Stopped", PageSize: 100, PageNumber: 10 });
  expect(stopped.TotalCount).toBe(1000);
  expect(stopped.Instances.Instance.at(-1).InstanceId).toBe(id(1000));
  for (let i = 0; i < 90; i += 30) {
    const r = await call(c, "AttachKeyPair", { InstanceIds: jsonIds(ids.slice(i, i + 30)), KeyPairName: "bulk" });
    expect(r.FailCount).toBe(0);
  }
  expect(emu.state().instances.filter((i) => i.keyPairName === "bulk")).toHaveLength(90);
});

test("tags on thousands of instances list in pages", async () => {
  const c = emuClient(emu);
  for (let start = 1; start <= 2000; start += 50) {
    const ids = Array.from({ length: 50 }, (_, i) => id(start + i));
    await call(c, "TagResources", { ResourceType: "instance", ResourceId: ids, Tag: [{ Key: "wave", Value: "1" }] });
  }
  let token: string | undefined;
  let count = 0;
  do {
    const page = await call(c, "ListTagResources", { ResourceType: "instance", Tag: [{ Key: "wave" }], ...(token ? { NextToken: token } : {}) });
    count += page.TagResources.length;
    token = page.NextToken;
  } while (token);
  expect(count).toBe(2000);
});

import { LiveInstance, planBatches, planBinding, PlanInput } from "../../provider/plan";

const ids = (n: number, prefix = "i-p") => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, "0")}`);
const live = (list: string[], status = "Stopped", keyPairName?: string) => new Map<string, LiveInstance>(list.map((id) => [id, { status, keyPairName }]));
const base = (over: Partial<PlanInput>): PlanInput => ({
  desired: [],
  attached: [],
  live: new Map(),
  keyPairName: "kp",
  stopInstances: false,
  maxStoppedInstances: 30,
  ...over,
});

describe("planBinding: batching", () => {
  it.each([1, 30, 31, 95, 1000])("attaches %i stopped instances in exactly ceil(n/30) full batches", (n) => {
    const desired = ids(n);
    const plan = planBinding(base({ desired, live: live(desired) }));
    const batches = planBatches(plan);
    expect(batches).toHaveLength(Math.ceil(n / 30));
    expect(batches.every((b) => b.action === "AttachKeyPair" && b.instanceIds.length <= 30)).toBe(true);
    expect(batches.slice(0, -1).every((b) => b.instanceIds.length === 30)).toBe(true);
    expect(batches.flatMap((b) => b.instanceIds).sort()).toEqual([...desired].sort());
    expect(plan.waves).toHaveLength(1);
    expect(plan.waves[0].stop).toEqual([]);
  });

  it("on update detaches the removed and attaches the added, and leaves the rest alone", () => {
    const before = ids(95);
    const desired = [...before.slice(45), ...ids(10, "i-new")];
    const all = live([...before, ...ids(10, "i-new")]);
    for (const id of before) all.set(id, { status: "Stopped", keyPairName: "kp" });
    const batches = planBatches(planBinding(base({ desired, attached: before, live: all })));
    const detach = batches.filter((b) => b.action === "DetachKeyPair");
    const attach = batches.filter((b) => b.action === "AttachKeyPair");
    expect(detach.map((b) => b.instanceIds.length)).toEqual([30, 15]);
    expect(detach.flatMap((b) => b.instanceIds).sort()).toEqual(before.slice(0, 45).sort());
    expect(attach.map((b) => b.instanceIds)).toEqual([ids(10, "i-new")]);
  });

  it("adopts instances that already carry the key and skips detaching ones that no longer do", () => {
    const m = live(["i-a1", "i-b2", "i-c3"]);
    m.set("i-a1", { status: "Stopped", keyPairName: "kp" });
    m.set("i-c3", { status: "Stopped", keyPairName: undefined });
    const plan = planBinding(base({ desired: ["i-a1", "i-b2"], attached: ["i-c3"], live: m }));
    expect(plan.alreadyAttached).toEqual(["i-a1"]);
    expect(plan.alreadyDetached).toEqual(["i-c3"]);
    expect(planBatches(plan)).toEqual([{ action: "AttachKeyPair", instanceIds: ["i-b2"] }]);
  });

  it("reports desired instances ENS does not know and instances carrying another key", () => {
    const m = live(["i-a1"], "Stopped", "other-key");
    const plan = planBinding(base({ desired: ["i-a1", "i-gone"], live: m }));
    expect(plan.missing).toEqual(["i-gone"]);
    expect(plan.replacesKey).toEqual([{ instanceId: "i-a1", keyPairName: "other-key" }]);
  });

  it("treats a vanished attached instance as already detached", () => {
    const plan = planBinding(base({ desired: [], attached: ["i-gone"], live: new Map() }));
    expect(plan.alreadyDetached).toEqual(["i-gone"]);
    expect(planBatches(plan)).toEqual([]);
  });
});

describe("planBinding: stopping", () => {
  it("blocks running instances when stopInstances is false, and plans no stop", () => {
    const desired = ids(5);
    const m = live(desired);
    m.set(desired[1], { status: "Running" });
    const plan = planBinding(base({ desired, live: m }));
    expect(plan.blockedRunning).toEqual([desired[1]]);
  });

  it("reports transitional states as unready", () => {
    const plan = planBinding(base({ desired: ["i-a1"], live: live(["i-a1"], "Starting") }));
    expect(plan.unready).toEqual([{ instanceId: "i-a1", status: "Starting" }]);
  });

  it.each([
    [300, 30],
    [300, 300],
    [300, 45],
    [95, 1000],
  ])("with %i running and maxStoppedInstances %i: every wave within the bound, ceil(n/30) calls, each running instance stopped once", (n, max) => {
    const desired = ids(n);
    const plan = planBinding(base({ desired, live: live(desired, "Running"), stopInstances: true, maxStoppedInstances: max }));
    expect(plan.blockedRunning).toEqual([]);
    expect(plan.waves.every((w) => w.stop.length <= max)).toBe(true);
    expect(plan.waves.flatMap((w) => w.stop).sort()).toEqual([...desired].sort());
    expect(planBatches(plan)).toHaveLength(Math.ceil(n / 30));
    for (const w of plan.waves) {
      // A wave only binds instances that are stopped by then.
      const stopped = new Set(w.stop);
      expect(w.batches.flatMap((b) => b.instanceIds).every((id) => stopped.has(id))).toBe(true);
    }
  });

  it("splits batches when maxStoppedInstances is below 30", () => {
    const desired = ids(50);
    const plan = planBinding(base({ desired, live: live(desired, "Running"), stopInstances: true, maxStoppedInstances: 10 }));
    expect(plan.waves).toHaveLength(5);
    expect(plan.waves.every((w) => w.stop.length === 10)).toBe(true);
    expect(planBatches(plan)).toHaveLength(5);
  });

  it("puts stopped instances in batches that need no stop, ahead of the waves that do", () => {
    const stopped = ids(40, "i-s");
    const running = ids(20, "i-r");
    const m = new Map([...live(stopped), ...live(running, "Running")]);
    const plan = planBinding(base({ desired: [...running, ...stopped], live: m, stopInstances: true, maxStoppedInstances: 30 }));
    expect(plan.waves[0].stop).toEqual([]);
    expect(plan.waves[0].batches.flatMap((b) => b.instanceIds)).toEqual(stopped.slice(0, 30));
    expect(plan.waves.flatMap((w) => w.stop).sort()).toEqual([...running].sort());
    expect(planBatches(plan)).toHaveLength(2);
  });
});

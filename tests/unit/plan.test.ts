import { interleave, LiveInstance, planBatches, planBinding, PlanInput } from "../../provider/plan";

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
    // Nothing to stop: these are exactly the calls made, all at once.
    expect(plan.batches).toEqual(batches);
    expect(plan.rolling.instances).toEqual([]);
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
  ])("with %i running and maxStoppedInstances %i: every running instance rolls once, the bound is carried, ceil(n/30) calls at the fewest", (n, max) => {
    const desired = ids(n);
    const plan = planBinding(base({ desired, live: live(desired, "Running"), stopInstances: true, maxStoppedInstances: max }));
    expect(plan.blockedRunning).toEqual([]);
    expect(plan.batches).toEqual([]);
    expect(plan.rolling.instances.map((i) => i.instanceId).sort()).toEqual([...desired].sort());
    expect(plan.rolling.instances.every((i) => i.action === "AttachKeyPair")).toBe(true);
    expect(plan.rolling).toMatchObject({ maxStopped: max, maxStoppedPerRegion: undefined });
    expect(planBatches(plan)).toHaveLength(Math.ceil(n / 30));
  });

  it("sends the instances that need no stop at once, in full batches, and rolls only the running ones", () => {
    const stopped = ids(40, "i-s");
    const running = ids(20, "i-r");
    const m = new Map([...live(stopped), ...live(running, "Running")]);
    const plan = planBinding(base({ desired: [...running, ...stopped], live: m, stopInstances: true, maxStoppedInstances: 30 }));
    expect(plan.batches.map((b) => b.instanceIds)).toEqual([stopped.slice(0, 30), stopped.slice(30)]);
    expect(plan.rolling.instances.map((i) => i.instanceId)).toEqual(running);
    // At the fewest, the stopped ones share a call with the first running ones.
    expect(planBatches(plan).map((b) => b.instanceIds.length)).toEqual([30, 30]);
  });

  it("rolls detaches and attaches of running instances, each with its action", () => {
    const before = ids(4, "i-old");
    const after = ids(3, "i-new");
    const m = new Map([...live(before, "Running", "kp"), ...live(after, "Running")]);
    const plan = planBinding(base({ desired: after, attached: before, live: m, stopInstances: true }));
    expect(plan.rolling.instances.filter((i) => i.action === "DetachKeyPair").map((i) => i.instanceId)).toEqual(before);
    expect(plan.rolling.instances.filter((i) => i.action === "AttachKeyPair").map((i) => i.instanceId)).toEqual(after);
    expect(planBatches(plan)).toEqual([
      { action: "DetachKeyPair", instanceIds: before },
      { action: "AttachKeyPair", instanceIds: after },
    ]);
  });
});

describe("planBinding: regions", () => {
  // 300 instances in 10 regions, grouped by region in ID order (as one city's IDs often come together).
  const desired = ids(300);
  const regionOf = (id: string) => `cn-city${Math.floor(Number(id.slice(3)) / 30)}-telecom`;
  const m = new Map<string, LiveInstance>(desired.map((id) => [id, { status: "Running", region: regionOf(id) }]));

  it("interleaves regions: any 10 consecutive instances of the window's order come from 10 different regions", () => {
    const plan = planBinding(base({ desired, live: m, stopInstances: true, maxStoppedInstances: 30, maxStoppedPerRegion: 3 }));
    const order = plan.rolling.instances;
    expect(order).toHaveLength(300);
    for (let i = 0; i + 10 <= order.length; i += 10) expect(new Set(order.slice(i, i + 10).map((x) => x.region)).size).toBe(10);
    // Within a region the order is kept.
    const first = order.filter((x) => x.region === "cn-city0-telecom").map((x) => x.instanceId);
    expect(first).toEqual(desired.slice(0, 30));
  });

  it("says the bounds and how many instances each region holds", () => {
    const plan = planBinding(base({ desired: desired.slice(0, 45), live: m, stopInstances: true, maxStoppedInstances: 20, maxStoppedPerRegion: 3 }));
    expect(plan.rolling.maxStopped).toBe(20);
    expect(plan.rolling.maxStoppedPerRegion).toBe(3);
    expect(plan.rolling.regions).toEqual([
      { region: "cn-city0-telecom", count: 30 },
      { region: "cn-city1-telecom", count: 15 },
    ]);
  });

  it("uneven regions: the small ones run out and the rest keep their turn", () => {
    const items = [
      ...["a1", "a2", "a3", "a4"].map((id) => ({ instanceId: id, action: "AttachKeyPair" as const, region: "A" })),
      { instanceId: "b1", action: "AttachKeyPair" as const, region: "B" },
    ];
    expect(interleave(items).map((i) => i.instanceId)).toEqual(["a1", "b1", "a2", "a3", "a4"]);
  });
});

/** Delay ranges drawn per instance and transition (deterministic with a seed), regions, and the downtime statistics. */
import { spawnSync } from "node:child_process";
import { RunningEmulator, startEmulator } from "../../emulator";
import { DelayDraw, parseDelay } from "../../emulator/delays";
import { World } from "../../emulator/model";
import { emulatorCliPath } from "../helpers/emu-cli";
import { adminGet, call, emuClient } from "../helpers/emu-raw-client";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;

describe("parseDelay", () => {
  it.each([
    [undefined, { min: 0, max: 0 }],
    [250, { min: 250, max: 250 }],
    ["250", { min: 250, max: 250 }],
    ["1000-3000", { min: 1000, max: 3000 }],
    [[5, 9] as const, { min: 5, max: 9 }],
  ])("%j -> %j", (v, want) => expect(parseDelay(v, "stopDelayMs")).toEqual(want));

  it.each(["3000-1000", "1s", "-5", "1.5-2", [3, 1] as const, -1])("%j is refused naming the option", (v) => {
    expect(() => parseDelay(v, "stopDelayMs")).toThrow(/^stopDelayMs must be/);
  });
});

/** A world with 50 Running instances; `order` decides in which order they are stopped. */
function stopAll(seed: string | undefined, order: number[]) {
  const w = new World(new DelayDraw({ min: 1000, max: 3000 }, { min: 500, max: 700 }, seed));
  for (let i = 1; i <= 50; i++) w.addInstance({ instanceId: id(i), status: "Running" }, 0);
  for (const i of order) w.stop(w.instances.get(id(i))!, 0);
  return new Map([...w.instances].map(([k, inst]) => [k, inst.until!]));
}

describe("draws", () => {
  const forward = Array.from({ length: 50 }, (_, i) => i + 1);
  const backward = [...forward].reverse();

  it("are drawn per instance within the range, and the same seed gives the same draws whatever the order of requests", () => {
    const a = stopAll("seed-1", forward);
    const b = stopAll("seed-1", backward);
    expect(b).toEqual(a);
    const values = [...a.values()];
    expect(values.every((v) => v >= 1000 && v <= 3000 && Number.isInteger(v))).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(30);
    // Spread over the range, not bunched at one end.
    expect(Math.min(...values)).toBeLessThan(1400);
    expect(Math.max(...values)).toBeGreaterThan(2600);
    expect(stopAll("seed-2", forward)).not.toEqual(a);
  });

  it("differ between the transitions of one instance and between its cycles", () => {
    const w = new World(new DelayDraw({ min: 0, max: 100000 }, { min: 0, max: 100000 }, "cycles"));
    const inst = w.addInstance({ instanceId: id(1), status: "Running" }, 0);
    const seen: number[] = [];
    let t = 0;
    for (let cycle = 0; cycle < 3; cycle++) {
      w.stop(inst, t);
      seen.push(inst.until! - t);
      t = inst.until!;
      expect(w.statusOf(inst, t)).toBe("Stopped");
      w.start(inst, t);
      seen.push(inst.until! - t);
      t = inst.until!;
      expect(w.statusOf(inst, t)).toBe("Running");
    }
    expect(new Set(seen).size).toBe(6);
  });
});

describe("downtime", () => {
  it("is measured per instance and cycle from the stop until Running again; mean, p95 (nearest rank) and max", () => {
    const w = new World(new DelayDraw({ min: 100, max: 100 }, { min: 200, max: 200 }));
    const insts = Array.from({ length: 20 }, (_, i) => w.addInstance({ instanceId: id(i + 1), status: "Running" }, 0));
    insts.forEach((inst) => w.stop(inst, 0));
    // Instance i is started at 100 + 10 i: its downtime is 100 + 10 i + 200.
    insts.forEach((inst, i) => {
      expect(w.statusOf(inst, 100 + 10 * i)).toBe("Stopped");
      w.start(inst, 100 + 10 * i);
    });
    expect(w.downtimes.stats(299)).toEqual({ mean: 0, p95: 0, max: 0, count: 0 }); // none Running again yet
    expect(w.downtimes.stats(10_000)).toEqual({ mean: 395, p95: 480, max: 490, count: 20 });
  });

  it("reaches stats() and the admin endpoint, with the peak per region; reset() clears it", async () => {
    const emu: RunningEmulator = await startEmulator({ instances: 40, regions: 4, initialStatus: "Running", stopDelayMs: "50-150", startDelayMs: [50, 150], randomSeed: 7 });
    try {
      const regions = emu.state().instances.map((i) => i.ensRegionId);
      // Grouped by region in ID order: ten of each, one region after another.
      expect(regions.slice(0, 10).every((r) => r === regions[0])).toBe(true);
      expect(new Set(regions).size).toBe(4);
      expect(regions[0]).toBe("cn-hangzhou-telecom");
      const c = emuClient(emu);
      await call(c, "StopInstances", { InstanceIds: [id(1), id(2), id(11)].join(",") });
      await sleep(200);
      await call(c, "StartInstances", { InstanceIds: [id(1), id(2), id(11)].join(",") });
      await sleep(200);
      const stats = emu.stats();
      expect(stats.downtime.count).toBe(3);
      expect(stats.downtime.max).toBeGreaterThanOrEqual(stats.downtime.p95);
      expect(stats.downtime.mean).toBeGreaterThan(200);
      expect(stats.peakStoppedByRegion).toEqual({ [regions[0]]: 2, [regions[10]]: 1 });
      expect((await adminGet(emu, "stats")).downtime).toEqual(stats.downtime);
      emu.reset();
      expect(emu.stats()).toMatchObject({ downtime: { count: 0 }, peakStoppedByRegion: {} });
    } finally {
      await emu.close();
    }
  });
});

describe("CLI", () => {
  const cli = emulatorCliPath();
  it.each([
    [["--stop-delay-ms", "3000-1000"], /--stop-delay-ms must be milliseconds \(e\.g\. 500\) or a range MIN-MAX/],
    [["--start-delay-ms", "fast"], /--start-delay-ms must be/],
    [["--regions", "0"], /--regions must be an integer >= 1/],
  ])("%j exits 2 naming the flag", (args, message) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("--help shows the ranges and --regions", () => {
    const r = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8", timeout: 20_000 });
    expect(r.stdout).toMatch(/--stop-delay-ms MS +Stopping -> Stopped duration, or a range MIN-MAX/);
    expect(r.stdout).toMatch(/--regions R/);
  });
});

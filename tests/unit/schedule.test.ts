/** The rolling window's scheduler, without any network: single steps, then whole runs against a simulated fleet. */
import { seededRandom } from "../../emulator/faults";
import { interleave, RollItem } from "../../provider/plan";
import { afterPoll, Bounds, DOWN, isIdle, nextStep, Phase, WindowItem } from "../../provider/schedule";

const item = (id: string, region = "r0", phase: Phase = "queued", action: "AttachKeyPair" | "DetachKeyPair" = "AttachKeyPair"): WindowItem => ({ instanceId: id, action, region, phase });
const many = (n: number, prefix: string, region = "r0", phase: Phase = "queued") => Array.from({ length: n }, (_, i) => item(`${prefix}${i}`, region, phase));

describe("nextStep", () => {
  it("fills an empty window in order, up to the bound", () => {
    const items = many(100, "i-q");
    const step = nextStep(items, { maxStopped: 30 }, true);
    expect(step.stop).toEqual(items.slice(0, 30).map((i) => i.instanceId));
    expect(step.bind).toEqual([]);
    expect(step.start).toEqual([]);
  });

  it("counts every instance not Running again against the bound, given up ones included", () => {
    const items = [...many(10, "i-s", "r0", "stopping"), ...many(5, "i-h", "r0", "held"), ...many(3, "i-l", "r0", "lost"), ...many(2, "i-d", "r0", "done"), ...many(2, "i-x", "r0", "skipped"), ...many(50, "i-q")];
    expect(nextStep(items, { maxStopped: 30 }, true).stop).toHaveLength(12);
    expect(nextStep(items, { maxStopped: 18 }, true).stop).toEqual([]);
  });

  it("holds each region to its bound and takes the next region's instances instead", () => {
    const items = [...many(2, "i-a", "A", "starting"), ...many(10, "i-aq", "A"), ...many(10, "i-bq", "B")];
    const step = nextStep(items, { maxStopped: 30, maxStoppedPerRegion: 3 }, true);
    expect(step.stop).toEqual(["i-aq0", "i-bq0", "i-bq1", "i-bq2"]);
  });

  it("binds everything stopped so far, one call per action and 30 instances, and starts what is bound", () => {
    const items = [...many(65, "i-a", "r0", "stopped"), ...Array.from({ length: 5 }, (_, i) => item(`i-d${i}`, "r1", "stopped", "DetachKeyPair")), ...many(4, "i-b", "r2", "bound")];
    const step = nextStep(items, { maxStopped: 100 }, true);
    expect(step.bind.map((b) => [b.action, b.instanceIds.length])).toEqual([
      ["DetachKeyPair", 5],
      ["AttachKeyPair", 30],
      ["AttachKeyPair", 30],
      ["AttachKeyPair", 5],
    ]);
    expect(step.start).toEqual(["i-b0", "i-b1", "i-b2", "i-b3"]);
  });

  it("stops nothing new once it may not (the engine is gone), but still binds and starts what is in flight", () => {
    const items = [...many(3, "i-s", "r0", "stopped"), ...many(2, "i-b", "r0", "bound"), ...many(10, "i-q")];
    const step = nextStep(items, { maxStopped: 30 }, false);
    expect(step.stop).toEqual([]);
    expect(step.bind[0].instanceIds).toEqual(["i-s0", "i-s1", "i-s2"]);
    expect(step.start).toEqual(["i-b0", "i-b1"]);
    expect(isIdle(nextStep(many(10, "i-q"), { maxStopped: 30 }, false))).toBe(true);
  });
});

describe("afterPoll", () => {
  it("moves what ENS shows: Stopped, Running, gone, and gives up after the time-out (a stop is held, a start lost)", () => {
    const polled = [item("i-1", "r", "stopping"), item("i-2", "r", "stopping"), item("i-3", "r", "stopping"), item("i-4", "r", "stopping"), item("i-5", "r", "starting"), item("i-6", "r", "starting"), item("i-7", "r", "starting")];
    const status: Record<string, string> = { "i-1": "Stopped", "i-2": "Stopping", "i-3": "Stopping", "i-5": "Running", "i-6": "Starting" };
    const waited: Record<string, number> = { "i-3": 301_000, "i-6": 301_000 };
    const seen = afterPoll(polled, (id) => status[id], (id) => waited[id] ?? 1000, 300_000);
    expect(seen).toEqual([
      { instanceId: "i-1", to: "stopped" },
      { instanceId: "i-3", to: "held", stopFailure: { instanceId: "i-3", code: "WaitTimeout", message: "still Stopping after 300s waiting for Stopped (raise stopTimeoutSeconds)" } },
      { instanceId: "i-4", to: "skipped", stopFailure: { instanceId: "i-4", code: "InvalidInstanceId.NotFound", message: "the instance no longer exists" } },
      { instanceId: "i-5", to: "done" },
      { instanceId: "i-6", to: "lost", notRunning: { instanceId: "i-6", code: "WaitTimeout", message: "still Starting after 300s waiting for Running (raise stopTimeoutSeconds)" } },
      { instanceId: "i-7", to: "skipped", notRunning: { instanceId: "i-7", code: "InvalidInstanceId.NotFound", message: "the instance no longer exists" } },
    ]);
  });
});

/**
 * A whole run: instances stop and start in 1-3 s (drawn per instance and transition), the fleet is polled every
 * 500 ms, and the scheduler is asked again after every polling round and every action, as roll.ts does.
 */
function simulate(items: WindowItem[], bounds: Bounds, seed = 1) {
  const rnd = seededRandom(seed);
  const dur = () => 1000 + Math.floor(rnd() * 2001);
  const readyAt = new Map<string, number>();
  const peaks = { total: 0, perRegion: new Map<string, number>() };
  const binds: { action: string; size: number; at: number }[] = [];
  const doneAt = new Map<string, number>();
  const check = () => {
    const down = items.filter((i) => DOWN.has(i.phase));
    peaks.total = Math.max(peaks.total, down.length);
    const by = new Map<string, number>();
    for (const i of down) by.set(i.region, (by.get(i.region) ?? 0) + 1);
    for (const [r, c] of by) peaks.perRegion.set(r, Math.max(peaks.perRegion.get(r) ?? 0, c));
  };
  let t = 0;
  for (; t < 3_600_000 && items.some((i) => i.phase !== "done"); t += 500) {
    for (const i of items) {
      if ((i.phase === "stopping" || i.phase === "starting") && t >= readyAt.get(i.instanceId)!) {
        i.phase = i.phase === "stopping" ? "stopped" : "done";
        if (i.phase === "done") doneAt.set(i.instanceId, t);
      }
    }
    for (let step = nextStep(items, bounds, true); !isIdle(step); step = nextStep(items, bounds, true)) {
      const byId = new Map(items.map((i) => [i.instanceId, i]));
      for (const id of step.stop) {
        byId.get(id)!.phase = "stopping";
        readyAt.set(id, t + dur());
      }
      for (const b of step.bind) {
        binds.push({ action: b.action, size: b.instanceIds.length, at: t });
        for (const id of b.instanceIds) byId.get(id)!.phase = "bound";
      }
      for (const id of step.start) {
        byId.get(id)!.phase = "starting";
        readyAt.set(id, t + dur());
      }
      check();
    }
  }
  return { wallMs: t, peaks, binds, doneAt };
}

describe("a simulated run of the rolling window", () => {
  const fleet = (n: number, regions: number): RollItem[] =>
    Array.from({ length: n }, (_, i) => ({ instanceId: `i-${String(i).padStart(5, "0")}`, action: "AttachKeyPair" as const, region: `city${Math.floor((i * regions) / n)}` }));

  it("300 instances, bound 30: never above it, every call within 30, all done in about n x 4 s / 30 plus polling", () => {
    const run = simulate(fleet(300, 1).map((i) => ({ ...i, phase: "queued" as Phase })), { maxStopped: 30 });
    expect(run.doneAt.size).toBe(300);
    expect(run.peaks.total).toBe(30);
    expect(run.binds.every((b) => b.size >= 1 && b.size <= 30)).toBe(true);
    expect(run.binds.reduce((a, b) => a + b.size, 0)).toBe(300);
    // The bound: 300 x (2 s + 2 s) / 30 = 40 s; the polling rounds add up to a round per transition.
    expect(run.wallMs).toBeLessThan(40_000 * 1.3);
  });

  it("300 instances grouped by region, 10 regions, bounds 30 and 3 per region: neither bound exceeded, no region drained first", () => {
    const items = interleave(fleet(300, 10)).map((i) => ({ ...i, phase: "queued" as Phase }));
    const run = simulate(items, { maxStopped: 30, maxStoppedPerRegion: 3 }, 7);
    expect(run.doneAt.size).toBe(300);
    expect(run.peaks.total).toBe(30);
    expect(Math.max(...run.peaks.perRegion.values())).toBe(3);
    expect(run.peaks.perRegion.size).toBe(10);
    // Halfway through, every region is about halfway through too.
    const half = [...run.doneAt.values()].sort((a, b) => a - b)[149];
    const doneByRegion = new Map<string, number>();
    for (const [id, at] of run.doneAt) if (at <= half) doneByRegion.set(items.find((i) => i.instanceId === id)!.region, (doneByRegion.get(items.find((i) => i.instanceId === id)!.region) ?? 0) + 1);
    expect(Math.min(...doneByRegion.values())).toBeGreaterThanOrEqual(10);
    expect(run.wallMs).toBeLessThan(40_000 * 1.3);
  });

  it("per-region bound alone (no global one): each region keeps its share of the window", () => {
    const items = interleave(fleet(60, 3)).map((i) => ({ ...i, phase: "queued" as Phase }));
    const first = nextStep(items, { maxStopped: 10_000, maxStoppedPerRegion: 2 }, true);
    expect(first.stop).toHaveLength(6);
    const run = simulate(items, { maxStopped: 10_000, maxStoppedPerRegion: 2 }, 3);
    expect(run.doneAt.size).toBe(60);
    expect(Math.max(...run.peaks.perRegion.values())).toBe(2);
  });

  it("a wide window over instances that come grouped by region draws on every region from the start", () => {
    const items = interleave(fleet(300, 10)).map((i) => ({ ...i, phase: "queued" as Phase }));
    const first = nextStep(items, { maxStopped: 30 }, true);
    const perRegion = new Map<string, number>();
    for (const id of first.stop) {
      const r = items.find((i) => i.instanceId === id)!.region;
      perRegion.set(r, (perRegion.get(r) ?? 0) + 1);
    }
    expect([...perRegion.values()]).toEqual(Array(10).fill(3));
  });
});

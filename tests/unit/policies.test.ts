import { EnsError } from "../../provider/ens";
import { AdaptiveRate, CallBudget, createBudget, DEFAULT_RETRY, MAX_POLL_MS, pollDelayMs, withRetry } from "../../provider/policies";

const fast = { deadlineMs: 60_000, retries: 3, minDelayMs: 1, maxDelayMs: 2 };
const throttled = () => new EnsError("Throttling.User", "slow down", "X", 400, "r", true);

describe("withRetry", () => {
  it("retries retryable errors until success and reports each retry", async () => {
    let attempts = 0;
    const seen: string[] = [];
    const out = await withRetry(async () => (++attempts < 3 ? Promise.reject(throttled()) : "ok"), fast, (e) => seen.push(e.code));
    expect(out).toBe("ok");
    expect(attempts).toBe(3);
    expect(seen).toEqual(["Throttling.User", "Throttling.User"]);
  });

  it("gives up after the policy's retries with the last error", async () => {
    let attempts = 0;
    const err = await withRetry(async () => { attempts++; throw throttled(); }, fast).catch((e) => e);
    expect(attempts).toBe(4);
    expect(err).toBeInstanceOf(EnsError);
    expect(err.code).toBe("Throttling.User");
  });

  it("never retries a non-retryable error", async () => {
    let attempts = 0;
    const err = await withRetry(async () => { attempts++; throw new EnsError("InvalidKeyPair.NotFound", "no", "X", 404); }, fast).catch((e) => e);
    expect(attempts).toBe(1);
    expect(err.code).toBe("InvalidKeyPair.NotFound");
  });
});

describe("withRetry: bounded by a deadline (issue 19.2)", () => {
  afterEach(() => jest.useRealTimers());

  it("by default retries for minutes, as Terraform does, not 8 times", async () => {
    jest.useFakeTimers();
    let attempts = 0;
    const t0 = Date.now();
    const settled = withRetry(async () => { attempts++; throw throttled(); }, DEFAULT_RETRY).catch((e) => e);
    await jest.advanceTimersByTimeAsync(DEFAULT_RETRY.deadlineMs + 10_000);
    const err = (await settled) as EnsError;
    expect(DEFAULT_RETRY.deadlineMs).toBeGreaterThanOrEqual(120_000);
    expect(attempts).toBeGreaterThan(30);
    expect(err).toBeInstanceOf(EnsError);
    expect(err).toMatchObject({ code: "Throttling.User", httpStatus: 400, requestId: "r", retryable: true, action: "X" });
    expect(err.message).toMatch(new RegExp(`^slow down \\(gave up after 30[0-5](\\.\\d)? s and ${attempts} attempts; `));
    // No retry starts after the deadline; the last wait may end at most one maximum delay past it.
    expect(Date.now() - t0).toBeLessThanOrEqual(DEFAULT_RETRY.deadlineMs + DEFAULT_RETRY.maxDelayMs + 10_000);
  });

  it("waits between attempts with a growing backoff up to maxDelayMs (Terraform: 3 s, then 5 s)", async () => {
    jest.useFakeTimers();
    const sentAt: number[] = [];
    const settled = withRetry(async () => { sentAt.push(Date.now()); throw throttled(); }, { deadlineMs: 60_000, minDelayMs: 200, maxDelayMs: 5000 }).catch((e) => e);
    await jest.advanceTimersByTimeAsync(70_000);
    await settled;
    const waits = sentAt.slice(1).map((t, i) => t - sentAt[i]);
    expect(waits[0]).toBeGreaterThanOrEqual(200);
    expect(Math.max(...waits)).toBeLessThanOrEqual(5000);
    expect(waits.slice(-3).every((w) => w >= 2500)).toBe(true);
  });

  it("a retry cap still applies when one is given (NO_RETRY: one attempt, no 'gave up')", async () => {
    let attempts = 0;
    const err = await withRetry(async () => { attempts++; throw throttled(); }, { deadlineMs: 0, retries: 0, minDelayMs: 0, maxDelayMs: 0 }).catch((e) => e);
    expect(attempts).toBe(1);
    expect(err.message).toBe("slow down");
  });
});

describe("pollDelayMs: how long to wait before the next look at instances in transition (issue 19.3)", () => {
  const BASE = 2000;

  it("polls at the base interval for the first minute", () => {
    for (const t of [0, 1000, 30_000, 59_999]) expect(pollDelayMs(t, BASE)).toBe(BASE);
  });

  it("then backs off, never faster than before and never slower than 30 s", () => {
    let last = 0;
    for (let t = 0; t <= 3_600_000; t += 1000) {
      const d = pollDelayMs(t, BASE);
      expect(d).toBeGreaterThanOrEqual(last);
      expect(d).toBeLessThanOrEqual(MAX_POLL_MS);
      last = d;
    }
    expect(MAX_POLL_MS).toBe(30_000);
    expect(pollDelayMs(120_000, BASE)).toBeGreaterThan(BASE);
    expect(pollDelayMs(30 * 60_000, BASE)).toBe(MAX_POLL_MS);
  });

  it("costs tens of looks, not hundreds, for a 30-minute stop (at most 10% late after the first minute)", () => {
    const looks = (waitMs: number) => {
      let t = 0;
      let n = 0;
      while (t < waitMs) {
        t += pollDelayMs(t, BASE);
        n++;
      }
      return { n, lateMs: t - waitMs };
    };
    const stop = looks(30 * 60_000);
    expect(stop.n).toBeLessThan(100);
    expect(30 * 60_000 / BASE).toBe(900); // the base interval alone
    expect(stop.lateMs).toBeLessThanOrEqual(MAX_POLL_MS);
    for (const w of [61_000, 90_000, 180_000, 299_000]) expect(looks(w).lateMs).toBeLessThanOrEqual(0.1 * w + 1);
    expect(looks(10_000)).toEqual({ n: 5, lateMs: 0 });
  });

  it("never polls faster than a base the user set above the cap, and accepts a base below a second", () => {
    expect(pollDelayMs(0, 60_000)).toBe(60_000);
    expect(pollDelayMs(3_600_000, 60_000)).toBe(60_000);
    expect(pollDelayMs(0, 20)).toBe(20);
    expect(pollDelayMs(-5, BASE)).toBe(BASE);
  });
});

describe("createBudget", () => {
  it("never runs more calls at once than maxConcurrent", async () => {
    const budget = createBudget({ maxConcurrent: 3 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        budget.schedule(async () => {
          peak = Math.max(peak, ++running);
          await new Promise((r) => setTimeout(r, 40));
          running--;
        }),
      ),
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThanOrEqual(2);
  });
});

describe("createBudget: the adaptive rate", () => {
  afterEach(() => jest.useRealTimers());

  /**
   * `workers` callers send back to back through one budget on fake time (bottleneck and DefaultRateLimiter both read
   * Date.now and wait with setTimeout): returns the calls started in each second, counted in fake time.
   */
  async function drive(budget: CallBudget, seconds: number, throttleAt: (t: number) => boolean, workers = 16) {
    const t0 = Date.now();
    const perSecond = new Array(seconds).fill(0);
    let stop = false;
    const worker = async () => {
      while (!stop) {
        await budget
          .schedule(async () => {
            const t = Date.now() - t0;
            if (t < seconds * 1000) perSecond[Math.floor(t / 1000)]++;
            if (throttleAt(t)) throw throttled();
          })
          .catch(() => undefined);
      }
    };
    const all = Array.from({ length: workers }, worker);
    await jest.advanceTimersByTimeAsync(seconds * 1000);
    stop = true;
    await jest.advanceTimersByTimeAsync(5000);
    await Promise.all(all);
    return perSecond;
  }

  it("is cut by a throttling answer and grows back on successes, never above the ceiling", async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const budget = createBudget({ maxConcurrent: 16, perSecond: 40 });
    // One throttling answer at 3 s, 4.1 s and 5.2 s (three excesses, a second apart), every other call served.
    const at = [3000, 4100, 5200];
    const starts = await drive(budget, 20, (t) => (at.length && t >= at[0] ? (at.shift(), true) : false));
    // Before: the ceiling (40 a second, evenly spaced).
    expect(starts[1]).toBeGreaterThanOrEqual(38);
    // After the throttles: well below what was sent before them.
    expect(Math.min(...starts.slice(4, 10))).toBeLessThanOrEqual(0.8 * starts[1]);
    // Grown back: the CUBIC curve reaches the old rate again within seconds.
    expect(starts[12]).toBeGreaterThanOrEqual(38);
    // The ceiling holds all along, however long the curve has grown.
    for (const n of starts) expect(n).toBeLessThanOrEqual(41);
  });

  it("settles below a quota it was never told: few throttled, most of the quota used", async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const budget = createBudget({ maxConcurrent: 16, perSecond: 50 });
    // A quota of 20 calls per calendar second, as ENS (and the emulator) count them; throttled calls count too.
    const windows = new Map<number, number>();
    let throttledCalls = 0;
    const starts = await drive(budget, 30, () => {
      const second = Math.floor(Date.now() / 1000);
      const n = (windows.get(second) ?? 0) + 1;
      windows.set(second, n);
      if (n > 20) throttledCalls++;
      return n > 20;
    });
    const served = starts.reduce((a, n) => a + Math.min(n, 20), 0);
    expect(served).toBeGreaterThanOrEqual(0.85 * 30 * 20);
    expect(throttledCalls).toBeLessThanOrEqual(0.1 * served);
    // Without the adaptive rate this load sends 50 a second: 30 of them throttled every second.
  });

  it("sends nothing into the rest of a quota second that a throttle showed spent", async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const budget = createBudget({ maxConcurrent: 16, perSecond: 50 });
    const windows = new Map<number, number>();
    const throttledIn = new Map<number, number>();
    await drive(budget, 6, () => {
      const second = Math.floor(Date.now() / 1000);
      const n = (windows.get(second) ?? 0) + 1;
      windows.set(second, n);
      if (n > 20) throttledIn.set(second, (throttledIn.get(second) ?? 0) + 1);
      return n > 20;
    });
    // At 50 a second the 21st call of the first second is throttled; a cut to 14 a second alone would still send
    // about 8 more into that second, every one of them throttled (ENS counts throttled calls too).
    const first = Math.min(...throttledIn.keys());
    expect(throttledIn.get(first)).toBe(1);
  });

  it("without throttling answers never slows calls down (the limiter stays off)", async () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const starts = await drive(createBudget({ maxConcurrent: 16, perSecond: 50 }), 5, () => false);
    expect(starts.slice(1)).toEqual([50, 50, 50, 50]);
  });
});

describe("AdaptiveRate", () => {
  const cutAt = (r: AdaptiveRate, t: number) => r.observe(true, t);

  it("is off (the ceiling) until ENS throttles, then cut to 0.7x what ENS served in the last second", () => {
    let t = 0;
    const r = new AdaptiveRate(50, () => t);
    for (; t < 2000; t += 25) r.observe(false); // 40 served a second
    expect(r.rate()).toBe(50);
    t -= 25; // the last second: (975 ms, 1975 ms]
    cutAt(r, t);
    expect(r.rate()).toBeCloseTo(0.7 * 40, 5);
  });

  it("grows back along the CUBIC curve: the old rate after K = cbrt(rate x 0.3 / 0.4) seconds, then beyond", () => {
    let t = 0;
    const r = new AdaptiveRate(100, () => t);
    for (; t < 1000; t += 50) r.observe(false); // 20 served a second
    cutAt(r, (t -= 50));
    const cut = t;
    const k = Math.cbrt((20 * 0.3) / 0.4); // 2.47 s
    const rateAt = (s: number) => {
      for (; t < cut + s * 1000; t += 50) r.observe(false);
      t = cut + s * 1000;
      r.observe(false);
      return r.rate();
    };
    expect(rateAt(1)).toBeCloseTo(0.4 * (1 - k) ** 3 + 20, 1); // 18.1: concave, towards 20
    expect(rateAt(k)).toBeCloseTo(20, 1);
    expect(rateAt(k + 2)).toBeCloseTo(20 + 0.4 * 8, 1); // convex: probing beyond
  });

  it("cuts once per excess: throttles within a second of a cut, or to calls sent before it, do not cut again", () => {
    let t = 0;
    const r = new AdaptiveRate(50, () => t);
    for (; t < 1000; t += 20) r.observe(false); // 50 served a second
    cutAt(r, (t -= 20)); // 35
    const once = r.rate();
    t += 400;
    cutAt(r, t);
    t += 599;
    cutAt(r, t);
    expect(r.rate()).toBe(once);
    t += 500; // 1.5 s after the cut
    r.observe(true, t - 1600); // sent before the cut
    expect(r.rate()).toBeGreaterThanOrEqual(once);
    r.observe(true, t - 100); // a new excess
    expect(r.rate()).toBeLessThan(once);
  });

  it("never goes above the ceiling, however long it grows", () => {
    let t = 0;
    const r = new AdaptiveRate(30, () => t);
    for (; t < 1000; t += 40) r.observe(false);
    cutAt(r, t);
    for (const end = t + 60_000; t < end; t += 10) r.observe(false);
    expect(r.rate()).toBe(30);
  });

  it("after a pause resumes at the last good rate, not at what the pause measured", () => {
    let t = 0;
    const r = new AdaptiveRate(50, () => t);
    for (; t < 1000; t += 50) r.observe(false); // 20 a second
    cutAt(r, (t -= 50));
    for (const end = t + 10_000; t < end; t += 50) r.observe(false);
    t += 30_000; // idle
    r.observe(false);
    expect(r.rate()).toBeGreaterThanOrEqual(20);
  });

  it("spaces calls evenly at the rate, in the order asked, and a cut applies to the calls still waiting", async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const r = new AdaptiveRate(10);
      const order: number[] = [];
      const times: number[] = [];
      const all = Array.from({ length: 6 }, (_, i) => r.acquire().then(() => (order.push(i), times.push(Date.now()))));
      await jest.advanceTimersByTimeAsync(250); // 0, 100, 200 ms at 10 a second
      r.observe(true); // nothing served in the last second: cut to the floor, 0.5 a second
      await jest.advanceTimersByTimeAsync(1000);
      expect(times).toEqual([0, 100, 200]);
      await jest.advanceTimersByTimeAsync(6000);
      await Promise.all(all);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      expect(times.slice(3).every((x, i) => x - [200, ...times.slice(3)][i] >= 1000)).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe("createBudget: what it tells the rate", () => {
  const budgetAt = (clock: { t: number }, perSecond = 50) => createBudget({ maxConcurrent: 4, perSecond }, { now: () => clock.t });

  it("counts ENS's throttling answers (Throttling*, 429) as throttles, anything else as served", () => {
    for (const e of [throttled(), new EnsError("Throttling", "m", "X", 400), new EnsError("Throttling.Api", "m", "X", 400), new EnsError("Rejected.Throttling", "m", "X", 400), new EnsError("TooMany", "m", "X", 429)]) {
      const clock = { t: 5000 };
      const b = budgetAt(clock);
      b.observe({ ok: false, error: e });
      expect(b.rate()).toBe(0.5); // nothing served before it: the floor
    }
    for (const e of [new EnsError("ServiceUnavailable", "m", "X", 503, "r", true), new EnsError("InvalidKeyPair.NotFound", "m", "X", 404), new Error("x")]) {
      const b = budgetAt({ t: 5000 });
      b.observe({ ok: false, error: e });
      expect(b.rate()).toBe(50);
    }
  });

  it("adaptive: false is the fixed budget: no rate, throttles change nothing", async () => {
    const b = createBudget({ maxConcurrent: 2, perSecond: 50, adaptive: false });
    await b.schedule(async () => Promise.reject(throttled())).catch(() => undefined);
    expect(b.rate()).toBeUndefined();
  });

  it("runs each attempt in its caller's async context (per-operation call counts)", async () => {
    const { AsyncLocalStorage } = require("node:async_hooks");
    const als = new AsyncLocalStorage();
    const budget = createBudget({ maxConcurrent: 2, perSecond: 200 });
    const seen = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => als.run(i, () => budget.schedule(async () => als.getStore()))));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

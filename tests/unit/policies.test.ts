import { EnsError } from "../../provider/ens";
import { createBudget, withRetry } from "../../provider/policies";

const fast = { retries: 3, minDelayMs: 1, maxDelayMs: 2 };
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

import { AsyncResource } from "node:async_hooks";
import Bottleneck from "bottleneck";
import pRetry from "p-retry";
import { EnsError } from "./ens/errors";

/**
 * How failed calls are retried: exponential backoff with jitter, for as long as the operation allows. Terraform's
 * provider for Alibaba Cloud retries ENS calls for the whole operation time-out (minutes; resource.Retry with waits of
 * 3 s, then 5 s): a count of 8 gave up after about 30 s, while a throttled account recovers in minutes.
 */
export interface RetryPolicy {
  /** No retry starts once this long has passed since the first attempt (ens:retryDeadlineSeconds). */
  deadlineMs: number;
  /** The first wait; each next one doubles (jittered, p-retry's `randomize`) up to maxDelayMs, then stays there. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Also at most this many retries after the first attempt; without it, only the deadline bounds them. */
  retries?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { deadlineMs: 300_000, minDelayMs: 200, maxDelayMs: 5000 };
export const NO_RETRY: RetryPolicy = { deadlineMs: 0, retries: 0, minDelayMs: 0, maxDelayMs: 0 };

/** The setting that holds the deadline, named when a call gives up. */
const DEADLINE_SETTING = "ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS";

/**
 * Runs `attempt` until it succeeds, fails with an error that is not EnsError.retryable (throttling, ServiceUnavailable,
 * 5xx, HTTP 429, dropped connections, time-outs), or the policy is spent: the deadline has passed (or the retries are
 * used up) when an attempt fails. The backoff and the loop are p-retry's; the give-up decision is ours, made in
 * onFailedAttempt, so that the error says how long it tried and how many attempts, and names the setting.
 */
export function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, onRetry?: (e: EnsError) => void): Promise<T> {
  const start = Date.now();
  const capped = policy.retries !== undefined;
  const minDelay = Math.max(1, Math.min(policy.minDelayMs, policy.maxDelayMs));
  const maxDelay = Math.max(minDelay, policy.maxDelayMs);
  return pRetry(
    async () => {
      try {
        return await attempt();
      } catch (e) {
        if (e instanceof EnsError && e.retryable) throw e;
        throw new pRetry.AbortError(e as Error);
      }
    },
    {
      // Without a cap, `forever` repeats the last (largest) wait once the growing ones are used up.
      retries: capped ? policy.retries : Math.ceil(Math.log2(maxDelay / minDelay)) + 1,
      forever: !capped,
      factor: 2,
      minTimeout: minDelay,
      maxTimeout: maxDelay,
      randomize: true,
      onFailedAttempt: (e) => {
        const elapsed = Date.now() - start;
        const spent = elapsed >= policy.deadlineMs ? "deadline" : capped && e.retriesLeft <= 0 ? "retries" : undefined;
        if (spent) throw gaveUp(e as unknown as EnsError, e.attemptNumber, elapsed, policy, spent);
        onRetry?.(e as unknown as EnsError);
      },
    },
  );
}

/** The last error, saying how long the call tried and how many attempts (only when it was retried at all). */
function gaveUp(e: EnsError, attempts: number, elapsedMs: number, policy: RetryPolicy, spent: "deadline" | "retries"): EnsError {
  if (attempts <= 1) return e;
  const why = spent === "deadline" ? `retries stop after ${DEADLINE_SETTING} = ${policy.deadlineMs / 1000}; raise it to retry longer` : `at most ${policy.retries} retries`;
  const message = `${e.message} (gave up after ${Number((elapsedMs / 1000).toFixed(1))} s and ${attempts} attempts; ${why})`;
  return new EnsError(e.code, message, e.action, e.httpStatus, e.requestId, e.retryable);
}

/**
 * The longest wait between two looks at instances in transition. terraform-provider-alicloud waits 30 s before its first
 * look at an ENS stop, then polls every 10 s (resource_alicloud_ens_instance.go, BuildStateConf's Delay; the SDK's
 * StateChangeConf caps its backoff at 10 s) for one instance; here one look covers 100.
 */
export const MAX_POLL_MS = 30_000;
/** Waits shorter than this are polled at the base interval: most stops and starts end within it. */
export const POLL_BACKOFF_AFTER_MS = 60_000;

/**
 * How long to wait before the next look (DescribeInstances) at instances in transition, `elapsedMs` into the wait:
 * the base interval (ens:pollIntervalMs) for the first minute, then a tenth of the time waited so far (so the wait ends
 * at most 10% late), up to MAX_POLL_MS; never faster than the base. A 30-minute stop costs 97 looks at a 2 s base
 * instead of 900.
 */
export function pollDelayMs(elapsedMs: number, baseMs: number): number {
  if (!(elapsedMs >= POLL_BACKOFF_AFTER_MS)) return baseMs;
  return Math.max(baseMs, Math.min(MAX_POLL_MS, Math.round(elapsedMs / 10)));
}

/** The call budget every resource served by one provider process shares. */
export interface BudgetOptions {
  /** Calls in flight at once. */
  maxConcurrent: number;
  /** Ceiling on calls started per second: the learnt rate never goes above it. */
  perSecond?: number;
  /** Learn ENS's quota from its throttling answers (default true); false = a fixed budget (concurrency and ceiling only). */
  adaptive?: boolean;
}

export const DEFAULT_BUDGET: BudgetOptions = { maxConcurrent: 16, perSecond: 50 };

/** How an attempt ended, and when it was sent (ms, the budget's clock). */
export type Outcome = ({ ok: true } | { ok: false; error: unknown }) & { sentAt?: number };

/**
 * The one budget every ENS call of the process runs under: at most `maxConcurrent` in flight, at most `perSecond`
 * started a second, and, when adaptive, at the rate learnt from ENS's throttling answers.
 */
export interface CallBudget {
  /** Runs `attempt` when the budget allows it, then feeds its outcome to the learnt rate (see observe). */
  schedule<T>(attempt: () => Promise<T>): Promise<T>;
  /** One outcome for the learnt rate: a throttling answer cuts it, any other outcome lets it grow back. */
  observe(outcome: Outcome): void;
  /** Calls a second allowed now (the ceiling until ENS throttles); undefined for a fixed budget. */
  rate(): number | undefined;
}

/** ENS's throttling answers: Throttling, Throttling.User, Throttling.Api, Rejected.Throttling..., or an HTTP 429. */
export function isThrottling(error: unknown): boolean {
  return error instanceof EnsError && (error.code.includes("Throttling") || error.httpStatus === 429);
}

/**
 * Throttling answers within this long of a cut are one excess, answered once: ENS's quotas are per second, and an
 * exhausted second throttles every call sent in the rest of it, at whatever rate.
 */
export const THROTTLE_EVENT_MS = 1000;

/**
 * The rate the AWS SDKs' adaptive retry mode learns (`@smithy/util-retry` DefaultRateLimiter, botocore's adaptive
 * mode), with their constants: off until the first throttling answer; then each throttle cuts the rate to BETA x the
 * rate ENS served, and it grows back on every other answer along a CUBIC curve, C x (t - K)^3 + that rate, with
 * K = cbrt(rate x (1 - BETA) / C): back at the last good rate after K seconds (2.5 s at 20/s), flat near it, then
 * probing beyond.
 *
 * Written here rather than taken from @smithy/util-retry (4.6.2 was tried, wrapped, and measured against the
 * emulator): its DefaultRateLimiter
 * - measures the sending rate in half-second buckets counted from its creation, smoothed: a throttle in the first half
 *   second of traffic (where a large attach meets the quota) or after an idle stretch cuts from a measure near 0 to its
 *   floor, 0.5 calls/s, and after any idle stretch it caps the rate at twice that measure (measured: three seconds at
 *   <= 1 call/s against a 20/s quota, in the test that now reads "settles below a quota it was never told");
 * - cuts on every throttling answer, and one excess brings several (20/s cut to 5/s within half a second in the bench);
 * - holds up to a second of tokens, gathered even while off, that go out at once after a cut or a pause;
 * - has each waiter poll on its own timer, in no order, and reads Date.now only.
 * Only the second can be mended from outside it. Here instead: what ENS served is counted exactly over the last
 * second; one cut per excess; no bucket, calls evenly spaced at the rate, first come first served; the rate never
 * above the ceiling; after a pause it may go up to the larger of the last good rate and twice what was served in the
 * last second.
 */
export class AdaptiveRate {
  static readonly BETA = 0.7;
  static readonly C = 0.4;
  static readonly MIN_RATE = 0.5;
  static readonly TIMER_SLACK_MS = 4;

  private learnt?: number; // calls a second; undefined until ENS first throttles
  private lastGood = 0; // what ENS served in the second before its last throttle
  private lastCut = -Infinity;
  private k = 0; // seconds from a cut back to lastGood
  private served: number[] = []; // when the answers of the last second were served
  private lastSend = -Infinity;
  private sent: number[] = []; // when the calls of the last second were sent
  private readonly waiting: (() => void)[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly ceiling = Infinity, private readonly now: () => number = Date.now) {}

  /** Calls a second: the learnt rate capped by the ceiling (the ceiling alone while ENS has not throttled). */
  rate(): number {
    return Math.min(this.ceiling, this.learnt ?? Infinity);
  }

  /** Resolves when one more call may be sent: evenly spaced at rate(), in the order asked. */
  acquire(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
  }

  /** One answer: throttled or not, to a call sent at `sentAt` (ms). */
  observe(throttled: boolean, sentAt?: number): void {
    const t = this.now();
    while (this.served.length && this.served[0] <= t - 1000) this.served.shift();
    if (throttled) {
      if (t < this.lastCut + THROTTLE_EVENT_MS || (sentAt ?? t) < this.lastCut) return; // the excess already answered
      const served = this.learnt === undefined ? this.served.length : Math.min(this.learnt, this.served.length);
      this.lastGood = Math.max(served, AdaptiveRate.MIN_RATE);
      this.lastCut = t;
      this.k = Math.cbrt((this.lastGood * (1 - AdaptiveRate.BETA)) / AdaptiveRate.C);
      this.learnt = Math.max(this.lastGood * AdaptiveRate.BETA, AdaptiveRate.MIN_RATE);
    } else {
      this.served.push(t);
      if (this.learnt === undefined) return;
      const cubic = AdaptiveRate.C * ((t - this.lastCut) / 1000 - this.k) ** 3 + this.lastGood;
      this.learnt = Math.max(AdaptiveRate.MIN_RATE, Math.min(cubic, this.ceiling, Math.max(this.lastGood, 2 * this.served.length)));
    }
    // A changed rate applies to the call waiting now, not only to the next one.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.pump();
    }
  }

  private pump(): void {
    while (!this.timer && this.waiting.length) {
      const t = this.now();
      while (this.sent.length && this.sent[0] <= t - 1000) this.sent.shift();
      let due = this.lastSend + 1000 / this.rate();
      // ENS's quota counts every call sent in its second, throttled ones too: once it has throttled, no more than the
      // rate it served then (or the rate now, when higher) go out in any second, so that nothing is sent into the rest
      // of a second it has already spent, whatever the spacing (a sliding second bounds every fixed one).
      const cap = Math.max(1, Math.round(Math.max(this.rate(), this.lastGood)));
      if (this.learnt !== undefined && this.sent.length >= cap) due = Math.max(due, this.sent[this.sent.length - cap] + 1000);
      if (due > t) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(due - t));
        return;
      }
      // Timers fire a little late: a send up to TIMER_SLACK_MS late counts from when it was due, so that lateness does
      // not add up; after a pause the call goes at once and the next one a full spacing later.
      this.lastSend = t - due <= AdaptiveRate.TIMER_SLACK_MS ? due : t;
      this.sent.push(t);
      this.waiting.shift()!();
    }
  }
}

/**
 * Concurrency is bottleneck's (maxConcurrent); the rate, ceiling included, is AdaptiveRate's, asked for inside the
 * concurrency slot right before the send, so that a cut applies to every call not yet sent. `adaptive: false` keeps
 * the budget as it was before: bottleneck's even spacing at the ceiling.
 */
export function createBudget(opts: BudgetOptions, deps: { now?: () => number } = {}): CallBudget {
  const now = deps.now ?? Date.now;
  const adaptive = opts.adaptive === false ? undefined : new AdaptiveRate(opts.perSecond ?? Infinity, now);
  const slots = new Bottleneck({
    maxConcurrent: opts.maxConcurrent,
    // Even spacing rather than a per-second reservoir: a burst at a window edge would still trip ENS's quota.
    minTime: !adaptive && opts.perSecond ? Math.ceil(1000 / opts.perSecond) : 0,
  });
  const observe = (outcome: Outcome) => adaptive?.observe(!outcome.ok && isThrottling(outcome.error), outcome.sentAt);
  return {
    observe,
    rate: () => adaptive?.rate(),
    schedule<T>(attempt: () => Promise<T>): Promise<T> {
      // Bottleneck runs a job in the async context of whichever call drained its queue: keep the caller's own.
      const bound = AsyncResource.bind(attempt);
      return slots.schedule(async () => {
        await adaptive?.acquire();
        const sentAt = now();
        try {
          const value = await bound();
          observe({ ok: true, sentAt });
          return value;
        } catch (error) {
          observe({ ok: false, error, sentAt });
          throw error;
        }
      });
    },
  };
}

import Bottleneck from "bottleneck";
import pRetry from "p-retry";
import { EnsError } from "./ens/errors";

/** How failed calls are retried: exponential backoff with full jitter, bounded in attempts. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 8, minDelayMs: 200, maxDelayMs: 5000 };
export const NO_RETRY: RetryPolicy = { retries: 0, minDelayMs: 0, maxDelayMs: 0 };

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable EnsError, or the policy is spent.
 * Only EnsError.retryable errors are retried (throttling, ServiceUnavailable, 5xx, dropped connections).
 */
export function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, onRetry?: (e: EnsError) => void): Promise<T> {
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
      retries: policy.retries,
      factor: 2,
      minTimeout: policy.minDelayMs,
      maxTimeout: policy.maxDelayMs,
      randomize: true,
      onFailedAttempt: (e) => {
        if (e.retriesLeft > 0 && onRetry) onRetry(e as unknown as EnsError);
      },
    },
  ).catch((e: any) => {
    // p-retry@4 rejects with the original error for AbortError; unwrap defensively.
    throw e?.originalError ?? e;
  });
}

/** The call budget every resource served by one provider process shares. */
export interface BudgetOptions {
  /** Calls in flight at once. */
  maxConcurrent: number;
  /** Ceiling on calls started per second, whatever rate the budget learns (ENS throttles beyond its per-user quota). */
  perSecond?: number;
  /** Learn ENS's quota from its throttling answers (default true); false = a fixed budget. */
  adaptive?: boolean;
}

export const DEFAULT_BUDGET: BudgetOptions = { maxConcurrent: 16, perSecond: 50 };

/** What a finished attempt tells the budget: a value, or what it threw. */
export type Outcome = { ok: true } | { ok: false; error: unknown };

/**
 * Every ENS call of the process runs through `schedule`, which also shows the budget how the call ended.
 */
export interface CallBudget {
  /** Runs `attempt` when the budget allows (concurrency, the ceiling, the learnt rate); observes its outcome. */
  schedule<T>(attempt: () => Promise<T>): Promise<T>;
  /** Feeds one outcome to the learnt rate (schedule does this for every attempt it runs). */
  observe(outcome: Outcome): void;
}

/** ENS's throttling answers: Throttling, Throttling.User, Throttling.Api, Rejected.Throttling ... or an HTTP 429. */
export function isThrottling(error: unknown): boolean {
  return error instanceof EnsError && (error.code.includes("Throttling") || error.httpStatus === 429);
}

/** The part of `@smithy/util-retry`'s DefaultRateLimiter the budget uses. */
export interface RateLimiter {
  getSendToken(): Promise<void>;
  updateClientSendingRate(response: unknown): void;
}

export function createBudget(opts: BudgetOptions, limiter?: RateLimiter): CallBudget {
  const slots = new Bottleneck({
    maxConcurrent: opts.maxConcurrent,
    // Even spacing rather than a per-second reservoir: a burst at a window edge would still trip ENS's quota.
    minTime: opts.perSecond ? Math.ceil(1000 / opts.perSecond) : 0,
  });
  const rate = opts.adaptive === false ? undefined : limiter ?? newRateLimiter();
  let lastCut = -Infinity;
  const observe = (outcome: Outcome, sentAt = Infinity) => {
    const throttled = !outcome.ok && isThrottling(outcome.error);
    if (throttled && process.env.KP_EXP_ONECUT && sentAt < lastCut) return;
    if (throttled) lastCut = Date.now();
    // DefaultRateLimiter recognises a throttle by the Smithy error shape; ENS's codes are not among its names.
    rate?.updateClientSendingRate(throttled ? { $retryable: { throttling: true } } : {});
  };
  return {
    observe,
    schedule: <T>(attempt: () => Promise<T>) =>
      slots.schedule(async () => {
        await rate?.getSendToken();
        const sentAt = Date.now();
        try {
          const value = await attempt();
          observe({ ok: true }, sentAt);
          return value;
        } catch (error) {
          observe({ ok: false, error }, sentAt);
          throw error;
        }
      }),
  };
}

/** Loaded when a budget is made, not with this module: the SDK side (programs) never needs it. */
function newRateLimiter(): RateLimiter {
  const { DefaultRateLimiter } = require("@smithy/util-retry") as typeof import("@smithy/util-retry");
  return new DefaultRateLimiter();
}

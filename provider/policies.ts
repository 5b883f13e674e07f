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
  /** Calls started per second; ENS throttles beyond its per-user quota. */
  perSecond?: number;
}

export const DEFAULT_BUDGET: BudgetOptions = { maxConcurrent: 16, perSecond: 50 };

export type CallBudget = Bottleneck;

export function createBudget(opts: BudgetOptions): CallBudget {
  return new Bottleneck({
    maxConcurrent: opts.maxConcurrent,
    // Even spacing rather than a per-second reservoir: a burst at a window edge would still trip ENS's quota.
    minTime: opts.perSecond ? Math.ceil(1000 / opts.perSecond) : 0,
  });
}

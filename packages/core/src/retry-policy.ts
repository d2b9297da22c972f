/**
 * The retry policy: how long to wait before the next attempt, and when to give up. Every
 * retry of Spool is decided here: model calls (from `decide`, with the random draw carried by
 * the command, so the decision is pure and replays the same), publishes whose outcome is
 * unknown (jetstream), and effects or pulls that failed on I/O (the actor kernel).
 */

export interface RetryPolicy {
  /** Attempts in all, the first one included; absent: no limit by count. */
  readonly maxAttempts?: number | undefined;
  /** The wait after the first failure; it doubles after each one, up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up once the next attempt would start this long after the first; absent: no limit by time. */
  readonly withinMs?: number | undefined;
}

/** What is known of the attempt that just failed. */
export interface Failure {
  /** Attempts made so far, the failed one included (1 after the first failure). */
  readonly attempt: number;
  /** Whether another attempt can help: a terminal error is never retried. */
  readonly retryable: boolean;
  /** The least wait the server asked for (`retry-after`). */
  readonly retryAfterMs?: number | undefined;
  /** A uniform draw in [0, 1) for full jitter; absent: the whole backoff, no jitter. */
  readonly draw?: number | undefined;
  /** Time since the first attempt began (for `withinMs`). */
  readonly elapsedMs?: number | undefined;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly why: 'terminal' | 'attempts' | 'time' };

/**
 * After a failed attempt: wait exponential backoff (`initialDelayMs · 2^(attempt-1)`, at most
 * `maxDelayMs`), with full jitter when given a draw (AWS architecture blog, "Exponential
 * Backoff And Jitter"), never shorter than the server's retry-after; or give up: a terminal
 * error, `maxAttempts` made, or past `withinMs`.
 */
export function decideRetry(policy: RetryPolicy, failure: Failure): RetryDecision {
  if (!failure.retryable) return { retry: false, why: 'terminal' };
  if (policy.maxAttempts !== undefined && failure.attempt >= policy.maxAttempts)
    return { retry: false, why: 'attempts' };
  const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failure.attempt - 1));
  const jittered = failure.draw === undefined ? backoff : Math.round(backoff * failure.draw);
  const delayMs = Math.max(jittered, failure.retryAfterMs ?? 0);
  if (policy.withinMs !== undefined && (failure.elapsedMs ?? 0) + delayMs > policy.withinMs)
    return { retry: false, why: 'time' };
  return { retry: true, delayMs };
}

/** Model calls (429, 529, 5xx, connection errors, timeouts): an agent's `retry` unless its config says otherwise. */
export const DEFAULT_RETRY = { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 } as const;

/**
 * A publish or read whose outcome is unknown (a timeout, a lost connection, no responders during
 * a restart): asked again soon with the same msgID, which makes it safe, for up to a minute.
 */
export const UNKNOWN_OUTCOME_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  withinMs: 60_000,
};

/**
 * An effect, a pull or a lease claim that failed on I/O (NATS down, say): tried again after
 * this long, for as long as the term lasts; what it would have done is in the journal meanwhile.
 */
export const IO_RETRY_MS = 1_000;

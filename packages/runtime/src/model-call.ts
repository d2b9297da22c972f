import { ensureError, type ModelReply, SpoolError } from '@spool/core';
import type { ModelClient, ModelRequest } from '@spool/claude';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';

export interface RetryPolicy {
  /** Attempts per model step, the first included. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 };

/**
 * One model step with retries: a retryable error waits (exponential backoff with full
 * jitter, or the server's retry-after when longer) and tries again; a terminal error or the
 * last attempt's error is thrown. An abort stops at once.
 */
export async function callModelWithRetries(
  model: ModelClient,
  request: ModelRequest,
  opts: { policy: RetryPolicy; clock: Clock; logger: Logger; signal: AbortSignal; random?: () => number },
): Promise<ModelReply> {
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await model.respond(request, opts.signal);
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason ?? err;
      const error = ensureError(err);
      const retryable = error instanceof SpoolError && error.retryable;
      if (!retryable || attempt >= opts.policy.maxAttempts) throw error;
      const backoff = Math.min(opts.policy.maxDelayMs, opts.policy.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.max(Math.round(backoff * random()), error.retryAfterMs ?? 0);
      opts.logger.warn(
        { attempt, maxAttempts: opts.policy.maxAttempts, delayMs, code: error.code, err: error.message },
        'model call failed; retrying',
      );
      await opts.clock.sleep(delayMs, opts.signal);
    }
  }
}

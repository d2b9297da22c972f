import type { ModelClient, ModelRequest } from '@spool/claude';
import { ErrorCode, ensureError, type ModelReply, RetryableError, SpoolError } from '@spool/core/internal';

export type CallOutcome =
  | { readonly ok: true; readonly reply: ModelReply }
  | { readonly ok: false; readonly error: SpoolError }
  /** The task was cancelled or the agent is stopping: nothing to journal. */
  | { readonly ok: false; readonly abandoned: true };

/**
 * One model call, bounded by `timeoutMs`: a call that has not answered by then (a stalled
 * connection) is abandoned and reported as a retryable timeout. Retries are not made here:
 * each failure is journaled first, with the time of the next call (core's retry-policy.ts).
 */
export async function callModelOnce(
  model: ModelClient,
  request: ModelRequest,
  timeoutMs: number,
  stop: AbortSignal,
  onText?: (delta: string) => void,
  onHeaders?: (headers: Headers) => void,
): Promise<CallOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return {
      ok: true,
      reply: await model.respond(request, AbortSignal.any([stop, timeout]), onText, onHeaders),
    };
  } catch (err) {
    if (stop.aborted) return { ok: false, abandoned: true };
    if (timeout.aborted) {
      const message = `no reply from the model within ${Math.round(timeoutMs / 1000)}s (modelTimeoutMs); call abandoned`;
      return { ok: false, error: new RetryableError(ErrorCode.Timeout, message) };
    }
    const error = ensureError(err);
    return {
      ok: false,
      error: error instanceof SpoolError ? error : new SpoolError(ErrorCode.Internal, error.message),
    };
  }
}

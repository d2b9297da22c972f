import Anthropic from '@anthropic-ai/sdk';
import { ErrorCode, RetryableError, type SpoolError, TerminalError } from '@spool/core/internal';

/**
 * Maps an SDK error to core's errors: retryable (429, 529, 5xx, 408, 409, connection,
 * timeout, a stream cut after the headers) or terminal (400, 401, 403, 404, ...). The
 * message says what happened in plain words; `cause` keeps the SDK error.
 */
export function mapSdkError(err: unknown): SpoolError {
  if (err instanceof Anthropic.APIConnectionTimeoutError) {
    return new RetryableError(ErrorCode.Timeout, 'Claude API timed out before answering', { cause: err });
  }
  if (err instanceof Anthropic.APIConnectionError) {
    return new RetryableError(ErrorCode.ConnectionError, `cannot reach the Claude API (${err.message})`, {
      cause: err,
    });
  }
  if (err instanceof Anthropic.APIError) {
    const status = err.status;
    const detail = err.apiMessage ?? err.message;
    const retryAfterMs = retryAfter(err.headers);
    const opts = { cause: err, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    const after = retryAfterMs === undefined ? '' : `; retry after ${Math.ceil(retryAfterMs / 1000)}s`;
    switch (true) {
      case status === 429:
        return new RetryableError(
          ErrorCode.RateLimited,
          `Claude API rate limit (429): ${detail}${after}`,
          opts,
        );
      case status === 529:
        return new RetryableError(
          ErrorCode.Overloaded,
          `Claude API overloaded (529): ${detail}${after}`,
          opts,
        );
      case status === 408 || status === 409:
        return new RetryableError(
          ErrorCode.ServerError,
          `Claude API answered ${status}: ${detail}${after}`,
          opts,
        );
      case status !== undefined && status >= 500:
        return new RetryableError(
          ErrorCode.ServerError,
          `Claude API error (${status}): ${detail}${after}`,
          opts,
        );
      case status === 400:
        return new TerminalError(ErrorCode.BadRequest, `Claude API refused the request (400): ${detail}`, {
          cause: err,
        });
      case status === 401:
        return new TerminalError(
          ErrorCode.AuthenticationFailed,
          `Claude API authentication failed (401): ${detail}; check ANTHROPIC_API_KEY`,
          { cause: err },
        );
      case status === 403:
        return new TerminalError(
          ErrorCode.PermissionDenied,
          `Claude API permission denied (403): ${detail}`,
          { cause: err },
        );
      case status === 404:
        return new TerminalError(
          ErrorCode.NotFound,
          `Claude API not found (404): ${detail}; check the model name`,
          {
            cause: err,
          },
        );
      case status === undefined:
        // An error event inside a 200 stream (e.g. overloaded_error): the SDK gives no status. Retry the turn.
        return new RetryableError(ErrorCode.ServerError, `Claude API stream failed: ${detail}`, {
          cause: err,
        });
      default:
        return new TerminalError(ErrorCode.BadRequest, `Claude API answered ${status}: ${detail}`, {
          cause: err,
        });
    }
  }
  if (err instanceof Anthropic.AnthropicError) {
    // "terminated", "stream ended without producing a Message": the connection broke mid-reply.
    return new RetryableError(ErrorCode.ConnectionError, `Claude API reply was cut off (${err.message})`, {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TerminalError(ErrorCode.Internal, `unexpected error calling Claude: ${message}`, { cause: err });
}

function retryAfter(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers?.get('retry-after');
  if (raw === null || raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

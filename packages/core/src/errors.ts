/**
 * Errors with stable codes. Code branches on `instanceof` or `code`, never on `message`.
 * `retryable` is part of the type: a terminal error is never retried.
 */

export const ErrorCode = {
  InvalidJson: 'invalid_json',
  InvalidMessage: 'invalid_message',
  InvalidTaskId: 'invalid_task_id',
  /** A task for a keyed agent's instance whose key is outside the documented set. */
  InvalidKey: 'invalid_key',
  InvalidConfig: 'invalid_config',
  InvalidArgument: 'invalid_argument',
  ConcurrencyConflict: 'concurrency_conflict',
  CommitTooLarge: 'commit_too_large',
  RateLimited: 'rate_limited',
  Overloaded: 'overloaded',
  ServerError: 'server_error',
  ConnectionError: 'connection_error',
  Timeout: 'timeout',
  BadRequest: 'bad_request',
  AuthenticationFailed: 'authentication_failed',
  PermissionDenied: 'permission_denied',
  NotFound: 'not_found',
  ModelRefused: 'model_refused',
  UnexpectedToolUse: 'unexpected_tool_use',
  InvalidModelReply: 'invalid_model_reply',
  Cancelled: 'cancelled',
  DeadlineExceeded: 'deadline_exceeded',
  BudgetExceeded: 'budget_exceeded',
  CrashLoop: 'crash_loop',
  PoisonMessage: 'poison_message',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SpoolError extends Error {
  override readonly name: string = 'SpoolError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Milliseconds the caller should wait before retrying, when the source said so. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Never retried: the same request would fail the same way. */
export class TerminalError extends SpoolError {
  override readonly name: string = 'TerminalError';
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: false });
  }
}

/** May succeed later; `retryAfterMs` carries the server's hint when there is one. */
export class RetryableError extends SpoolError {
  override readonly name: string = 'RetryableError';
  constructor(code: ErrorCode, message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: true });
  }
}

/**
 * An append lost the race for an agent's history: another writer appended first
 * (JetStream's expected-last-subject-sequence did not match). The writer must catch up
 * or step back; it must never retry the same append blindly.
 */
/** A commit larger than one NATS message may be (the server's max_payload): nothing was written. */
export class CommitTooLargeError extends SpoolError {
  override readonly name: string = 'CommitTooLargeError';
  readonly bytes: number;
  constructor(subject: string, bytes: number, opts: { cause?: unknown } = {}) {
    super(
      ErrorCode.CommitTooLarge,
      `a commit of ${bytes} bytes to ${subject} is larger than the server's max_payload allows`,
      { ...opts, retryable: false },
    );
    this.bytes = bytes;
  }
}

export class ConcurrencyError extends SpoolError {
  override readonly name: string = 'ConcurrencyError';
  readonly expectedSeq: number;
  constructor(subject: string, expectedSeq: number, opts: { cause?: unknown } = {}) {
    super(
      ErrorCode.ConcurrencyConflict,
      `another writer appended to ${subject} after sequence ${expectedSeq}`,
      { ...opts, retryable: false },
    );
    this.expectedSeq = expectedSeq;
  }
}

/** Bad input from outside (config, CLI argument, message): the message says what, where and the fix. */
export class ValidationError extends SpoolError {
  override readonly name: string = 'ValidationError';
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: false });
  }
}

/** Normalizes anything thrown into an Error, at every catch boundary. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

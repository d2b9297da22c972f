import { JetStreamApiError } from '@nats-io/jetstream';
import { errors } from '@nats-io/transport-node';
import { decideRetry, UNKNOWN_OUTCOME_RETRY } from '@spool/core/internal';

/** Server codes for "wrong last sequence" (2.9 sends 10071; newer servers may send 10164). */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);

/** The server refused a publish because the subject's last sequence was not the expected one. */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && WRONG_LAST_SEQUENCE.has(err.code);
}

/** A JetStream API error the server answered with (the outcome is known: it was refused). */
export function isApiError(err: unknown): err is JetStreamApiError {
  return err instanceof JetStreamApiError;
}

/** Not found (stream, consumer or message): 10059, 10014, 10037 or a 404 status. */
export function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && [10059, 10014, 10037].includes(err.code);
}

/**
 * How long one publish attempt waits for its acknowledgement. A publish made while the
 * connection is down is silently lost by the client and only ends in this timeout; every
 * publish carries a msgID, so giving up early and asking again is safe and far quicker
 * than the client's default of 10 s.
 */
export const PUBLISH_ATTEMPT_MS = 2_000;

/**
 * Retries `op` while it fails with an outcome-unknown error (timeout, lost connection, no
 * responders during a restart): the caller makes the operation idempotent (a msgID), so a
 * retry is safe. API errors (the server answered) are thrown at once. How long to wait and when
 * to give up is core's UNKNOWN_OUTCOME_RETRY (retry-policy.ts), within `totalMs`.
 */
export async function retryUnknownOutcome<T>(
  op: () => Promise<T>,
  totalMs = UNKNOWN_OUTCOME_RETRY.withinMs,
): Promise<T> {
  const policy = { ...UNKNOWN_OUTCOME_RETRY, withinMs: totalMs };
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const refused = permissionRefusal(err);
      if (refused !== undefined) throw refused;
      const retryable = !isApiError(err) && !isClientRefusal(err);
      const next = decideRetry(policy, { attempt, retryable, elapsedMs: Date.now() - started });
      if (!next.retry) throw err;
      await new Promise((resolve) => setTimeout(resolve, next.delayMs));
    }
  }
}

/** The client refused to send it (too big for max_payload, a bad subject): sending again cannot help. */
function isClientRefusal(err: unknown): boolean {
  return err instanceof Error && (err.name === 'InvalidArgumentError' || err.name === 'InvalidSubjectError');
}

/** The client refused a publish larger than the server's max_payload. */
export function isPayloadTooLarge(err: unknown): boolean {
  return isClientRefusal(err) && /max_payload/.test((err as Error).message);
}

/** The server refused this user a publish or a subscription: its permissions do not allow it. */
export class NatsPermissionError extends Error {
  override readonly name = 'NatsPermissionError';
  constructor(
    readonly operation: 'publish' | 'subscription',
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(
      `this NATS user may not ${operation === 'publish' ? 'publish to' : 'subscribe to'} ${subject} (the server refused it): connect as a user with the permissions of this role (spool permissions <role>)`,
      options,
    );
  }
}

/** A permissions violation in `err` (or its cause), as a NatsPermissionError; undefined when there is none. */
export function permissionRefusal(err: unknown): NatsPermissionError | undefined {
  if (err instanceof NatsPermissionError) return err;
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth += 1) {
    if (e instanceof errors.PermissionViolationError)
      return new NatsPermissionError(e.operation, e.subject, { cause: e });
  }
  return undefined;
}

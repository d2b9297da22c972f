import { describe, expect, it } from 'vitest';
import { decide } from './decide.ts';
import { given } from './given.ts';
import { DEFAULT_RETRY, decideRetry, UNKNOWN_OUTCOME_RETRY } from './retry-policy.ts';

describe('retry policy - when the next attempt is, and whether there is one', () => {
  const policy = { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 };

  it('doubles the wait after each failure, up to the cap, with the whole backoff when there is no draw', () => {
    const waits = [1, 2, 3, 4].map((attempt) =>
      decideRetry({ ...policy, maxAttempts: 99 }, { attempt, retryable: true }),
    );
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000].map((delayMs) => ({ retry: true, delayMs })));
    expect(decideRetry({ ...policy, maxAttempts: 99 }, { attempt: 10, retryable: true })).toEqual({
      retry: true,
      delayMs: 30_000,
    });
  });

  it('draws the wait below the backoff (full jitter), never below the server retry-after', () => {
    expect(decideRetry(policy, { attempt: 3, retryable: true, draw: 0.25 })).toEqual({
      retry: true,
      delayMs: 1_000,
    });
    expect(decideRetry(policy, { attempt: 3, retryable: true, draw: 0.25, retryAfterMs: 7_000 })).toEqual({
      retry: true,
      delayMs: 7_000,
    });
  });

  it('gives up on a terminal error, after maxAttempts, or past withinMs', () => {
    expect(decideRetry(policy, { attempt: 1, retryable: false })).toEqual({ retry: false, why: 'terminal' });
    expect(decideRetry(policy, { attempt: 5, retryable: true })).toEqual({ retry: false, why: 'attempts' });
    expect(decideRetry(UNKNOWN_OUTCOME_RETRY, { attempt: 3, retryable: true, elapsedMs: 59_700 })).toEqual({
      retry: false,
      why: 'time',
    });
    expect(decideRetry(UNKNOWN_OUTCOME_RETRY, { attempt: 3, retryable: true, elapsedMs: 59_600 })).toEqual({
      retry: true,
      delayMs: 400,
    });
  });

  it('decide journals the next call at the time the policy and the command draw give: replayed, the same', () => {
    const at = '2026-11-25T12:00:00.000Z';
    const state = given(
      { type: 'ReceiveTask', task: { id: 't', input: 'x' }, inboxSeq: 1, at },
      { type: 'StartTask', taskId: 't', specHash: 'h', at },
    );
    const command = {
      type: 'RecordModelFailure' as const,
      taskId: 't',
      step: 0,
      error: { code: 'overloaded', message: 'busy' },
      retryable: true,
      retry: DEFAULT_RETRY,
      draw: 0.5,
      at,
    };
    const events = decide(state, command);
    expect(events).toEqual(decide(state, command));
    expect(events.map((e) => e.type)).toEqual(['model.failed']);
    expect(events[0]?.data).toMatchObject({ call: 1, retryAt: '2026-11-25T12:00:00.500Z' });
  });
});

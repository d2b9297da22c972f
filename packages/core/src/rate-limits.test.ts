import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { fullBucket, giveBack, pause, rateLimitFor, take, viewOf, withWaiting } from './rate-limits.ts';

const limit = { requestsPerMinute: 60, inputTokensPerMinute: 60_000 };
const call = (input: number, output = 0) => ({ requests: 1, input, output });

describe('shared rate limits', () => {
  it('finds the limit by model id or family, else the default, each model its own bucket', () => {
    const limits = { default: { requestsPerMinute: 5 }, models: { 'claude-sonnet': limit } };
    expect(rateLimitFor('claude-sonnet-4-6', limits)).toMatchObject({
      key: 'claude-sonnet',
      source: 'limits.models.claude-sonnet',
    });
    expect(rateLimitFor('claude-haiku-4-5', limits)).toMatchObject({
      key: 'claude-haiku-4-5',
      source: 'limits.default',
    });
    expect(rateLimitFor('claude-haiku-4-5', { models: {} })).toBeUndefined();
  });

  it('lets a burst of 6 seconds through at once, then one call per second at 60 a minute', () => {
    let bucket = fullBucket(limit, 0);
    let granted = 0;
    for (let i = 0; i < 10; i++) {
      const outcome = take(bucket, limit, call(100), 0);
      if (!outcome.ok) {
        expect(outcome.waitMs).toBe(1_000);
        break;
      }
      bucket = outcome.bucket;
      granted++;
    }
    expect(granted).toBe(6);
    expect(take(bucket, limit, call(100), 1_000).ok).toBe(true);
  });

  it('hands out a little extra to hold locally only when there is that much to spare', () => {
    const big = { requestsPerMinute: 6_000 };
    const outcome = take(fullBucket(big, 0), big, call(0), 0, { requests: 10, input: 0, output: 0 });
    expect(outcome).toMatchObject({ ok: true, extra: { requests: 10 }, bucket: { requests: 589 } });
  });

  it('lets a call larger than the burst go on a full bucket, leaving a debt', () => {
    const outcome = take(fullBucket(limit, 0), limit, call(20_000), 0);
    expect(outcome).toMatchObject({ ok: true, bucket: { input: -14_000 } });
    if (outcome.ok)
      expect(take(outcome.bucket, limit, call(10), 0)).toMatchObject({ ok: false, waitMs: 14_010 });
  });

  it('gives back unused output tokens, and a pause stops every taker until it ends', () => {
    const out = { outputTokensPerMinute: 6_000 };
    const taken = take(fullBucket(out, 0), out, call(0, 600), 0);
    expect(taken).toMatchObject({ ok: true, bucket: { output: 0 } });
    if (!taken.ok) return;
    expect(giveBack(taken.bucket, out, { requests: 0, input: 0, output: 500 }, 0).output).toBe(500);
    const paused = pause(fullBucket(limit, 0), 3_000, 'p1');
    expect(take(paused, limit, call(1), 1_000)).toEqual({ ok: false, waitMs: 2_000, paused: true });
    expect(pause(paused, 2_000, 'p2').pausedBy).toBe('p1');
    const after = take(paused, limit, call(1), 3_000);
    expect(after.ok && after.bucket.pausedUntil).toBeUndefined();
  });

  it('shows use and the calls waiting in every process, forgetting stale counts', () => {
    let bucket = withWaiting(fullBucket(limit, 0), 'p1', 3, 0);
    bucket = withWaiting(bucket, 'p2', 2, 1_000);
    const applied = { key: 'k', source: 's', limit };
    expect(viewOf(applied, bucket, 1_000)).toMatchObject({ waiting: 5, use: { requests: 0, input: 0 } });
    expect(viewOf(applied, bucket, 2_500).waiting).toBe(2);
  });

  it('takes turns across processes: the one that took last lets a waiting one go first, for a second at most', () => {
    const waiting = withWaiting(fullBucket(limit, 0), 'p2', 1, 0);
    const first = take(waiting, limit, call(1), 0, undefined, 'p1');
    expect(first).toMatchObject({ ok: true, bucket: { lastBy: 'p1', lastAt: 0 } });
    if (!first.ok) return;
    expect(take(first.bucket, limit, call(1), 50, undefined, 'p1')).toEqual({
      ok: false,
      waitMs: 100,
      paused: false,
    });
    expect(take(first.bucket, limit, call(1), 50, undefined, 'p2')).toMatchObject({
      ok: true,
      bucket: { lastBy: 'p2' },
    });
    // A waiting count left by a process that died holds the other up for a second at most.
    expect(take(first.bucket, limit, call(1), 1_000, undefined, 'p1').ok).toBe(true);
  });

  it('says which field of a bad limit is wrong', () => {
    const agents = { a: { instructions: 'i', model: 'claude-sonnet-4-6' } };
    expect(() =>
      parseConfig({ agents, limits: { models: { 'claude-sonnet': {} } } }, 'spool.config.json'),
    ).toThrow(
      'spool.config.json: limits.models.claude-sonnet: must set requestsPerMinute, inputTokensPerMinute or outputTokensPerMinute',
    );
    expect(() => parseConfig({ agents, limits: { models: { x: { rpm: 1 } } } }, 'c')).toThrow(
      'unknown field "rpm": remove it (rate limit fields are requestsPerMinute, inputTokensPerMinute, outputTokensPerMinute)',
    );
  });
});

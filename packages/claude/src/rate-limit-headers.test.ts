import { describe, expect, it } from 'vitest';
import { exhaustedUntil } from './rate-limit-headers.ts';

describe('the API rate limit headers', () => {
  const now = Date.parse('2026-11-29T06:00:00Z');
  it('names the limit with nothing left and when the last such one resets', () => {
    const headers = new Headers({
      'anthropic-ratelimit-requests-remaining': '12',
      'anthropic-ratelimit-requests-reset': '2026-11-29T06:00:30Z',
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': '2026-11-29T06:00:05Z',
      'anthropic-ratelimit-output-tokens-remaining': '0',
      'anthropic-ratelimit-output-tokens-reset': '2026-11-29T06:00:09Z',
    });
    expect(exhaustedUntil(headers, now)).toEqual({
      untilMs: Date.parse('2026-11-29T06:00:09Z'),
      limit: 'output-tokens',
    });
  });

  it('says nothing while every limit has some left, or the reset is past or unreadable', () => {
    expect(exhaustedUntil(new Headers(), now)).toBeUndefined();
    const past = new Headers({
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2026-11-29T05:59:00Z',
      'anthropic-ratelimit-tokens-remaining': '0',
      'anthropic-ratelimit-tokens-reset': 'soon',
    });
    expect(exhaustedUntil(past, now)).toBeUndefined();
  });
});

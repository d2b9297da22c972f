/** The limits the API reports on every response, as `anthropic-ratelimit-<name>-remaining` / `-reset`. */
const LIMITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'] as const;

/**
 * When the API said one of its limits has nothing left: the latest of those limits' reset
 * times (epoch ms), so every process can wait for it together. Undefined when every limit has
 * some left (or the headers are absent, as from a gateway that strips them).
 */
export function exhaustedUntil(
  headers: Headers,
  now = Date.now(),
): { untilMs: number; limit: string } | undefined {
  let found: { untilMs: number; limit: string } | undefined;
  for (const name of LIMITS) {
    if (headers.get(`anthropic-ratelimit-${name}-remaining`)?.trim() !== '0') continue;
    const reset = Date.parse(headers.get(`anthropic-ratelimit-${name}-reset`) ?? '');
    if (Number.isNaN(reset) || reset <= now) continue;
    if (found === undefined || reset > found.untilMs) found = { untilMs: reset, limit: name };
  }
  return found;
}

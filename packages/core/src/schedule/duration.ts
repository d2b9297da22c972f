/**
 * Durations as the config and the `wait` tool take them: a number of milliseconds, or a string
 * of one or more `<number><unit>` parts (`90s`, `1h30m`, `500ms`, `2d`). Pure, no library: the
 * grammar is small and its messages are ours.
 */

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Milliseconds, or a sentence saying what a duration looks like. */
export function parseDuration(value: unknown): { ok: true; ms: number } | { ok: false; problem: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value))
      return { ok: false, problem: 'must be a whole, non-negative number of milliseconds' };
    return { ok: true, ms: value };
  }
  if (typeof value !== 'string')
    return { ok: false, problem: 'must be a duration such as "90s", "5m", "1h30m" or a number of ms' };
  const text = value.trim().toLowerCase();
  if (!WHOLE.test(text))
    return {
      ok: false,
      problem: `"${value}" is not a duration: write it as "90s", "5m", "1h30m", "2d" or "500ms" (units ms, s, m, h, d)`,
    };
  let ms = 0;
  for (const match of text.matchAll(PART)) ms += Number(match[1]) * (UNITS[match[2] as string] as number);
  return { ok: true, ms: Math.round(ms) };
}

/** A duration for people and models: `2h 5m 3s`, `850ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  let rest = Math.round(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join(' ');
}

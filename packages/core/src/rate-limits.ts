import { z } from 'zod';

/**
 * Rate limits shared by every process on one NATS (the API's limits are per organisation and
 * model): a token bucket per limit, kept in a KV bucket by the jetstream package. This file is
 * the pure part: the config, which limit a model falls under, and the bucket's arithmetic.
 */

const perMinute = z.number().int('must be a whole number').min(1, 'must be at least 1');

export const RateLimitSchema = z
  .strictObject({
    requestsPerMinute: perMinute.optional(),
    inputTokensPerMinute: perMinute.optional(),
    outputTokensPerMinute: perMinute.optional(),
  })
  .refine(
    (limit) => Object.values(limit).some((v) => v !== undefined),
    'must set requestsPerMinute, inputTokensPerMinute or outputTokensPerMinute',
  );
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const LimitsSchema = z
  .strictObject({
    /** For every model without an entry of its own in `models` (each model its own bucket). */
    default: RateLimitSchema.optional(),
    /** By model id or family prefix (`claude-sonnet`): the longest match wins. */
    models: z.record(z.string().min(1), RateLimitSchema).default({}),
  })
  .default({ models: {} });
export type Limits = z.infer<typeof LimitsSchema>;

/** The limit a model's calls count against, and the KV key of its bucket. */
export interface AppliedRateLimit {
  readonly key: string;
  /** The config entry: `limits.models.claude-sonnet` or `limits.default`. */
  readonly source: string;
  readonly limit: RateLimit;
}

export function rateLimitFor(model: string, limits: Limits | undefined): AppliedRateLimit | undefined {
  if (limits === undefined) return undefined;
  const match = Object.keys(limits.models)
    .filter((prefix) => model === prefix || model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  if (match !== undefined) {
    const limit = limits.models[match];
    if (limit !== undefined) return { key: kvKeyOf(match), source: `limits.models.${match}`, limit };
  }
  if (limits.default === undefined) return undefined;
  return { key: kvKeyOf(model), source: 'limits.default', limit: limits.default };
}

/** KV keys take [-/_=.a-zA-Z0-9]. */
const kvKeyOf = (name: string) => name.replace(/[^-_a-zA-Z0-9]/g, '_');

/** The three things a call uses up. */
export interface RateCost {
  readonly requests: number;
  readonly input: number;
  readonly output: number;
}
type Dimension = keyof RateCost;
const DIMENSIONS: readonly [Dimension, keyof RateLimit][] = [
  ['requests', 'requestsPerMinute'],
  ['input', 'inputTokensPerMinute'],
  ['output', 'outputTokensPerMinute'],
];

/** A bucket as stored: what is left of each limited dimension at `at`, and a shared pause. */
export interface RateBucket {
  /** Epoch ms the counts were brought up to date. */
  readonly at: number;
  readonly requests: number;
  readonly input: number;
  readonly output: number;
  /** Every process waits until then (a 429's retry-after, or a reset the API announced). */
  readonly pausedUntil?: number | undefined;
  readonly pausedBy?: string | undefined;
  /** Calls waiting, per process, with when that was said (for `spool status`; stale ones age out). */
  readonly waiting?: Readonly<Record<string, { readonly n: number; readonly at: number }>> | undefined;
  /** The process that took last, and when: while others wait, it lets them go first (turns across processes). */
  readonly lastBy?: string | undefined;
  readonly lastAt?: number | undefined;
}

/** Burst: 6 seconds of the rate (a tenth of a minute), at least one call's worth. */
export const BURST_SHARE = 0.1;

export function capacityOf(limit: RateLimit, dimension: Dimension): number {
  const per = limit[DIMENSIONS.find(([d]) => d === dimension)?.[1] ?? 'requestsPerMinute'];
  return per === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(per * BURST_SHARE));
}

export function fullBucket(limit: RateLimit, now: number): RateBucket {
  const cap = (d: Dimension) => finite(capacityOf(limit, d));
  return { at: now, requests: cap('requests'), input: cap('input'), output: cap('output') };
}

const finite = (x: number) => (Number.isFinite(x) ? x : 0);

/** The bucket brought up to `now`: each dimension refilled at its rate, up to its burst. */
export function refill(bucket: RateBucket, limit: RateLimit, now: number): RateBucket {
  const elapsed = Math.max(0, now - bucket.at);
  const next = { ...bucket, at: Math.max(now, bucket.at) };
  for (const [dimension, field] of DIMENSIONS) {
    const per = limit[field];
    if (per === undefined) continue;
    next[dimension] = Math.min(capacityOf(limit, dimension), bucket[dimension] + (elapsed * per) / 60_000);
  }
  return next;
}

export type TakeOutcome =
  | { readonly ok: true; readonly bucket: RateBucket; readonly extra: RateCost }
  /** `waitMs`: when, at the rate alone, the call would fit (a pause included). */
  | { readonly ok: false; readonly waitMs: number; readonly paused: boolean };

/**
 * Takes one call's cost from the bucket, and up to `extra` more for the caller to hold locally
 * (so the next calls need no round trip) when there is that much to spare. A call larger than
 * the burst goes when the bucket is full and leaves it in debt.
 */
export function take(
  stored: RateBucket,
  limit: RateLimit,
  cost: RateCost,
  now: number,
  extra: RateCost = { requests: 0, input: 0, output: 0 },
  by?: string,
): TakeOutcome {
  if (stored.pausedUntil !== undefined && stored.pausedUntil > now)
    return { ok: false, waitMs: stored.pausedUntil - now, paused: true };
  // Turns: the process that took last waits while another process has calls waiting.
  if (
    by !== undefined &&
    stored.lastBy === by &&
    now - (stored.lastAt ?? 0) < TURN_WINDOW_MS &&
    othersWaiting(stored, by, now)
  )
    return { ok: false, waitMs: TURN_MS, paused: false };
  const bucket = refill(stored, limit, now);
  let waitMs = 0;
  for (const [dimension, field] of DIMENSIONS) {
    const per = limit[field];
    if (per === undefined) continue;
    const need = Math.min(cost[dimension], capacityOf(limit, dimension));
    const short = need - bucket[dimension];
    if (short > 0) waitMs = Math.max(waitMs, Math.ceil((short * 60_000) / per));
  }
  if (waitMs > 0) return { ok: false, waitMs, paused: false };
  const next = { ...bucket };
  const granted = { requests: 0, input: 0, output: 0 };
  for (const [dimension, field] of DIMENSIONS) {
    if (limit[field] === undefined) {
      granted[dimension] = extra[dimension];
      continue;
    }
    const left = bucket[dimension] - cost[dimension];
    granted[dimension] = Math.max(0, Math.min(extra[dimension], Math.floor(left)));
    next[dimension] = left - granted[dimension];
  }
  return {
    ok: true,
    bucket: { ...withoutPause(next), ...(by === undefined ? {} : { lastBy: by, lastAt: now }) },
    extra: granted,
  };
}

/** How often a process that took last looks again while it lets another take its turn. */
export const TURN_MS = 100;
/**
 * How long after its take a process lets others go first: longer than a waiting process's
 * longest nap (so a live one always gets its turn), short so that a waiting count left by a
 * process that died holds nobody up for long.
 */
export const TURN_WINDOW_MS = 1_000;

function othersWaiting(bucket: RateBucket, by: string, now: number): boolean {
  return Object.entries(bucket.waiting ?? {}).some(
    ([id, entry]) => id !== by && entry.n > 0 && now - entry.at < WAITING_TTL_MS,
  );
}

function withoutPause(bucket: RateBucket): RateBucket {
  const { pausedUntil: _until, pausedBy: _by, ...rest } = bucket;
  return rest;
}

/** Gives back what a call held and did not use (output tokens below its max_tokens), up to the burst. */
export function giveBack(stored: RateBucket, limit: RateLimit, unused: RateCost, now: number): RateBucket {
  const bucket = refill(stored, limit, now);
  const next = { ...bucket };
  for (const [dimension, field] of DIMENSIONS) {
    if (limit[field] === undefined) continue;
    next[dimension] = Math.min(capacityOf(limit, dimension), bucket[dimension] + unused[dimension]);
  }
  return next;
}

/** Every process waits until `until` (the later pause wins). */
export function pause(bucket: RateBucket, until: number, by: string): RateBucket {
  if (bucket.pausedUntil !== undefined && bucket.pausedUntil >= until) return bucket;
  return { ...bucket, pausedUntil: until, pausedBy: by };
}

/** How long a process's count of waiting calls is believed without being said again (it says it every second). */
export const WAITING_TTL_MS = 2_000;

/** Records `n` calls waiting in `process` (0 removes it), dropping what others said too long ago. */
export function withWaiting(bucket: RateBucket, process: string, n: number, now: number): RateBucket {
  const waiting: Record<string, { n: number; at: number }> = {};
  for (const [id, entry] of Object.entries(bucket.waiting ?? {}))
    if (id !== process && now - entry.at < WAITING_TTL_MS) waiting[id] = entry;
  if (n > 0) waiting[process] = { n, at: now };
  return { ...bucket, waiting };
}

/** What `spool status` shows of one limit. */
export interface RateLimitView {
  readonly key: string;
  /** The config entry it comes from. */
  readonly source: string;
  readonly limit: RateLimit;
  readonly paused: boolean;
  readonly pausedUntil?: string | undefined;
  /** Per limited dimension: the share of the burst in use now (0: idle, 1: empty bucket). */
  readonly use: Partial<Record<Dimension, number>>;
  readonly waiting: number;
}

export function viewOf(applied: AppliedRateLimit, stored: RateBucket, now: number): RateLimitView {
  const { key, source, limit } = applied;
  const bucket = refill(stored, limit, now);
  const use: Partial<Record<Dimension, number>> = {};
  for (const [dimension, field] of DIMENSIONS) {
    if (limit[field] === undefined) continue;
    const cap = capacityOf(limit, dimension);
    use[dimension] = Math.round(Math.min(1, Math.max(0, (cap - bucket[dimension]) / cap)) * 100) / 100;
  }
  const paused = stored.pausedUntil !== undefined && stored.pausedUntil > now;
  const waiting = Object.values(stored.waiting ?? {})
    .filter((entry) => now - entry.at < WAITING_TTL_MS)
    .reduce((sum, entry) => sum + entry.n, 0);
  return {
    key,
    source,
    limit,
    paused,
    ...(paused && stored.pausedUntil !== undefined
      ? { pausedUntil: new Date(stored.pausedUntil).toISOString() }
      : {}),
    use,
    waiting,
  };
}

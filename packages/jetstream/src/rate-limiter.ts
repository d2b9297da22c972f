import { jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import {
  type AppliedRateLimit,
  Buckets,
  fullBucket,
  giveBack,
  type Limits,
  pause,
  type RateBucket,
  type RateCost,
  type RateLimit,
  type RateLimitView,
  rateLimitFor,
  take,
  viewOf,
  WAITING_TTL_MS,
  withWaiting,
} from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { ConnectionLogger, SpoolConnection } from './types.ts';

/**
 * The shared rate limits (`limits` in the config) for every agent of one process: a token
 * bucket per limit in `spool_rates` (core's rate-limits.ts), taken from by compare-and-swap,
 * so every process on the same NATS draws from the same bucket. A process takes a little
 * more than a call needs when there is room (a tenth of a second of the rate) and spends it
 * locally for a second, so at high rates most calls need no round trip. Waiting calls are
 * served one agent after another (round robin), so an agent that floods the limit does not
 * starve another; each process's waiting count is written into the bucket for `spool status`.
 */
export interface RateLimiter {
  /**
   * Waits until the call fits its model's limit (none: at once). Resolves undefined when
   * `signal` aborted first (cancelled, deadline, stopping): then nothing was taken.
   */
  acquire(call: RateCall, signal: AbortSignal): Promise<RateGrant | undefined>;
  /** The API said to wait (a 429's retry-after, a reset announced with nothing left): every process waits. */
  pauseUntil(model: string, untilMs: number, why: string): Promise<void>;
  /** The limit of each model key, as used now (reads the bucket). */
  views(models: readonly string[]): Promise<RateLimitView[]>;
}

export interface RateCall {
  readonly model: string;
  /** Who waits: calls are served one agent after another. */
  readonly agent: string;
  readonly inputTokens: number;
  /** The call's max_tokens: held until the reply says what was used. */
  readonly maxTokens: number;
}

export interface RateGrant {
  /** Ms the call waited for capacity. */
  readonly waitedMs: number;
  /** The reply's output tokens: what the call held beyond them goes back to the bucket. */
  settle(outputTokens: number): void;
}

/** Local credit lives this long: a process never sits on capacity others could use. */
const CREDIT_TTL_MS = 1_000;
/** Local credit: this share of a minute's rate (a tenth of a second). */
const CREDIT_SHARE = 1 / 600;
/** A waiting pump looks at the bucket at least this often (a pause set by another process shows). */
const MAX_NAP_MS = 500;

export async function rateLimiter(
  connection: SpoolConnection,
  limits: Limits,
  options: { holder: string; logger?: ConnectionLogger },
): Promise<RateLimiter> {
  const js = jetstream(internals(connection).nc, { timeout: PUBLISH_ATTEMPT_MS });
  const kv = await openBucket(connection, Buckets.Rates, js);
  const keys = new Map<string, KeyLimiter>();
  const limiterFor = (model: string): KeyLimiter | undefined => {
    const applied = rateLimitFor(model, limits);
    if (applied === undefined) return undefined;
    let found = keys.get(applied.key);
    if (found === undefined) {
      found = new KeyLimiter(kv, applied, options.holder, options.logger);
      keys.set(applied.key, found);
    }
    return found;
  };
  return {
    async acquire(call, signal) {
      const limiter = limiterFor(call.model);
      if (limiter === undefined) return { waitedMs: 0, settle: () => undefined };
      return limiter.acquire(call, signal);
    },
    async pauseUntil(model, untilMs, why) {
      await limiterFor(model)?.pauseUntil(untilMs, why);
    },
    views: (models) => viewsOf(kv, limits, models),
  };
}

/** Each limit the models fall under, as its bucket says now (for `spool status`). */
export async function rateLimitViews(
  connection: SpoolConnection,
  limits: Limits,
  models: readonly string[],
): Promise<RateLimitView[]> {
  if (models.every((model) => rateLimitFor(model, limits) === undefined)) return [];
  return viewsOf(await openBucket(connection, Buckets.Rates), limits, models);
}

async function viewsOf(kv: KV, limits: Limits, models: readonly string[]): Promise<RateLimitView[]> {
  const seen = new Map<string, AppliedRateLimit>();
  for (const model of models) {
    const applied = rateLimitFor(model, limits);
    if (applied !== undefined) seen.set(applied.key, applied);
  }
  const now = Date.now();
  return Promise.all(
    [...seen.values()].map(async (applied) => {
      const stored = (await readBucket(kv, applied.key)).bucket ?? fullBucket(applied.limit, now);
      return viewOf(applied, stored, now);
    }),
  );
}

interface Waiter {
  readonly call: RateCall;
  readonly cost: RateCost;
  readonly since: number;
  readonly signal: AbortSignal;
  resolve(grant: RateGrant | undefined): void;
}

const zero = (): RateCost => ({ requests: 0, input: 0, output: 0 });

/** One limit's bucket, as this process takes from it. */
class KeyLimiter {
  private credit: RateCost & { until: number } = { ...zero(), until: 0 };
  /** Output tokens held and not used, given back with the next write. */
  private unused = 0;
  /** The bucket as last read or written here, and its revision (0: never written). */
  private cached: { bucket: RateBucket | undefined; revision: number } | undefined;
  private readonly waiting = new Map<string, Waiter[]>();
  private turn = 0;
  private pumping = false;
  private publishedWaiting = 0;
  private publishedAt = 0;
  private readonly extra: RateCost;

  constructor(
    private readonly kv: KV,
    private readonly applied: AppliedRateLimit,
    private readonly holder: string,
    private readonly logger?: ConnectionLogger,
  ) {
    const share = (per: number | undefined) => (per === undefined ? 0 : Math.floor(per * CREDIT_SHARE));
    const limit = applied.limit;
    this.extra = {
      requests: share(limit.requestsPerMinute),
      input: share(limit.inputTokensPerMinute),
      output: share(limit.outputTokensPerMinute),
    };
  }

  acquire(call: RateCall, signal: AbortSignal): Promise<RateGrant | undefined> {
    const cost = { requests: 1, input: call.inputTokens, output: call.maxTokens };
    const now = Date.now();
    // Nobody waiting and credit on hand: no round trip.
    if (this.count() === 0 && this.fromCredit(cost, now)) return Promise.resolve(this.grant(cost, 0));
    if (signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = { call, cost, since: now, signal, resolve };
      const queue = this.waiting.get(call.agent) ?? [];
      queue.push(waiter);
      this.waiting.set(call.agent, queue);
      signal.addEventListener('abort', () => this.drop(waiter), { once: true });
      void this.pump();
    });
  }

  async pauseUntil(untilMs: number, why: string): Promise<void> {
    this.credit = { ...zero(), until: 0 };
    await this.change((bucket) => pause(bucket, untilMs, `${this.holder}: ${why}`)).catch(() => undefined);
    this.logger?.warn(
      { limit: this.applied.source, until: new Date(untilMs).toISOString(), why },
      'model calls paused for every process sharing this limit',
    );
  }

  private count(): number {
    let n = 0;
    for (const queue of this.waiting.values()) n += queue.length;
    return n;
  }

  private drop(waiter: Waiter): void {
    const queue = this.waiting.get(waiter.call.agent);
    const at = queue?.indexOf(waiter) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.waiting.delete(waiter.call.agent);
    waiter.resolve(undefined);
  }

  /** The next waiter, one agent after another. */
  private next(): Waiter | undefined {
    const agents = [...this.waiting.keys()];
    if (agents.length === 0) return undefined;
    const agent = agents[this.turn % agents.length] as string;
    return this.waiting.get(agent)?.[0];
  }

  private served(waiter: Waiter): void {
    const queue = this.waiting.get(waiter.call.agent);
    queue?.shift();
    if (queue !== undefined && queue.length === 0) this.waiting.delete(waiter.call.agent);
    else this.turn++;
  }

  private fromCredit(cost: RateCost, now: number): boolean {
    const c = this.credit;
    if (c.until <= now) return false;
    const limit = this.applied.limit;
    const covers = (d: keyof RateCost, field: keyof RateLimit) =>
      limit[field] === undefined || c[d] >= cost[d];
    if (
      !covers('requests', 'requestsPerMinute') ||
      !covers('input', 'inputTokensPerMinute') ||
      !covers('output', 'outputTokensPerMinute')
    )
      return false;
    this.credit = {
      requests: c.requests - cost.requests,
      input: c.input - cost.input,
      output: c.output - cost.output,
      until: c.until,
    };
    return true;
  }

  private grant(cost: RateCost, waitedMs: number): RateGrant {
    return {
      waitedMs,
      settle: (outputTokens) => {
        this.unused += Math.max(0, cost.output - outputTokens);
      },
    };
  }

  /** Serves the waiters in turn while there are any; one pump per limit and process. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let waiter = this.next(); waiter !== undefined; waiter = this.next()) {
        const now = Date.now();
        if (this.fromCredit(waiter.cost, now)) {
          this.served(waiter);
          waiter.resolve(this.grant(waiter.cost, now - waiter.since));
          continue;
        }
        const outcome = await this.tryTake(waiter.cost).catch((err: unknown) => {
          this.logger?.warn(
            { limit: this.applied.source, err: String(err) },
            'rate limit bucket unreachable; retrying',
          );
          return { ok: false as const, waitMs: MAX_NAP_MS };
        });
        if (outcome.ok) {
          if (this.next() === waiter)
            this.served(waiter); // not dropped meanwhile
          else {
            // Its caller gave up while the swap ran: keep what was taken as local credit.
            const c = this.credit;
            this.credit = {
              requests: c.requests + waiter.cost.requests,
              input: c.input + waiter.cost.input,
              output: c.output + waiter.cost.output,
              until: c.until,
            };
            continue;
          }
          waiter.resolve(this.grant(waiter.cost, Date.now() - waiter.since));
          continue;
        }
        await this.publishWaiting();
        // Woken a little apart from other processes' pumps: one of them wins each refill.
        await nap(Math.min(outcome.waitMs, MAX_NAP_MS) + Math.random() * 20);
      }
      await this.publishWaiting();
    } finally {
      this.pumping = false;
    }
  }

  /** One compare-and-swap of the bucket for one call (and local credit when there is room). */
  private async tryTake(cost: RateCost): Promise<{ ok: true } | { ok: false; waitMs: number }> {
    let result: { ok: true } | { ok: false; waitMs: number } = { ok: false, waitMs: MAX_NAP_MS };
    await this.change((bucket, now) => {
      const outcome = take(bucket, this.applied.limit, cost, now, this.extra, this.holder);
      if (!outcome.ok) {
        result = { ok: false, waitMs: outcome.waitMs };
        return undefined;
      }
      result = { ok: true };
      this.publishedWaiting = this.count() - 1;
      this.publishedAt = now;
      this.credit = { ...outcome.extra, until: now + CREDIT_TTL_MS };
      return withWaiting(outcome.bucket, this.holder, this.count() - 1, now);
    });
    return result;
  }

  private async publishWaiting(): Promise<void> {
    const n = this.count();
    // Said again before it ages out: other processes give this one its turns while it waits.
    const stale = n > 0 && Date.now() - this.publishedAt > WAITING_TTL_MS / 2;
    if (n === this.publishedWaiting && !stale) return;
    this.publishedWaiting = n;
    this.publishedAt = Date.now();
    await this.change((bucket, now) => withWaiting(bucket, this.holder, n, now)).catch(() => undefined);
  }

  /** Read (the cached copy first), change, compare-and-swap, until it holds; `undefined`: nothing to write. */
  private async change(edit: (bucket: RateBucket, now: number) => RateBucket | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      // The cached copy saves a read when this process wrote last; a "no" from it is checked on a fresh read.
      const fresh = this.cached === undefined || attempt > 0;
      if (fresh) this.cached = await readBucket(this.kv, this.applied.key);
      if (this.cached === undefined) continue;
      const now = Date.now();
      const limit = this.applied.limit;
      const current = this.cached.bucket ?? fullBucket(limit, now);
      const base =
        this.unused > 0 ? giveBack(current, limit, { ...zero(), output: this.unused }, now) : current;
      const next = edit(base, now);
      if (next === undefined && fresh) return;
      if (next === undefined) continue;
      const value = encoder.encode(JSON.stringify(next));
      try {
        const revision =
          this.cached.revision === 0
            ? await this.kv.create(this.applied.key, value)
            : await this.kv.update(this.applied.key, value, this.cached.revision);
        this.cached = { bucket: next, revision };
        this.unused = 0;
        return;
      } catch {
        // Another process wrote first: read it and decide again.
      }
    }
  }
}

async function readBucket(
  kv: KV,
  key: string,
): Promise<{ bucket: RateBucket | undefined; revision: number }> {
  const entry = await retryUnknownOutcome(() => kv.get(key));
  if (entry === null || entry.operation !== 'PUT')
    return { bucket: undefined, revision: entry?.revision ?? 0 };
  try {
    const value = JSON.parse(decoder.decode(entry.value)) as RateBucket;
    return { bucket: typeof value.at === 'number' ? value : undefined, revision: entry.revision };
  } catch {
    return { bucket: undefined, revision: entry.revision };
  }
}

function nap(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

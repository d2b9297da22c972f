import { jetstream } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { Buckets } from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { Lease, LeaseInfo, LeaseOptions, Leases, SpoolConnection } from './types.ts';

interface LeaseValue {
  holder: string;
  /** Epoch ms on the holder's clock; expiry is judged on the reader's clock (keep clocks in sync). */
  renewedAt: number;
  ttlMs: number;
  about?: unknown;
}

/**
 * Who holds each agent name, in the KV bucket `spool_leases`. nats-server 2.9 has no
 * per-key TTL, so expiry is computed from the value; every change is a compare-and-swap on
 * the key's revision, so two processes can never both take a free or expired lease.
 */
export async function leases(connection: SpoolConnection, bucket: string = Buckets.Leases): Promise<Leases> {
  const { nc, onReconnect } = internals(connection);
  // A renewal sent while the connection is down is lost and only fails at its timeout; the
  // client's default (5 s) would let a short lease lapse after a short outage. Fail fast and
  // renew again on the next tick, and at once when the connection is back.
  const js = jetstream(nc, { timeout: RENEW_TIMEOUT_MS });
  const kv = await openBucket(connection, bucket, js);
  return {
    acquire: (agent, holder, options) => acquire(kv, agent, holder, options ?? {}, onReconnect),
    list: async () => {
      const out: LeaseInfo[] = [];
      for await (const key of await kv.keys()) {
        const entry = await kv.get(key);
        const value = entry === null ? undefined : parse(entry);
        if (value !== undefined) out.push(info(key, value));
      }
      return out.sort((a, b) => a.agent.localeCompare(b.agent));
    },
  };
}

/** How long one lease read or write may take before it is given up (and tried again). */
const RENEW_TIMEOUT_MS = 1_000;
/** A holder that cannot reach the lease for this many ttls stops working on its own. */
const UNREACHABLE_TTLS = 3;
/** How long before its readers would see it expired a `loseWhenExpired` lease is given up. */
const expiryMarginMs = (ttlMs: number) => Math.min(1_000, Math.floor(ttlMs / 5));

async function acquire(
  kv: KV,
  agent: string,
  holder: string,
  options: LeaseOptions,
  onReconnect: (listener: () => void) => () => void,
): Promise<Lease> {
  const ttlMs = options.ttlMs ?? 10_000;
  const value = (renewedAt: number): Uint8Array =>
    encoder.encode(JSON.stringify({ holder, renewedAt, ttlMs, about: describe(options) }));
  let revision: number;
  let takeover = false;
  let acquiredAt: number;
  for (;;) {
    options.signal?.throwIfAborted();
    const entry = await kv.get(agent);
    const current = entry === null ? undefined : parse(entry);
    acquiredAt = Date.now();
    try {
      if (entry === null || current === undefined) {
        revision = await kv.create(agent, value(acquiredAt));
        break;
      }
      if (current.holder === holder || isExpired(current)) {
        revision = await kv.update(agent, value(acquiredAt), entry.revision);
        takeover = true; // never released: its holder crashed or was cut off
        break;
      }
    } catch {
      continue; // another process changed the key first: look again
    }
    options.onWait?.(info(agent, current));
    await sleep(Math.min(1_000, Math.max(50, ttlMs / 5)), options.signal);
  }

  const lost = new AbortController();
  let lastRenewed = Date.now();
  let renewing = false;
  const loseIt = (why: string) => {
    if (lost.signal.aborted) return;
    lost.abort(new Error(`lease on ${agent} lost (${why})`));
    clearInterval(timer);
    clearTimeout(expiry);
    stopRenewingOnReconnect();
  };
  /**
   * With `loseWhenExpired`: lost when the value last written (its renewedAt taken before the
   * write) reaches its ttl less a margin, unless a renewal moved it on. Readers judge expiry on
   * their clock at renewedAt + ttl; the margin covers this process's timer and event-loop lag.
   */
  let expiry: ReturnType<typeof setTimeout> | undefined;
  const expireAt = (renewedAt: number) => {
    if (options.loseWhenExpired !== true || lost.signal.aborted) return;
    clearTimeout(expiry);
    const ms = renewedAt + ttlMs - expiryMarginMs(ttlMs) - Date.now();
    expiry = setTimeout(() => loseIt('not renewed within its ttl'), Math.max(0, ms));
  };
  /** Writes a renewal on revision `from` (a renewal that lands after the lease was lost changes nothing here). */
  const renewOn = async (from: number): Promise<void> => {
    const renewedAt = Date.now();
    const next = await kv.update(agent, value(renewedAt), from);
    if (lost.signal.aborted) return;
    revision = next;
    lastRenewed = Date.now();
    expireAt(renewedAt);
  };
  const renew = async () => {
    if (renewing || lost.signal.aborted) return;
    renewing = true;
    try {
      await renewOn(revision);
    } catch (err) {
      let entry: KvEntry | null;
      try {
        entry = await kv.get(agent);
      } catch {
        // Cannot tell (NATS unreachable, or just restarted): keep trying. Our appends are fenced
        // anyway; only a long silence makes us stop working on our own.
        if (Date.now() - lastRenewed > UNREACHABLE_TTLS * ttlMs)
          loseIt(`unreachable for ${UNREACHABLE_TTLS} ttls`);
        return;
      }
      const current = entry ? parse(entry) : undefined;
      if (entry === null || current?.holder !== holder) {
        loseIt(
          `now held by ${current?.holder ?? 'nobody'}: ${err instanceof Error ? err.message : String(err)}`,
        );
        return;
      }
      // Still ours (the connection failed, not a rival): renewing on the revision just read is
      // a compare-and-swap, so it only succeeds if nobody took the name meanwhile, even after
      // an outage longer than the ttl. If it fails, the next tick looks again.
      await renewOn(entry.revision).catch(() => undefined);
    } finally {
      renewing = false;
    }
  };
  const timer = setInterval(renew, Math.max(100, Math.floor(ttlMs / 3)));
  const stopRenewingOnReconnect = onReconnect(() => void renew());
  expireAt(acquiredAt);

  return {
    agent,
    holder,
    lost: lost.signal,
    takeover,
    abandon: () => {
      clearInterval(timer);
      clearTimeout(expiry);
      stopRenewingOnReconnect();
      lost.abort(new Error('abandoned'));
    },
    release: async () => {
      clearInterval(timer);
      clearTimeout(expiry);
      stopRenewingOnReconnect();
      if (lost.signal.aborted) return;
      lost.abort(new Error('released'));
      await kv.delete(agent, { previousSeq: revision }).catch(() => undefined);
    },
  };
}

/** A holder's description never stops its renewal: one that throws is left out. */
function describe(options: LeaseOptions): unknown {
  try {
    return options.describe?.();
  } catch {
    return undefined;
  }
}

function parse(entry: KvEntry): LeaseValue | undefined {
  if (entry.operation !== 'PUT') return undefined;
  try {
    const value = JSON.parse(decoder.decode(entry.value)) as LeaseValue;
    return typeof value.holder === 'string' && typeof value.renewedAt === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

function isExpired(value: LeaseValue): boolean {
  return Date.now() > value.renewedAt + value.ttlMs;
}

function info(agent: string, value: LeaseValue): LeaseInfo {
  return {
    agent,
    holder: value.holder,
    renewedAt: new Date(value.renewedAt).toISOString(),
    expired: isExpired(value),
    ...(value.about === undefined ? {} : { about: value.about }),
  };
}

/** Waits `ms`, or rejects when `signal` aborts; the listener is removed either way (a standby waits for hours). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A lease as read from its KV entry: live, expired (the holder stopped renewing) or free. */
export function leaseStateOf(entry: KvEntry | null): 'live' | 'expired' | 'free' {
  const value = entry === null ? undefined : parse(entry);
  if (value === undefined) return 'free';
  return isExpired(value) ? 'expired' : 'live';
}

import { jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import {
  addHold,
  Buckets,
  type DailySpend,
  emptyLedger,
  ledgerSpend,
  parseLedger,
  type SpendLedger,
  settleHold,
} from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/**
 * Each agent's spend as its processes share it: one key per agent in `spool_spend` (core's
 * spend-ledger.ts), changed only by compare-and-swap, so 32 calls in flight, or several
 * processes, cannot each pass the same daily check. A call holds its worst case before it is
 * made and settles at what it cost after; a hold whose process died expires.
 */
export interface Spend {
  /** The agent's spend over the last 24 hours and what calls in flight hold. */
  read(agent: string): Promise<DailySpend>;
  /**
   * Holds `usd` for a call if `fits` says yes to the spend as it is at that moment (checked and
   * written in one compare-and-swap). Returns the spend it saw and whether it holds.
   */
  hold(
    agent: string,
    id: string,
    usd: number,
    untilMs: number,
    fits: (spend: DailySpend) => boolean,
  ): Promise<{ held: boolean; spend: DailySpend }>;
  /** The call cost `usd` (0 for a failed call): the hold goes, the cost counts. */
  settle(agent: string, id: string, usd: number): Promise<DailySpend>;
}

/** Opens (creating if needed) the `spool_spend` bucket. */
export async function spend(connection: SpoolConnection): Promise<Spend> {
  // A short timeout per attempt: an unknown outcome is read back and decided again.
  const js = jetstream(internals(connection).nc, { timeout: PUBLISH_ATTEMPT_MS });
  const kv = await openBucket(connection, Buckets.Spend, js);
  const read = async (agent: string) => readLedger(kv, agent);
  return {
    async read(agent) {
      return ledgerSpend((await read(agent)).ledger, Date.now());
    },
    async hold(agent, id, usd, untilMs, fits) {
      let seen: DailySpend = { spentUsd: 0, reservedUsd: 0 };
      const held = await swap(kv, agent, (ledger) => {
        const now = Date.now();
        seen = ledgerSpend(ledger, now);
        if (ledger.holds[id] !== undefined) return undefined; // held already (a retried swap)
        return fits(seen) ? addHold(ledger, id, usd, untilMs, now) : null;
      });
      return held
        ? { held: true, spend: { ...seen, reservedUsd: seen.reservedUsd + usd } }
        : { held: false, spend: seen };
    },
    async settle(agent, id, usd) {
      let after: DailySpend = { spentUsd: 0, reservedUsd: 0 };
      await swap(kv, agent, (ledger) => {
        const next = settleHold(ledger, id, usd, Date.now());
        after = ledgerSpend(next, Date.now());
        return next === ledger ? undefined : next;
      });
      return after;
    },
  };
}

async function readLedger(kv: KV, agent: string): Promise<{ ledger: SpendLedger; revision: number }> {
  const entry = await retryUnknownOutcome(() => kv.get(agent));
  if (entry === null || entry.operation !== 'PUT')
    return { ledger: emptyLedger(), revision: entry?.revision ?? 0 };
  try {
    return { ledger: parseLedger(JSON.parse(decoder.decode(entry.value))), revision: entry.revision };
  } catch {
    return { ledger: emptyLedger(), revision: entry.revision };
  }
}

/**
 * Read, change, compare-and-swap, again until the swap holds. `change` answers the new ledger,
 * `undefined` (nothing to write: done) or `null` (refused: nothing written). True when written or done.
 */
async function swap(
  kv: KV,
  agent: string,
  change: (ledger: SpendLedger) => SpendLedger | null | undefined,
): Promise<boolean> {
  for (;;) {
    const { ledger, revision } = await readLedger(kv, agent);
    const next = change(ledger);
    if (next === null) return false;
    if (next === undefined) return true;
    const value = encoder.encode(JSON.stringify(next));
    try {
      if (revision === 0) await kv.create(agent, value);
      else await kv.update(agent, value, revision);
      return true;
    } catch {
      // Another writer came first (or the outcome is unknown): read again and decide again. A
      // swap that did land is seen on the next read (the hold is there, the settle is listed).
    }
  }
}

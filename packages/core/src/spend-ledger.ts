import type { DailySpend } from './call-budget.ts';
import { HOUR_KEY_CHARS } from './state.ts';

/**
 * An agent's spend as the fleet shares it (one KV key per agent, compare-and-swap): USD
 * settled per hour over the last day, and the holds of calls in flight. A call holds its worst
 * case before it is made and settles at its real cost after, so calls in flight in any
 * process cannot each pass the same check. Pure: the jetstream package stores it.
 */
export interface SpendLedger {
  /** USD settled per hour (`YYYY-MM-DDTHH`), the last 25 hours. */
  readonly hours: Readonly<Record<string, number>>;
  /** Calls in flight: their worst case, until it is settled or `until` (epoch ms; its holder died). */
  readonly holds: Readonly<Record<string, { readonly usd: number; readonly until: number }>>;
  /** Holds settled lately: settling one again (an unknown outcome retried) adds nothing. */
  readonly settled: readonly string[];
}

const SETTLED_KEPT = 256;
const HOUR_MS = 3_600_000;

export const emptyLedger = (): SpendLedger => ({ hours: {}, holds: {}, settled: [] });

const hourKey = (ms: number) => new Date(ms).toISOString().slice(0, HOUR_KEY_CHARS);

/** Spent over the last 24 hours before `now` (whole hours, as the agent's own history counts), and held. */
export function ledgerSpend(ledger: SpendLedger, now: number): DailySpend {
  const since = hourKey(now - 24 * HOUR_MS);
  let spentUsd = 0;
  for (const [hour, usd] of Object.entries(ledger.hours)) if (hour >= since) spentUsd += usd;
  let reservedUsd = 0;
  for (const hold of Object.values(ledger.holds)) if (hold.until > now) reservedUsd += hold.usd;
  return { spentUsd, reservedUsd };
}

/** The ledger with a hold for a call in flight (old hours and expired holds dropped). */
export function addHold(
  ledger: SpendLedger,
  id: string,
  usd: number,
  until: number,
  now: number,
): SpendLedger {
  const pruned = prune(ledger, now);
  return { ...pruned, holds: { ...pruned.holds, [id]: { usd, until } } };
}

/** The call's real cost counted and its hold gone; nothing changes for a hold already settled. */
export function settleHold(ledger: SpendLedger, id: string, usd: number, now: number): SpendLedger {
  if (ledger.settled.includes(id)) return ledger;
  const pruned = prune(ledger, now);
  const { [id]: _gone, ...holds } = pruned.holds;
  const hour = hourKey(now);
  return {
    hours: { ...pruned.hours, [hour]: (pruned.hours[hour] ?? 0) + usd },
    holds,
    settled: [...pruned.settled, id].slice(-SETTLED_KEPT),
  };
}

function prune(ledger: SpendLedger, now: number): SpendLedger {
  const since = hourKey(now - 25 * HOUR_MS);
  const hours = Object.fromEntries(Object.entries(ledger.hours).filter(([hour]) => hour >= since));
  const holds = Object.fromEntries(Object.entries(ledger.holds).filter(([, hold]) => hold.until > now));
  return { hours, holds, settled: ledger.settled };
}

/** A stored ledger read back; anything unreadable counts as empty (it is coordination data). */
export function parseLedger(value: unknown): SpendLedger {
  if (typeof value !== 'object' || value === null) return emptyLedger();
  const v = value as Partial<SpendLedger>;
  return {
    hours: typeof v.hours === 'object' && v.hours !== null ? v.hours : {},
    holds: typeof v.holds === 'object' && v.holds !== null ? v.holds : {},
    settled: Array.isArray(v.settled) ? v.settled : [],
  };
}

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
  const queues = new Map<string, LedgerQueue>();
  const queueOf = (agent: string) => {
    let queue = queues.get(agent);
    if (queue === undefined) {
      queue = new LedgerQueue(kv, agent);
      queues.set(agent, queue);
    }
    return queue;
  };
  return {
    async read(agent) {
      return ledgerSpend((await readLedger(kv, agent)).ledger, Date.now());
    },
    hold(agent, id, usd, untilMs, fits) {
      return new Promise((resolve, reject) =>
        queueOf(agent).add({ kind: 'hold', id, usd, untilMs, fits, resolve, reject }),
      );
    },
    settle(agent, id, usd) {
      return new Promise((resolve, reject) =>
        queueOf(agent).add({ kind: 'settle', id, usd, resolve, reject }),
      );
    },
  };
}

type LedgerOp =
  | {
      kind: 'hold';
      id: string;
      usd: number;
      untilMs: number;
      fits: (spend: DailySpend) => boolean;
      resolve: (outcome: { held: boolean; spend: DailySpend }) => void;
      reject: (err: unknown) => void;
    }
  | {
      kind: 'settle';
      id: string;
      usd: number;
      resolve: (after: DailySpend) => void;
      reject: (err: unknown) => void;
    };

/**
 * One agent's ledger as this process changes it: the holds and settles asked for meanwhile go
 * in one compare-and-swap, in order (32 calls in flight make one write, not 32 that collide).
 */
class LedgerQueue {
  private pending: LedgerOp[] = [];
  private running = false;

  constructor(
    private readonly kv: KV,
    private readonly agent: string,
  ) {}

  add(op: LedgerOp): void {
    this.pending.push(op);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        let outcomes: (() => void)[] = [];
        try {
          await swap(this.kv, this.agent, (ledger) => {
            outcomes = [];
            let next = ledger;
            for (const op of batch) {
              const now = Date.now();
              const seen = ledgerSpend(next, now);
              if (op.kind === 'settle') {
                next = settleHold(next, op.id, op.usd, now);
                const after = ledgerSpend(next, now);
                outcomes.push(() => op.resolve(after));
              } else if (next.holds[op.id] !== undefined || op.fits(seen)) {
                // Held already: a swap whose outcome was unknown did land.
                if (next.holds[op.id] === undefined) next = addHold(next, op.id, op.usd, op.untilMs, now);
                const spend = { ...seen, reservedUsd: seen.reservedUsd + op.usd };
                outcomes.push(() => op.resolve({ held: true, spend }));
              } else {
                outcomes.push(() => op.resolve({ held: false, spend: seen }));
              }
            }
            return next === ledger ? undefined : next;
          });
          for (const done of outcomes) done();
        } catch (err) {
          for (const op of batch) op.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
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

/** Read, change, compare-and-swap, again until the swap holds; `change` answers undefined for nothing to write. */
async function swap(
  kv: KV,
  agent: string,
  change: (ledger: SpendLedger) => SpendLedger | undefined,
): Promise<void> {
  for (;;) {
    const { ledger, revision } = await readLedger(kv, agent);
    const next = change(ledger);
    if (next === undefined) return;
    const value = encoder.encode(JSON.stringify(next));
    try {
      if (revision === 0) await kv.create(agent, value);
      else await kv.update(agent, value, revision);
      return;
    } catch {
      // Another writer came first (or the outcome is unknown): read again and decide again. A
      // swap that did land is seen on the next read (the hold is there, the settle is listed).
    }
  }
}

import { ConcurrencyError, ensureError, IO_RETRY_MS } from '@spool/core/internal';
import type { Inbox, Lease, Leases } from './types.ts';

export interface LeaseTermsLogger {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LeaseTermsOptions {
  readonly leases: Pick<Leases, 'acquire'>;
  /** The name held: an agent's, or `coordinator`. */
  readonly name: string;
  readonly holder: string;
  readonly ttlMs: number;
  /** Ends the loop, and the running term with it. */
  readonly signal: AbortSignal;
  readonly logger: LeaseTermsLogger;
  /** What holds the name, as the logs say it: `agent name claimed`, `coordinator name claimed`. */
  readonly role: string;
  /** Run one term at most, and give up at once if another process holds the name (an adopted replica). */
  readonly once?: boolean;
  /** The level of "name claimed" (`debug` for a keyed agent's instances: one per activation). */
  readonly claimedLevel?: 'info' | 'debug';
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** After a takeover, before the term: what the dead holder had pulled comes back now. */
  readonly afterTakeover?: () => Promise<void>;
  /** What the holder says about itself in its lease (see `LeaseOptions.describe`). */
  readonly describe?: (() => unknown) | undefined;
  /** Another process holds the name: this one stands by (told once per wait). */
  readonly onStandby?: (holder: string) => void;
  /**
   * One term as the single writer: replay and work until `signal` aborts (stop, or the lease
   * lost) or the history refuses an append. Resolves with why the journal stopped, if it did.
   * `lost` aborts with the lease alone: work in flight then stops at once (someone else may
   * already be doing it), where a stop lets it finish within a grace period.
   */
  readonly term: (signal: AbortSignal, lost: AbortSignal) => Promise<{ readonly journalFailure: unknown }>;
}

/**
 * Holds a name and runs terms under it until stopped: waits for the name (a standby waits here
 * while another process holds it), runs a term, releases the name, and says why the term ended.
 * A term that lost the name or met another writer steps back and waits again: nothing is ever
 * written on a stale view. Shared by agents and the coordinator's workflow actor.
 */
export async function runLeaseTerms(options: LeaseTermsOptions): Promise<void> {
  const { logger, role, signal } = options;
  while (!signal.aborted) {
    let lease: Lease;
    // Given up when the name is held elsewhere and this process must not stand by.
    const held = new AbortController();
    try {
      let waiting = false;
      lease = await options.leases.acquire(options.name, options.holder, {
        ttlMs: options.ttlMs,
        ...(options.describe === undefined ? {} : { describe: options.describe }),
        signal: options.once ? AbortSignal.any([signal, held.signal]) : signal,
        onWait: (current) => {
          if (options.once) held.abort(new Error(`held by ${current.holder}`));
          if (!waiting) {
            logger.info({ holder: current.holder }, `${role} is held by another process; standing by`);
            options.onStandby?.(current.holder);
          }
          waiting = true;
        },
      });
    } catch (err) {
      if (signal.aborted || held.signal.aborted) return;
      logger.warn({ err: ensureError(err).message }, `could not claim the ${role} name; retrying`);
      await options.sleep(IO_RETRY_MS, signal).catch(() => undefined);
      continue;
    }
    logger[options.claimedLevel ?? 'info'](
      { holder: options.holder, takeover: lease.takeover },
      `${role} name claimed`,
    );
    if (lease.takeover) await options.afterTakeover?.();
    let failure: unknown;
    let lostInTerm = false;
    try {
      ({ journalFailure: failure } = await options.term(AbortSignal.any([signal, lease.lost]), lease.lost));
    } catch (err) {
      logger.error(
        { err: ensureError(err).message },
        `${role} stopped on an error; it will replay and resume`,
      );
    } finally {
      // Read before the release, which ends `lost` too: a term that ended on its own did not lose it.
      lostInTerm = lease.lost.aborted;
      await lease.release().catch(() => undefined);
    }
    if (lostInTerm && !signal.aborted)
      logger.warn(
        { reason: ensureError(lease.lost.reason).message },
        'lease lost (another process took the name, or it could not be renewed in time); stepping back',
      );
    else if (failure instanceof ConcurrencyError)
      logger.warn({ err: failure.message }, 'another writer appended to this history; stepping back');
    else if (failure !== undefined)
      logger.warn({ err: ensureError(failure).message }, 'history append failed; replaying and resuming');
    if (options.once) return;
    if (!signal.aborted) await options.sleep(500, signal).catch(() => undefined);
  }
}

/** After a takeover, what the previous holder had pulled and not acked is redelivered now. */
export async function reclaimUnacked(
  consumer: Pick<Inbox, 'reclaim'>,
  what: string,
  logger: LeaseTermsLogger,
): Promise<void> {
  try {
    const reclaimed = await consumer.reclaim();
    if (reclaimed > 0)
      logger.info({ reclaimed }, `previous holder left unacked ${what} messages; redelivering them now`);
  } catch (err) {
    // Not fatal: the server redelivers them after the ack wait anyway.
    logger.warn({ err: ensureError(err).message }, `could not reclaim unacked ${what} messages`);
  }
}

import { ensureError } from '@spool/core/internal';
import type { Logger } from 'pino';
import type { SnapshotCodec } from './decider.ts';
import type { SnapshotPort } from './restore.ts';

/**
 * Saves the actor's state every `every` journaled events, in the background and one save
 * at a time. The state is encoded synchronously, so a snapshot is exactly the state at its
 * sequence. A failed save is not fatal: the history is the truth, and the next save tries
 * again.
 */
export class Snapshotter<State extends { seq: number }> {
  private eventsSince = 0;
  private saving = false;

  constructor(
    private readonly name: string,
    private readonly port: SnapshotPort | undefined,
    private readonly codec: SnapshotCodec<State> | undefined,
    private readonly every: number,
    private readonly logger: Logger,
  ) {}

  /** Events already in the history past the snapshot the state was restored from. */
  restoredWith(events: number): void {
    this.eventsSince = events;
  }

  /** Counts `events` just journaled and saves a snapshot of `state` when one is due. */
  journaled(events: number, state: State): void {
    this.eventsSince += events;
    const { port, codec } = this;
    if (port === undefined || codec === undefined || this.every === 0) return;
    if (this.saving || this.eventsSince < this.every) return;
    const snapshot = codec.encode(state);
    const seq = state.seq;
    const covered = this.eventsSince;
    this.eventsSince = 0;
    this.saving = true;
    const started = performance.now();
    port
      .save(this.name, seq, snapshot)
      .then((saved) =>
        this.logger.info(
          { seq, events: covered, ms: Math.round(performance.now() - started), saved },
          'snapshot saved',
        ),
      )
      .catch((err) => {
        this.eventsSince += covered;
        this.logger.warn({ seq, err: ensureError(err).message }, 'snapshot not saved');
      })
      .finally(() => {
        this.saving = false;
      });
  }
}

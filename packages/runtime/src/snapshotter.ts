import { type AgentState, ensureError, toSnapshot } from '@spool/core';
import type { Logger } from 'pino';
import type { SnapshotPort } from './restore.ts';

/**
 * Saves the agent's state every `every` journaled events, in the background and one save
 * at a time. The state is serialized synchronously, so a snapshot is exactly the state at
 * its sequence. A failed save is not fatal: the history is the truth, and the next save
 * tries again.
 */
export class Snapshotter {
  private eventsSince = 0;
  private saving = false;

  constructor(
    private readonly port: SnapshotPort | undefined,
    private readonly every: number,
    private readonly logger: Logger,
  ) {}

  /** Events already in the history past the snapshot the state was restored from. */
  restoredWith(events: number): void {
    this.eventsSince = events;
  }

  /** Counts `events` just journaled and saves a snapshot of `state` when one is due. */
  journaled(events: number, state: AgentState): void {
    this.eventsSince += events;
    if (this.port === undefined || this.every === 0 || this.saving || this.eventsSince < this.every) return;
    const snapshot = toSnapshot(state);
    const covered = this.eventsSince;
    this.eventsSince = 0;
    this.saving = true;
    const started = Date.now();
    this.port
      .save(state.agent, snapshot.seq, snapshot)
      .then((saved) =>
        this.logger.info(
          { seq: snapshot.seq, events: covered, ms: Date.now() - started, saved },
          'snapshot saved',
        ),
      )
      .catch((err) => {
        this.eventsSince += covered;
        this.logger.warn({ seq: snapshot.seq, err: ensureError(err).message }, 'snapshot not saved');
      })
      .finally(() => {
        this.saving = false;
      });
  }
}

import {
  applyCoordinatorCommit,
  COORDINATOR,
  CommitTooLargeError,
  type CoordinatorCommand,
  type CoordinatorState,
  decideCoordinator,
  type HistoryEvent,
} from '@spool/core';
import type { HistoryStore } from '@spool/jetstream';

/**
 * A decision whose events do not fit in one commit (NATS's max_payload): nothing was written,
 * and the journal goes on. Its owner fails the workflows it was about, so the others go on too.
 */
export class DecisionTooLargeError extends Error {
  override readonly name = 'DecisionTooLargeError';
  constructor(
    readonly workflowIds: readonly string[],
    readonly bytes: number,
    options?: ErrorOptions,
  ) {
    super(`a decision about ${workflowIds.join(', ')} is ${bytes} bytes, too large for one commit`, options);
  }
}

/**
 * The single writer of `spool.history.coordinator`. Commands are decided one at a time against
 * the latest state and appended with the expected last sequence; the state is evolved only once
 * the append is durable. One at a time (no group commit): workflows are few and slow next to
 * their tasks, and a serial journal cannot decide two things on a stale view.
 */
export class CoordinatorJournal {
  private tail: Promise<unknown> = Promise.resolve();
  private failedWith: unknown;

  constructor(
    private readonly store: HistoryStore,
    readonly state: CoordinatorState,
  ) {}

  /** Why the journal stopped (ConcurrencyError: another writer appended first), if it did. */
  get failure(): unknown {
    return this.failedWith;
  }

  /**
   * Decides `command`, appends its events and applies them; resolves with the events written
   * (none when the command no longer applies). After an append fails, everything is refused:
   * the owner must step back and replay.
   */
  commit(command: CoordinatorCommand): Promise<HistoryEvent[]> {
    const run = this.tail.then(() => this.write(command));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async write(command: CoordinatorCommand): Promise<HistoryEvent[]> {
    if (this.failedWith !== undefined) throw this.failedWith;
    // A command that cannot be decided fails alone (it throws here, before anything is written).
    const events = decideCoordinator(this.state, command);
    if (events.length === 0) return [];
    try {
      const appended = await this.store.append(COORDINATOR, events, this.state.seq);
      if (appended.duplicate) {
        // Stored before (our earlier attempt whose ack was lost): read it back rather than trust our copy.
        for await (const commit of this.store.replay(COORDINATOR, { fromSeq: this.state.seq + 1 }))
          applyCoordinatorCommit(this.state, commit);
      } else {
        applyCoordinatorCommit(this.state, { seq: appended.seq, events });
      }
      return events;
    } catch (err) {
      if (err instanceof CommitTooLargeError) {
        const ids = new Set(events.map((e) => String((e.data as { workflowId?: unknown }).workflowId)));
        throw new DecisionTooLargeError([...ids], err.bytes, { cause: err });
      }
      this.failedWith = err;
      throw err;
    }
  }
}

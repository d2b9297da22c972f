import {
  type AgentState,
  applyCommit,
  type Command,
  CommitTooLargeError,
  decide,
  type HistoryEvent,
  taskIdOf,
} from '@spool/core';
import type { HistoryStore } from '@spool/jetstream';

/** Commits above this size are split: a JetStream message is at most 1 MB by default. */
const MAX_COMMIT_BYTES = 512 * 1024;

interface Pending {
  readonly command: Command;
  readonly resolve: (events: HistoryEvent[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The single writer of one agent's history. Commands are decided against the latest state
 * and appended with the expected last sequence; the state is evolved only once the append is
 * durable. Commands that arrive while an append is in flight are grouped into the next
 * commit (group commit), so concurrent tasks share one round-trip instead of queueing for
 * one each.
 */
export class Journal {
  private readonly queue: Pending[] = [];
  private flushing = false;
  private failed: unknown;
  /** Commands of a batch too large for one message, written one per commit. */
  private oneAtATime = 0;

  constructor(
    private readonly store: HistoryStore,
    readonly state: AgentState,
  ) {}

  /**
   * Decides `command`, appends its events and applies them. Resolves with the events written
   * (none when the command no longer applies). Rejects with ConcurrencyError when another
   * writer appended first; after that the journal refuses everything: the owner must step back.
   */
  commit(command: Command): Promise<HistoryEvent[]> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.flushing) this.flush().catch((err) => this.abandon(err));
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.failed === undefined) {
        const batch: { pending: Pending; events: HistoryEvent[] }[] = [];
        // Tasks a command of this batch already decided about: a second decision about one of
        // them waits for the next batch, so it is made against the state the first one led to
        // (a cancel and a reply of the same task must not both be decided as if the other had
        // not happened).
        const touched = new Set<string>();
        let bytes = 0;
        while (this.queue.length > 0) {
          const pending = this.queue[0] as Pending;
          let events: HistoryEvent[];
          let size: number;
          try {
            events = decide(this.state, pending.command);
            size = events.length === 0 ? 0 : JSON.stringify(events).length;
          } catch (err) {
            // A command that cannot even be decided or encoded fails alone; the queue moves on.
            this.queue.shift();
            pending.reject(err);
            continue;
          }
          const tasks = events.flatMap((e) => taskIdOf(e) ?? []);
          if (
            batch.length > 0 &&
            (this.oneAtATime > 0 || bytes + size > MAX_COMMIT_BYTES || tasks.some((t) => touched.has(t)))
          )
            break;
          this.queue.shift();
          batch.push({ pending, events });
          for (const task of tasks) touched.add(task);
          bytes += size;
        }
        if (this.oneAtATime > 0) this.oneAtATime -= 1;
        await this.write(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Fails everything queued: the journal cannot go on (an error outside any one command). */
  private abandon(err: unknown): void {
    this.failed ??= err;
    for (const pending of this.queue.splice(0)) pending.reject(err);
  }

  private async write(batch: { pending: Pending; events: HistoryEvent[] }[]): Promise<void> {
    const events = batch.flatMap((item) => item.events);
    if (events.length === 0) {
      for (const item of batch) item.pending.resolve([]);
      return;
    }
    try {
      const agent = this.state.agent;
      const appended = await this.store.append(agent, events, this.state.seq);
      if (appended.duplicate) {
        // Stored before (our own earlier attempt whose ack was lost): read it back rather than trust our copy.
        for await (const commit of this.store.replay(agent, { fromSeq: this.state.seq + 1 }))
          applyCommit(this.state, commit);
      } else {
        applyCommit(this.state, { seq: appended.seq, events });
      }
      for (const item of batch) item.pending.resolve(item.events);
    } catch (err) {
      if (err instanceof CommitTooLargeError) {
        // Nothing was written. Several commands: each again in a commit of its own. One: it alone
        // is refused (its owner fails the task), and the journal goes on.
        if (batch.length > 1) {
          this.queue.unshift(...batch.map((item) => item.pending));
          this.oneAtATime = batch.length;
        } else for (const item of batch) item.pending.reject(err);
        return;
      }
      this.failed = err;
      for (const item of batch) item.pending.reject(err);
      for (const pending of this.queue.splice(0)) pending.reject(err);
    }
  }
}

import { CommitTooLargeError, noObserver, type Observer } from '@spool/core/internal';
import { applyCommit, type CommitPolicy, type Decider } from './decider.ts';

/** What the journal needs of a history store (the jetstream package's `historyStore` fits). */
export interface HistoryPort<Event> {
  /**
   * Appends one commit if the history's last sequence is still `expectedSeq`; throws
   * ConcurrencyError when another writer appended first, CommitTooLargeError when the commit
   * does not fit in one message. `duplicate`: this very commit was stored before.
   */
  append(
    name: string,
    events: readonly Event[],
    expectedSeq: number,
  ): Promise<{ readonly seq: number; readonly duplicate: boolean }>;
  /** The last sequence of the history, 0 when it is empty. */
  lastSeq(name: string): Promise<number>;
  /** Commits from `fromSeq` on; up to `untilSeq` when given (the caller read the last sequence already). */
  replay(
    name: string,
    options?: { readonly fromSeq?: number; readonly untilSeq?: number },
  ): AsyncIterable<{ readonly seq: number; readonly events: readonly Event[] }>;
  /**
   * The one commit stored at `seq`, if it is this history's (undefined otherwise, or when the
   * store cannot say yet). Optional: a store without it is read back with `replay`.
   */
  commitAt?(
    name: string,
    seq: number,
  ): Promise<{ readonly seq: number; readonly events: readonly Event[] } | undefined>;
}

/**
 * A decision whose events do not fit in one commit (NATS's max_payload) even alone: nothing
 * was written, and the journal goes on. Its actor decides what replaces it (fail the task).
 */
export class DecisionTooLargeError<Event = unknown> extends Error {
  override readonly name = 'DecisionTooLargeError';
  constructor(
    readonly events: readonly Event[],
    readonly bytes: number,
    options?: ErrorOptions,
  ) {
    super(`a decision of ${events.length} event(s) is ${bytes} bytes, too large for one commit`, options);
  }
}

/** Commits above this size are split: a JetStream message is at most 1 MB by default. */
const MAX_COMMIT_BYTES = 512 * 1024;

interface Pending<Command, Event> {
  readonly command: Command;
  readonly resolve: (events: Event[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The single writer of one actor's history. Commands are decided against the latest state
 * and appended with the expected last sequence (fencing: a second writer's append fails);
 * the state is evolved only once the append is durable. With group commit, commands that
 * arrive while an append is in flight share the next one, so concurrent work is not held to
 * one round-trip each.
 */
export class Journal<State extends { seq: number }, Command, Event> {
  private readonly queue: Pending<Command, Event>[] = [];
  private flushing = false;
  private failedWith: unknown;
  /** Commands of a batch too large for one message, written one per commit. */
  private oneAtATime = 0;

  constructor(
    private readonly store: HistoryPort<Event>,
    private readonly name: string,
    private readonly decider: Pick<Decider<State, Command, Event, unknown>, 'decide' | 'evolve'>,
    readonly state: State,
    private readonly policy: CommitPolicy<Event>,
    /** Told each append's duration and size (metrics). */
    private readonly observer: Pick<Observer, 'journalCommitted'> = noObserver,
  ) {}

  /** Why the journal stopped taking commands (ConcurrencyError: another writer appended first), if it did. */
  get failure(): unknown {
    return this.failedWith;
  }

  /**
   * Decides `command`, appends its events and applies them. Resolves with the events written
   * (none when the command no longer applies). Rejects with DecisionTooLargeError when they
   * cannot fit in one commit; with the store's error when an append fails, after which the
   * journal refuses everything: its owner must step back and replay.
   */
  commit(command: Command): Promise<Event[]> {
    if (this.failedWith !== undefined) return Promise.reject(this.failedWith);
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      if (!this.flushing) this.flush().catch((err) => this.abandon(err));
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.failedWith === undefined) {
        const batch = this.nextBatch();
        if (this.oneAtATime > 0) this.oneAtATime -= 1;
        await this.write(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Takes the commands of the next commit off the queue, each with its decision. */
  private nextBatch(): { pending: Pending<Command, Event>; events: Event[] }[] {
    const batch: { pending: Pending<Command, Event>; events: Event[] }[] = [];
    // What the batch already decided about: a second decision about one of them waits for the
    // next batch, so it is made against the state the first one led to (a cancel and a reply
    // of the same task must not both be decided as if the other had not happened).
    const touched = new Set<string>();
    const scopeOf = this.policy.scopeOf;
    let bytes = 0;
    while (this.queue.length > 0) {
      const pending = this.queue[0] as Pending<Command, Event>;
      if (batch.length > 0 && (!this.policy.group || this.oneAtATime > 0)) break;
      let events: Event[];
      let size: number;
      try {
        events = this.decider.decide(this.state, pending.command);
        size = events.length === 0 ? 0 : JSON.stringify(events).length;
      } catch (err) {
        // A command that cannot even be decided or encoded fails alone; the queue moves on.
        this.queue.shift();
        pending.reject(err);
        continue;
      }
      const scopes = scopeOf === undefined ? [] : events.flatMap((e) => scopeOf(e) ?? []);
      if (batch.length > 0 && (bytes + size > MAX_COMMIT_BYTES || scopes.some((s) => touched.has(s)))) break;
      this.queue.shift();
      batch.push({ pending, events });
      for (const scope of scopes) touched.add(scope);
      bytes += size;
    }
    return batch;
  }

  /** Fails everything queued: the journal cannot go on (an error outside any one command). */
  private abandon(err: unknown): void {
    this.failedWith ??= err;
    for (const pending of this.queue.splice(0)) pending.reject(err);
  }

  private async write(batch: { pending: Pending<Command, Event>; events: Event[] }[]): Promise<void> {
    const events = batch.flatMap((item) => item.events);
    if (events.length === 0) {
      for (const item of batch) item.pending.resolve([]);
      return;
    }
    try {
      const started = performance.now();
      const appended = await this.store.append(this.name, events, this.state.seq);
      this.observer.journalCommitted((performance.now() - started) / 1000, events.length);
      if (appended.duplicate) {
        // Stored before (our own earlier attempt whose ack was lost): read it back rather than
        // trust our copy. It is the commit right after ours (it was stored against our last
        // sequence): one read by sequence, retried as the store retries reads; a replay (a new
        // consumer, on a cluster in the middle of an election) only if the store cannot say.
        const stored = await this.store.commitAt?.(this.name, appended.seq);
        if (stored !== undefined) applyCommit(this.decider, this.state, stored);
        else
          for await (const commit of this.store.replay(this.name, { fromSeq: this.state.seq + 1 }))
            applyCommit(this.decider, this.state, commit);
      } else {
        applyCommit(this.decider, this.state, { seq: appended.seq, events });
      }
      for (const item of batch) item.pending.resolve(item.events);
    } catch (err) {
      if (err instanceof CommitTooLargeError) {
        // Nothing was written. Several commands: each again in a commit of its own. One: it alone
        // is refused (its owner decides what replaces it), and the journal goes on.
        if (batch.length > 1) {
          this.queue.unshift(...batch.map((item) => item.pending));
          this.oneAtATime = batch.length;
        } else
          for (const item of batch)
            item.pending.reject(new DecisionTooLargeError(item.events, err.bytes, { cause: err }));
        return;
      }
      this.failedWith = err;
      for (const item of batch) item.pending.reject(err);
      for (const pending of this.queue.splice(0)) pending.reject(err);
    }
  }
}

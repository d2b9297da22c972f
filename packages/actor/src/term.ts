import { ensureError, noObserver, type Observer } from '@spool/core/internal';
import type { Logger } from 'pino';
import { Alarms } from './alarms.ts';
import type { Clock } from './clock.ts';
import type { ActorLogic } from './decider.ts';
import { EffectsLoop } from './effects-loop.ts';
import { DecisionTooLargeError, type HistoryPort, Journal } from './journal.ts';
import { type Restored, restore, type SnapshotPort } from './restore.ts';
import { Snapshotter } from './snapshotter.ts';

/** What a term gives the actor's handlers: its state, its journal and its signals. */
export interface Term<State, Command, Event> {
  readonly name: string;
  /** The folded state: read it, never change it (only journaled events do). */
  readonly state: State;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborted when the actor is told to stop or loses its lease (before any grace period). */
  readonly stopping: AbortSignal;
  /** Aborted when the term takes no more input: stopping, or the term failed. */
  readonly intake: AbortSignal;
  /** Aborted when work in flight must stop: the grace period after a stop ended, the lease was lost, or the term failed. */
  readonly work: AbortSignal;
  /** The term ended on its own (a failed append, an input it cannot go on without): nothing more is written. */
  readonly failed: boolean;
  /**
   * Decides a command, appends its events (group commit, fenced by the expected sequence) and
   * applies them; resolves with the events written. A failed append fails the term.
   */
  commit(command: Command): Promise<Event[]>;
  /** Asks `next` again (an input was journaled) and wakes whoever waits on `changed`. */
  reconcile(): void;
  /** Resolves at the next change: an effect ended, an input was journaled, the term is ending. */
  changed(): Promise<void>;
  /** Something outside the effects (an input) failed: reported, and tried again in a moment. */
  retryLater(key: string, err: unknown): void;
  /** Ends the term without a failure of the journal (a source it cannot go on without ended). */
  end(reason: unknown): void;
  /** Ends the term as failed: `failure` says why, and the lease loop replays. */
  fail(err: unknown): void;
}

/** What an actor does in a term, around the kernel's loop: its inputs and its effect handlers. */
export interface TermHandlers<State, Command, Event, Effect> {
  /** Names an effect: one run per key at a time. */
  key(effect: Effect): string;
  /** Runs one effect; its outcome goes back through `term.commit` before anything relies on it. */
  run(effect: Effect): Promise<void>;
  /** Whether the effect may start while the term drains (default: none). */
  runsWhileDraining?(effect: Effect): boolean;
  /** Reports an effect that failed (it runs again in a moment). */
  effectFailed?(key: string, err: unknown): void;
  /** The history is replayed (log it); called before `ready`. */
  replayed?(restored: Restored<State>, ms: number): void;
  /** Commands that must be journaled before any input or effect (what waited while the actor was down). */
  begin?(): Promise<void>;
  /** The term's inputs (inbox, control, results): resolves once `term.intake` aborts and they have stopped. */
  intake(): Promise<void>;
  /** After a command is journaled (more may follow from it). */
  committed?(command: Command, events: readonly Event[]): Promise<void>;
  /** A command whose events do not fit in one commit: what replaces it (fail its task), or throw. */
  tooLarge?(command: Command, err: DecisionTooLargeError<Event>): Promise<Event[]>;
  /** The term is over: hand back what it holds. */
  end?(): Promise<void> | void;
}

export interface TermOptions<State extends { seq: number }, Command, Event, Effect, Handlers> {
  readonly name: string;
  readonly logic: ActorLogic<State, Command, Event, Effect>;
  readonly handlers: (term: Term<State, Command, Event>) => Handlers;
  readonly store: HistoryPort<Event>;
  readonly snapshots?: SnapshotPort | undefined;
  /** Events between snapshots (0 or undefined: none). */
  readonly snapshotEvery?: number | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** After a stop, work in flight gets this long to finish; then it is abandoned (it resumes next time). */
  readonly graceMs: number;
  /**
   * The level of the lines that mark the actor's life (name claimed, snapshot loaded, history
   * replayed, stopped): `debug` for a keyed agent's instances, thousands of which come and go.
   */
  readonly lifecycleLevel?: 'info' | 'debug' | undefined;
  readonly onReady?: (() => void) | undefined;
  /** Told each commit's duration and size, and the replay's (metrics; default: nothing). */
  readonly observer?: Pick<Observer, 'journalCommitted' | 'replayed'> | undefined;
}

/**
 * One term of an actor as the single writer of its history, from replay until it is told to
 * stop, loses its lease or loses an append race. The state lives only in the journal's fold
 * of the history; the loop asks `next(state)` what to do and runs each effect through the
 * actor's handlers.
 */
export class ActorTerm<
  State extends { seq: number },
  Command,
  Event,
  Effect,
  Handlers extends TermHandlers<State, Command, Event, Effect>,
> implements Term<State, Command, Event>
{
  private journal: Journal<State, Command, Event> | undefined;
  private handlerSet: Handlers | undefined;
  private readonly intakeControl = new AbortController();
  private readonly workControl = new AbortController();
  private failure: unknown;
  private ended = false;
  private readonly waiting = new Set<() => void>();
  private readonly alarms: Alarms;
  private readonly loop: EffectsLoop<Effect>;
  private readonly snapshotter: Snapshotter<State>;
  readonly intake: AbortSignal = this.intakeControl.signal;
  readonly work: AbortSignal = this.workControl.signal;

  constructor(
    private readonly options: TermOptions<State, Command, Event, Effect, Handlers>,
    readonly stopping: AbortSignal,
    /** The lease lost: no grace for work in flight (another holder may be doing it already). */
    private readonly lost?: AbortSignal,
  ) {
    const { logic, clock, logger } = options;
    this.alarms = new Alarms(clock, () => this.reconcile());
    this.loop = new EffectsLoop<Effect>(
      (now) => logic.decider.next(this.state, now),
      {
        key: (effect) => this.handlers.key(effect),
        run: (effect) => this.handlers.run(effect),
        runsWhileDraining: (effect) => this.handlers.runsWhileDraining?.(effect) === true,
        failed: (key, err) => {
          if (this.handlers.effectFailed) this.handlers.effectFailed(key, err);
          else
            logger.warn({ effect: key, err: ensureError(err).message }, 'effect failed; it will be retried');
        },
      },
      clock,
      this.alarms,
      () => this.ended || this.work.aborted,
      () => this.notify(),
    );
    this.snapshotter = new Snapshotter(
      options.name,
      options.snapshots,
      logic.snapshots,
      options.snapshotEvery ?? 0,
      logger,
    );
  }

  get name(): string {
    return this.options.name;
  }
  get clock(): Clock {
    return this.options.clock;
  }
  get logger(): Logger {
    return this.options.logger;
  }
  get failed(): boolean {
    return this.ended;
  }

  /** The state once replayed; undefined before. */
  get current(): State | undefined {
    return this.journal?.state;
  }

  get state(): State {
    if (this.journal === undefined) throw new Error('the history is not replayed yet');
    return this.journal.state;
  }

  /** The actor's handlers for this term, once replayed. */
  get handlers(): Handlers {
    if (this.handlerSet === undefined) throw new Error('the history is not replayed yet');
    return this.handlerSet;
  }

  /** The handlers if the term has replayed its history, else undefined. */
  get readyHandlers(): Handlers | undefined {
    return this.handlerSet;
  }

  /** Why the term failed, if it did (the lease loop logs it). */
  get failedWith(): unknown {
    return this.failure;
  }

  /** Replays, then works until `stopping` aborts or the term fails. */
  async run(): Promise<void> {
    const { name, logic, store, clock, logger } = this.options;
    const started = clock.now().getTime();
    const stopIntake = () => this.intakeControl.abort(this.stopping.reason);
    if (this.stopping.aborted) stopIntake();
    else this.stopping.addEventListener('abort', stopIntake, { once: true });
    this.intake.addEventListener('abort', () => this.notify(), { once: true });
    const stopWork = () => this.workControl.abort(this.stopping.reason);
    this.lost?.addEventListener('abort', stopWork, { once: true });
    try {
      const observer = this.options.observer ?? noObserver;
      const replayStarted = performance.now(); // real time, whatever the actor's clock says
      const restored = await restore(
        name,
        logic,
        store,
        this.options.snapshots,
        logger,
        this.options.lifecycleLevel,
      );
      observer.replayed((performance.now() - replayStarted) / 1000);
      this.journal = new Journal(store, name, logic.decider, restored.state, logic.commits, observer);
      this.snapshotter.restoredWith(restored.events);
      const handlers = this.options.handlers(this);
      this.handlerSet = handlers;
      handlers.replayed?.(restored, clock.now().getTime() - started);
      this.options.onReady?.();
      await handlers.begin?.();
      this.reconcile();
      await handlers.intake();
      // Stopping: take nothing new, let work in flight finish (or be abandoned after the grace).
      this.loop.drain();
      const grace = new AbortController();
      clock.sleep(this.ended ? 0 : this.options.graceMs, grace.signal).then(stopWork, () => undefined);
      await this.loop.settle();
      grace.abort();
    } finally {
      stopWork();
      this.lost?.removeEventListener('abort', stopWork);
      this.stopping.removeEventListener('abort', stopIntake);
      this.alarms.stop();
      await this.loop.settle();
      await this.handlerSet?.end?.();
    }
  }

  async commit(command: Command): Promise<Event[]> {
    const journal = this.journal;
    if (journal === undefined) throw new Error('journal not open');
    let events: Event[];
    try {
      events = await journal.commit(command);
    } catch (err) {
      const handlers = this.handlerSet;
      if (err instanceof DecisionTooLargeError && handlers?.tooLarge !== undefined)
        return handlers.tooLarge(command, err as DecisionTooLargeError<Event>);
      // Another writer owns the history now (or the store failed): nothing more may be written on this view.
      if (journal.failure !== undefined) this.fail(journal.failure);
      throw err;
    }
    this.snapshotter.journaled(events.length, journal.state);
    const handlers = this.handlerSet;
    if (handlers?.committed !== undefined && events.length > 0) await handlers.committed(command, events);
    return events;
  }

  reconcile(): void {
    this.loop.reconcile();
    this.notify();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.add(resolve);
    });
  }

  retryLater(key: string, err: unknown): void {
    this.loop.failed(key, err);
  }

  end(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.intakeControl.abort(reason);
    this.workControl.abort(reason);
    this.notify();
  }

  fail(err: unknown): void {
    this.failure ??= err;
    this.end(err);
  }

  private notify(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }
}

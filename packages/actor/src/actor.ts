import type { ActorPhase } from '@spool/core/internal';
import { type Leases, runLeaseTerms } from '@spool/jetstream';
import { type Clock, systemClock } from './clock.ts';
import { ActorTerm, type TermHandlers, type TermOptions } from './term.ts';

export interface ActorOptions<State extends { seq: number }, Command, Event, Effect, Handlers>
  extends Omit<TermOptions<State, Command, Event, Effect, Handlers>, 'clock'> {
  /** Identifies this process in the lease. */
  readonly holder: string;
  /** What holds the name, as the logs say it (`agent`, `coordinator`). */
  readonly role: string;
  readonly leases: Pick<Leases, 'acquire'>;
  readonly ttlMs: number;
  readonly clock?: Clock | undefined;
  /** Run one term at most, and give up at once if the name is held elsewhere (an adopted replica). */
  readonly once?: boolean | undefined;
  /** After a takeover, before the term: bring back what the dead holder had pulled. */
  readonly afterTakeover?: (() => Promise<void>) | undefined;
  /** What the holder says about itself in its lease, for status (e.g. an agent's MCP servers). */
  readonly describeHolder?: (() => unknown) | undefined;
  /** Stops the actor, as `stop()` does. */
  readonly signal?: AbortSignal | undefined;
}

/** A running actor: its state is the fold of its history while this process is the writer. */
export interface ActorHandle<State, Handlers> {
  /** Resolves once this process holds the name and has replayed the history (a standby waits). */
  readonly ready: Promise<void>;
  /** Resolves when the actor has stopped. */
  readonly stopped: Promise<void>;
  /** The replayed state while this process is the writer. */
  state(): State | undefined;
  /** The current term's handlers, once it has replayed. */
  handlers(): Handlers | undefined;
  /** Where it stands: claiming its name, standing by, replaying, working (active), stopped. */
  phase(): ActorPhase;
  stop(reason?: unknown): Promise<void>;
}

/**
 * Runs an actor until stopped: waits to hold its name (a standby waits here while another
 * process is the writer), and runs terms under it (term.ts). If it loses the name (its lease
 * was taken, or another writer appended first) it steps back and waits to hold it again; it
 * never writes on a stale view.
 */
export function startActor<
  State extends { seq: number },
  Command,
  Event,
  Effect,
  Handlers extends TermHandlers<State, Command, Event, Effect>,
>(options: ActorOptions<State, Command, Event, Effect, Handlers>): ActorHandle<State, Handlers> {
  const clock = options.clock ?? systemClock;
  const stopping = new AbortController();
  const signal =
    options.signal === undefined ? stopping.signal : AbortSignal.any([stopping.signal, options.signal]);
  let active: ActorTerm<State, Command, Event, Effect, Handlers> | undefined;
  let phase: ActorPhase = 'claiming';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const stopped = runLeaseTerms({
    leases: options.leases,
    name: options.name,
    holder: options.holder,
    ttlMs: options.ttlMs,
    signal,
    logger: options.logger,
    role: options.role,
    once: options.once === true,
    ...(options.lifecycleLevel === undefined ? {} : { claimedLevel: options.lifecycleLevel }),
    sleep: (ms, s) => clock.sleep(ms, s),
    afterTakeover: options.afterTakeover,
    describe: options.describeHolder,
    onStandby: () => {
      phase = 'standby';
    },
    term: async (term, lost) => {
      phase = 'replaying';
      const current = new ActorTerm(
        {
          ...options,
          clock,
          onReady: () => {
            phase = 'active';
            options.onReady?.();
            markReady();
          },
        },
        term,
        lost,
      );
      active = current;
      try {
        await current.run();
      } finally {
        active = undefined;
        phase = 'claiming';
      }
      return { journalFailure: current.failedWith };
    },
  }).finally(() => {
    phase = 'stopped';
  });

  return {
    ready,
    stopped,
    state: () => active?.current,
    handlers: () => active?.readyHandlers,
    phase: () => phase,
    stop: async (reason = new Error('actor stopping')) => {
      stopping.abort(reason);
      await stopped;
    },
  };
}

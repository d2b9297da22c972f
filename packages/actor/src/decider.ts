/**
 * The pure logic of an event-sourced actor, in the manner of Emmett's `Decider` and XState's
 * pure transition: the kernel owns every I/O and calls these. `State` carries `seq`, the
 * history sequence of the last commit folded into it.
 */
export interface Decider<State extends { seq: number }, Command, Event, Effect> {
  /** The state of an empty history. */
  initialState(name: string): State;
  /**
   * The events a command leads to, from the state alone. None when the command no longer
   * applies (a repeat after a crash), which makes every command safe to send again.
   */
  decide(state: State, command: Command): Event[];
  /** Folds one event into the state, in place (replay speed), and returns it. Pure and total. */
  evolve(state: State, event: Event): State;
  /** What must be done next, as data; same state and time, same answer. */
  next(state: State, now: Date): Next<Effect>;
}

export interface Next<Effect> {
  readonly effects: readonly Effect[];
  /**
   * When `next` will answer differently by the clock alone (a backoff ending, a deadline),
   * in epoch ms; the kernel sets an alarm for it.
   */
  readonly wakeAt?: number | undefined;
}

/** How the journal groups commands into commits (one append each). */
export interface CommitPolicy<Event> {
  /**
   * Commands that arrive while an append is in flight share the next one (group commit),
   * each decided on the state before the batch. Without it: one command per append, each
   * decided on the state the one before led to.
   */
  readonly group: boolean;
  /**
   * What an event is about (a task id), for group commit: a second decision about the same
   * thing waits for the next commit, so it is made on the state the first one led to.
   */
  readonly scopeOf?: (event: Event) => string | undefined;
}

/** How a state is saved in and read back from a snapshot (optional: no snapshots without it). */
export interface SnapshotCodec<State extends { seq: number }> {
  encode(state: State): unknown;
  /** The state a snapshot holds, or why it cannot be used (another state version, bad data). */
  decode(data: unknown, name: string): { readonly state: State } | { readonly problem: string };
}

/** An actor's pure parts, for the kernel: its decider, commit policy and snapshot codec. */
export interface ActorLogic<State extends { seq: number }, Command, Event, Effect> {
  readonly decider: Decider<State, Command, Event, Effect>;
  readonly commits: CommitPolicy<Event>;
  readonly snapshots?: SnapshotCodec<State> | undefined;
}

/** Applies a stored commit: its events in order, then its position. */
export function applyCommit<State extends { seq: number }, Event>(
  decider: Pick<Decider<State, unknown, Event, unknown>, 'evolve'>,
  state: State,
  commit: { readonly seq: number; readonly events: readonly Event[] },
): State {
  for (const event of commit.events) decider.evolve(state, event);
  state.seq = commit.seq;
  return state;
}

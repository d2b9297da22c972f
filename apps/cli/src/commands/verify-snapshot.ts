import {
  type AgentEvent,
  type AgentState,
  applyCommit,
  applyCoordinatorCommit,
  type CoordinatorEvent,
  type CoordinatorState,
  coordinatorToSnapshot,
  diffSnapshots,
  ensureError,
  fromSnapshot,
  initialCoordinatorState,
  initialState,
  parseAgentCommit,
  parseCoordinatorCommit,
  STATE_VERSION,
  toSnapshot,
} from '@spool/core/internal';
import {
  historyStore,
  keyedHistoryStore,
  type SnapshotStore,
  type SpoolConnection,
  snapshotStore,
} from '@spool/jetstream';

/** How an actor's history folds into the state its snapshots hold. */
export interface SnapshotFold<State, Event extends { readonly id: string }> {
  parse(json: unknown): { events: Event[] };
  initial(): State;
  apply(state: State, commit: { readonly seq: number; readonly events: readonly Event[] }): void;
  encode(state: State): unknown;
  /**
   * A stored snapshot as the actor reads it (one of an older state version it still decodes,
   * in today's shape): compared instead of the stored JSON. Undefined: compared as stored.
   */
  asRead?(data: unknown): unknown;
}

export const agentFold = (agent: string): SnapshotFold<AgentState, AgentEvent> => ({
  parse: parseAgentCommit,
  initial: () => initialState(agent),
  apply: applyCommit,
  encode: toSnapshot,
  asRead: (data) => {
    if ((data as { stateVersion?: unknown } | null)?.stateVersion === STATE_VERSION) return data;
    const read = fromSnapshot(data, agent);
    return 'state' in read ? toSnapshot(read.state) : data;
  },
});

export const coordinatorFold: SnapshotFold<CoordinatorState, CoordinatorEvent> = {
  parse: parseCoordinatorCommit,
  initial: initialCoordinatorState,
  apply: applyCoordinatorCommit,
  encode: coordinatorToSnapshot,
};

/**
 * Rebuilds the state from the first event up to the latest snapshot's sequence and compares
 * it with the snapshot: a difference means `evolve` changed without a STATE_VERSION bump, or
 * the snapshot was damaged in a way its checksum could not see.
 */
export async function verifySnapshot<State, Event extends { readonly id: string }>(
  connection: SpoolConnection,
  agent: string,
  json: boolean,
  fold: SnapshotFold<State, Event>,
  /**
   * `agent` is this keyed instance (`<agent>.<key>`, its snapshot's name): its history is in
   * SPOOL_KEYED; it is shown as `<agent>/<key>`, and the JSON has both.
   */
  instance?: { readonly agent: string; readonly key: string },
): Promise<number> {
  const shown = instance === undefined ? agent : `${instance.agent}/${instance.key}`;
  const who = instance === undefined ? { agent } : { agent: instance.agent, key: instance.key };
  const say = (verdict: object, line: string) =>
    console.log(json ? JSON.stringify({ ...verdict, ...who }) : line);
  let stored: Awaited<ReturnType<SnapshotStore['load']>>;
  try {
    stored = await (await snapshotStore(connection)).load(agent);
  } catch (err) {
    const problem = ensureError(err).message;
    say({ ok: false, problem }, `${problem}; the agent ignores it and replays the whole history`);
    return 1;
  }
  if (stored === undefined) {
    say({ ok: true, snapshot: null }, `no snapshot of ${shown}; nothing to verify`);
    return 0;
  }
  const rebuilt = fold.initial();
  let events = 0;
  const store = (instance === undefined ? historyStore : keyedHistoryStore)(connection, fold.parse);
  for await (const commit of store.replay(agent, { untilSeq: stored.seq })) {
    fold.apply(rebuilt, commit);
    events += commit.events.length;
  }
  const differences = diffSnapshots(fold.asRead?.(stored.data) ?? stored.data, fold.encode(rebuilt));
  const verdict = {
    ok: differences.length === 0,
    snapshotSeq: stored.seq,
    takenAt: stored.takenAt,
    events,
    differences,
  };
  if (differences.length === 0) {
    say(
      verdict,
      `snapshot of ${shown} at sequence ${stored.seq} (taken ${stored.takenAt}) matches the history (${events} event(s) folded from scratch)`,
    );
    return 0;
  }
  say(
    verdict,
    [
      `snapshot of ${shown} at sequence ${stored.seq} DIFFERS from the history rebuilt from scratch (${events} event(s)):`,
      ...differences.map((d) => `  ${d}`),
      `the agent trusts the snapshot on restart: remove it (nats kv del spool_snapshots ${agent}) to force a full replay, and report this as a bug`,
    ].join('\n'),
  );
  return 1;
}

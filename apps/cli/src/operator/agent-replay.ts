import {
  type AgentState,
  evolve,
  finishedCount,
  type HistoryEvent,
  initialState,
  parseAgentCommit,
} from '@spool/core/internal';
import { historyStore, keyedHistoryStore, type SpoolConnection } from '@spool/jetstream';

/** One event of an agent's history, with the state it led to (the same object each time: read it at once). */
export interface ReplayStep {
  readonly seq: number;
  readonly time: string;
  readonly event: HistoryEvent;
  readonly state: AgentState;
  /** The last event of its commit: `state` is then the state after the whole commit (seq). */
  readonly lastOfCommit: boolean;
}

/**
 * An agent's history folded event by event with core's evolve, from the start (or onto
 * `state` from `fromSeq`), up to `untilSeq` or the last sequence when it starts: what
 * `spool replay` prints and the console's task pages show.
 */
export async function* replayAgent(
  connection: SpoolConnection,
  agent: string,
  options: {
    untilSeq?: number | undefined;
    fromSeq?: number;
    state?: AgentState;
    /** `agent` is a keyed agent's instance (`<agent>.<key>`): its history is in SPOOL_KEYED. */
    keyed?: boolean;
  } = {},
): AsyncGenerator<ReplayStep> {
  const state = options.state ?? initialState(agent);
  const store = (options.keyed ? keyedHistoryStore : historyStore)(connection, parseAgentCommit);
  const range = {
    ...(options.untilSeq === undefined ? {} : { untilSeq: options.untilSeq }),
    ...(options.fromSeq === undefined ? {} : { fromSeq: options.fromSeq }),
  };
  for await (const commit of store.replay(agent, range)) {
    for (const [i, event] of commit.events.entries()) {
      evolve(state, event);
      const lastOfCommit = i === commit.events.length - 1;
      if (lastOfCommit) state.seq = commit.seq;
      yield { seq: commit.seq, time: commit.time, event, state, lastOfCommit };
    }
    state.seq = commit.seq;
  }
}

/** The state as JSON: active tasks in full, the rest as counts. */
export function summarizeAgentState(state: AgentState) {
  return {
    seq: state.seq,
    active: Object.fromEntries(
      [...state.active.values()].map((t) => [
        t.taskId,
        { phase: t.phase, attempt: t.attempt, steps: t.steps.length, specHash: t.specHash, usage: t.usage },
      ]),
    ),
    /** Tasks that ended (each attempt of a retried one); the state keeps only the newest ids. */
    done: finishedCount(state),
    memory: state.memory.length,
    exchanges: state.exchanges,
    counts: state.counts,
    usage: state.usage,
    paused: state.paused,
  };
}

import { type AgentState, evolve, initialState, parseAgentCommit, taskIdOf } from '@spool/core/internal';
import { historyStore, keyedHistoryStore, type SpoolConnection } from '@spool/jetstream';
import { eventDetail } from '../operator/event-detail.ts';
import { splitHistoryName, type TaskIndex } from './task-index.ts';
import { isRunning, type TaskView, taskViewOf } from './task-view.ts';

/** One event of a task: what it did. */
export interface TaskEvent {
  readonly type: string;
  readonly detail: string;
  readonly data: unknown;
}

/**
 * One commit of the agent's history that holds events of the task (or of the agent itself,
 * while the task runs): its events together, as they were journaled together, and the task
 * (and its agent) after all of them, as `spool replay <agent> --until <seq>` folds it.
 */
export interface TaskCommit {
  readonly seq: number;
  readonly time: string;
  readonly events: readonly TaskEvent[];
  readonly task: TaskView | undefined;
  readonly agentPaused: boolean;
}

export interface TaskHistory {
  readonly agent: string;
  /** A keyed agent's instance: its key (its history is `spool.keyed.<agent>.<key>`). */
  readonly key?: string;
  readonly taskId: string;
  /** The agent's last history sequence when it was read. */
  readonly historySeq: number;
  readonly commits: readonly TaskCommit[];
}

/** A task's commits folded so far, kept between a page's refreshes. */
interface Folded {
  /** The task's own events folded (a task's state depends on its own events only). */
  readonly state: AgentState;
  readonly commits: TaskCommit[];
  view: TaskView | undefined;
  pending: Promise<void>;
}

/** Task pages kept folded: the ones being watched; the least recently read is dropped. */
const KEPT = 32;

/**
 * The task pages' histories: a task's commits in history order, each with the state it led
 * to (the time travel over the sequence numbers). The task index says which commits hold the
 * task (it folds each agent's history once, then only what is appended); they are read by
 * sequence and folded once, so a refresh reads only the commits appended since the last one.
 */
export function taskHistories(connection: SpoolConnection, index: TaskIndex) {
  const plain = historyStore(connection, parseAgentCommit);
  const keyed = keyedHistoryStore(connection, parseAgentCommit);
  const kept = new Map<string, Folded>();

  function foldedOf(agent: string, taskId: string): Folded {
    const key = `${agent}\u0000${taskId}`;
    const found = kept.get(key);
    if (found !== undefined) {
      kept.delete(key); // re-inserted: the map's order is the order of last use
      kept.set(key, found);
      return found;
    }
    const folded: Folded = {
      state: initialState(agent),
      commits: [],
      view: undefined,
      pending: Promise.resolve(),
    };
    kept.set(key, folded);
    for (const old of kept.keys()) {
      if (kept.size <= KEPT) break;
      kept.delete(old);
    }
    return folded;
  }

  /**
   * Undefined when the agent's history holds no event of the task. `agent` may be a keyed
   * instance's history name `<agent>.<key>` (task-index.ts).
   */
  async function read(agent: string, taskId: string): Promise<TaskHistory | undefined> {
    const store = splitHistoryName(agent).key === undefined ? plain : keyed;
    const timeline = await index.timeline(agent, taskId);
    if (timeline === undefined) return undefined;
    const folded = foldedOf(agent, taskId);
    folded.pending = folded.pending.then(async () => {
      for (const entry of timeline.entries.slice(folded.commits.length)) {
        const commit = await store.commitAt(agent, entry.seq);
        if (commit === undefined) throw new Error(`history of ${agent}: no commit at sequence ${entry.seq}`);
        const { state } = folded;
        const running = folded.view !== undefined && isRunning(folded.view.phase);
        const events: TaskEvent[] = [];
        for (const event of commit.events) {
          const own = taskIdOf(event);
          if (own !== taskId && !(own === undefined && running)) continue;
          evolve(state, event);
          events.push({ type: event.type, detail: eventDetail(event, state), data: event.data });
        }
        state.seq = commit.seq;
        folded.view = taskViewOf(state, taskId, folded.view);
        folded.commits.push({
          seq: commit.seq,
          time: commit.time,
          events,
          task: folded.view,
          agentPaused: entry.agentPaused,
        });
      }
    });
    await folded.pending.catch((err: unknown) => {
      kept.delete(`${agent}\u0000${taskId}`); // half folded: start again next time
      throw err;
    });
    return {
      ...splitHistoryName(agent),
      taskId,
      historySeq: timeline.historySeq,
      commits: [...folded.commits],
    };
  }

  return { read };
}

export type TaskHistories = ReturnType<typeof taskHistories>;

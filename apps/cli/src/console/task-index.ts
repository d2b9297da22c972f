import {
  type AgentState,
  COORDINATOR,
  initialState,
  parseAgentCommit,
  type TaskPhase,
  taskIdOf,
} from '@spool/core/internal';
import { historyStore, type SpoolConnection } from '@spool/jetstream';
import { replayAgent } from '../operator/agent-replay.ts';
import { isRunning } from './task-view.ts';

/** One task in the console's task list. */
export interface TaskRow {
  readonly agent: string;
  /** A keyed agent's instance's task: its key (`agent` is the keyed agent). */
  readonly key?: string | undefined;
  readonly taskId: string;
  status: TaskPhase;
  attempt: number;
  input: string;
  receivedAt: string;
  updatedAt: string;
  lastSeq: number;
  error?: { code: string; message: string } | undefined;
}

/**
 * One commit of a task's timeline: a commit that holds events of the task (or of the agent
 * itself while the task runs), and whether the agent was paused after it.
 */
export interface TimelineEntry {
  readonly seq: number;
  readonly agentPaused: boolean;
}

interface Indexed {
  readonly state: AgentState;
  readonly rows: Map<string, TaskRow>;
  /** Each task's commits, by sequence: what its page reads (a few direct gets, not a replay). */
  readonly timelines: Map<string, TimelineEntry[]>;
  /** Serializes catch-ups, so two requests never fold the same commits twice. */
  pending: Promise<void>;
}

/**
 * A history's name: an agent (`spool.history.<agent>`) or a keyed agent's instance
 * `<agent>.<key>` (`spool.keyed.<agent>.<key>`; names hold no dot, so the dot tells them apart).
 */
export function historyName(agent: string, key: string | undefined): string {
  return key === undefined ? agent : `${agent}.${key}`;
}

/** The agent and key of a history's name. */
export function splitHistoryName(name: string): { agent: string; key?: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { agent: name } : { agent: name.slice(0, dot), key: name.slice(dot + 1) };
}

/**
 * The tasks of every agent, folded from the histories with core's evolve (as `spool replay`
 * folds them) and kept: each request reads only the commits appended since the last one.
 * A keyed agent's instances are indexed one at a time, when one is asked for by its key (there
 * may be thousands: the list of all tasks holds agents' only).
 */
export function taskIndex(connection: SpoolConnection) {
  const agents = new Map<string, Indexed>();

  async function catchUp(agent: string): Promise<Indexed> {
    let indexed = agents.get(agent);
    if (indexed === undefined) {
      indexed = {
        state: initialState(agent),
        rows: new Map(),
        timelines: new Map(),
        pending: Promise.resolve(),
      };
      agents.set(agent, indexed);
    }
    const current = indexed;
    // After a failed catch-up (NATS down) the next one goes on from the last whole commit.
    current.pending = current.pending
      .catch(() => undefined)
      .then(async () => {
        const { state, rows, timelines } = current;
        // The tasks a commit concerns; their timelines get it once it is folded whole.
        const touched = new Set<string>();
        const keyed = splitHistoryName(agent).key !== undefined;
        for await (const step of replayAgent(connection, agent, { fromSeq: state.seq + 1, state, keyed })) {
          const taskId = taskIdOf(step.event);
          if (taskId === undefined) {
            // The agent's own events (paused, resumed…) belong to every task running meanwhile.
            for (const task of state.active.values()) if (isRunning(task.phase)) touched.add(task.taskId);
          } else {
            touched.add(taskId);
            updateRow(rows, agent, taskId, step);
          }
          if (!step.lastOfCommit) continue;
          for (const id of touched) {
            const timeline = timelines.get(id) ?? [];
            if (timeline.length === 0) timelines.set(id, timeline);
            timeline.push({ seq: step.seq, agentPaused: state.paused });
          }
          touched.clear();
        }
      });
    await current.pending;
    return current;
  }

  return {
    /** Tasks, newest activity first, of one agent or all (pool replicas by their own names). */
    async list(filter: {
      agent?: string | undefined;
      key?: string | undefined;
      status?: TaskPhase | undefined;
      limit: number;
    }) {
      const names =
        filter.agent === undefined
          ? (await historyStore(connection, parseAgentCommit).agents()).filter((a) => a !== COORDINATOR)
          : [historyName(filter.agent, filter.key)];
      const all: TaskRow[] = [];
      for (const name of names) all.push(...(await catchUp(name)).rows.values());
      const matching = all.filter((row) => filter.status === undefined || row.status === filter.status);
      matching.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.lastSeq - a.lastSeq);
      return { tasks: matching.slice(0, filter.limit), total: matching.length, agents: names };
    },

    /**
     * A task's commits up to the agent's last one (read now: only the commits appended since
     * the last call are folded), and that last sequence. Undefined when the task has none.
     */
    async timeline(
      agent: string,
      taskId: string,
    ): Promise<{ entries: readonly TimelineEntry[]; historySeq: number } | undefined> {
      const { timelines, state } = await catchUp(agent);
      const entries = timelines.get(taskId);
      return entries === undefined ? undefined : { entries, historySeq: state.seq };
    },
  };
}

function updateRow(
  rows: Map<string, TaskRow>,
  agent: string,
  taskId: string,
  step: { seq: number; time: string; state: AgentState },
): void {
  const { state } = step;
  const row = rows.get(taskId);
  const task = state.active.get(taskId) ?? state.dead.get(taskId)?.task;
  const status = task?.phase ?? state.recentlyDone.get(taskId) ?? row?.status ?? 'queued';
  if (row === undefined) {
    rows.set(taskId, {
      ...splitHistoryName(agent),
      taskId,
      status,
      attempt: task?.attempt ?? 0,
      input: (task?.input ?? '').slice(0, 200),
      receivedAt: step.time,
      updatedAt: step.time,
      lastSeq: step.seq,
      error: task?.error,
    });
    return;
  }
  row.status = status;
  row.attempt = task?.attempt ?? row.attempt;
  row.updatedAt = step.time;
  row.lastSeq = step.seq;
  if (task !== undefined) row.error = task.error;
}

export type TaskIndex = ReturnType<typeof taskIndex>;

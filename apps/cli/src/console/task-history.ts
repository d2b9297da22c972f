import { taskIdOf } from '@spool/core/internal';
import type { SpoolConnection } from '@spool/jetstream';
import { replayAgent } from '../operator/agent-replay.ts';
import { eventDetail } from '../operator/event-detail.ts';
import { type TaskView, taskViewOf } from './task-view.ts';

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
  readonly taskId: string;
  /** The agent's last history sequence when it was read. */
  readonly historySeq: number;
  readonly commits: readonly TaskCommit[];
}

/**
 * A task's commits in history order, each with the state it led to: the task page's time
 * travel over the sequence numbers. Undefined when the agent's history holds no event of the task.
 */
export async function taskHistory(
  connection: SpoolConnection,
  agent: string,
  taskId: string,
): Promise<TaskHistory | undefined> {
  const commits: TaskCommit[] = [];
  let view: TaskView | undefined;
  let historySeq = 0;
  let group: TaskEvent[] = [];
  for await (const { seq, time, event, state, lastOfCommit } of replayAgent(connection, agent)) {
    historySeq = seq;
    // The agent's own events (paused, resumed) matter to every task running meanwhile.
    const own = taskIdOf(event);
    if (own === taskId || (own === undefined && view !== undefined && isRunning(view)))
      group.push({ type: event.type, detail: eventDetail(event, state), data: event.data });
    if (!lastOfCommit || group.length === 0) continue;
    view = taskViewOf(state, taskId, view);
    commits.push({ seq, time, events: group, task: view, agentPaused: state.paused });
    group = [];
  }
  return commits.length === 0 ? undefined : { agent, taskId, historySeq, commits };
}

function isRunning(view: TaskView): boolean {
  return view.phase === 'queued' || view.phase === 'running' || view.phase === 'waiting';
}

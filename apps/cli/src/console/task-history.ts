import { taskIdOf } from '@spool/core/internal';
import type { SpoolConnection } from '@spool/jetstream';
import { replayAgent } from '../operator/agent-replay.ts';
import { eventDetail } from '../operator/event-detail.ts';
import { type TaskView, taskViewOf } from './task-view.ts';

/** One event of a task, with what it did and the task (and its agent) right after it. */
export interface TaskEvent {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly detail: string;
  readonly data: unknown;
  readonly task: TaskView | undefined;
  readonly agentPaused: boolean;
}

/**
 * A task's events in history order, each with the state it led to: the task page's time
 * travel, as `spool replay <agent> --until SEQ` shows it. Undefined when the agent's history
 * holds no event of the task.
 */
export async function taskHistory(
  connection: SpoolConnection,
  agent: string,
  taskId: string,
): Promise<{ agent: string; taskId: string; historySeq: number; events: TaskEvent[] } | undefined> {
  const events: TaskEvent[] = [];
  let view: TaskView | undefined;
  let historySeq = 0;
  for await (const { seq, time, event, state } of replayAgent(connection, agent)) {
    historySeq = seq;
    // The agent's own events (paused, resumed) matter to every task running meanwhile.
    const own = taskIdOf(event);
    if (own !== taskId && !(own === undefined && view !== undefined && isRunning(view))) continue;
    view = taskViewOf(state, taskId, view);
    events.push({
      seq,
      time,
      type: event.type,
      detail: eventDetail(event, state),
      data: event.data,
      task: view,
      agentPaused: state.paused,
    });
  }
  return events.length === 0 ? undefined : { agent, taskId, historySeq, events };
}

function isRunning(view: TaskView): boolean {
  return view.phase === 'queued' || view.phase === 'running' || view.phase === 'waiting';
}

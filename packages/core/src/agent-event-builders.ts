import { type AgentEvent, eventIds } from './agent-events.ts';
import type { TaskError } from './result.ts';

/** Agent events that several decisions make, each with its deterministic id. */

export function failTask(
  agent: string,
  taskId: string,
  attempt: number,
  error: TaskError,
  at: string,
): AgentEvent {
  return {
    id: eventIds.failed(agent, taskId, attempt),
    type: 'task.failed',
    v: 1,
    data: { taskId, error, at },
  };
}

export function cancelled(
  agent: string,
  taskId: string,
  attempt: number,
  reason: string,
  at: string,
  controlSeq?: number,
): AgentEvent {
  return {
    id: eventIds.cancelled(agent, taskId, attempt),
    type: 'task.cancelled',
    v: 1,
    data: { taskId, reason, ...(controlSeq === undefined ? {} : { controlSeq }), at },
  };
}

/** A built-in tool's call (delegate, wait) refused before it ran: the model reads `content` as an error. */
export function toolCallRefused(
  agent: string,
  task: { readonly taskId: string; readonly attempt: number },
  step: number,
  toolUseId: string,
  content: string,
  at: string,
): AgentEvent {
  return {
    id: eventIds.toolCompleted(agent, task.taskId, task.attempt, step, toolUseId),
    type: 'tool.completed',
    v: 1,
    data: { taskId: task.taskId, step, toolUseId, content, isError: true, at },
  };
}

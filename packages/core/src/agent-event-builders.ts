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

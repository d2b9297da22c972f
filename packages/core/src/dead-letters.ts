import type { AgentState } from './state.ts';
import type { DeadLetterEntry } from './status.ts';

/** An agent state's dead letters as the view shows them (`key`: a keyed agent's instance). */
export function deadLettersOf(state: AgentState, agent: string, key?: string): DeadLetterEntry[] {
  return [...state.dead.values()].map(({ task }) => ({
    agent,
    ...(key === undefined ? {} : { key }),
    taskId: task.taskId,
    error: task.error ?? { code: 'unknown', message: 'no error recorded' },
    attempts: task.attempt,
    ...(task.finishedAt === undefined ? {} : { failedAt: task.finishedAt }),
    ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
    input: task.input.slice(0, 200),
    usage: task.usage,
  }));
}

import type { TaskResult } from './result.ts';
import { type AgentState, isFinished, type TaskState } from './state.ts';

/**
 * What the runtime must do next, as data (XState-style actions): the runtime executes
 * effects and feeds their outcomes back as commands. Same state, same effects, so after
 * a crash the replayed state names exactly the work that was left.
 */
export type Effect =
  | { type: 'start-task'; taskId: string }
  | { type: 'call-model'; taskId: string; step: number }
  | { type: 'publish-result'; taskId: string; result: TaskResult };

export interface NextOptions {
  /** Tasks that may run at once. */
  readonly concurrency: number;
}

export function next(state: AgentState, options: NextOptions): Effect[] {
  const effects: Effect[] = [];
  const queued: TaskState[] = [];
  let running = 0;
  for (const task of [...state.active.values()]) {
    if (task.phase === 'running') {
      running += 1;
      // Paused: the call in flight finishes (the runtime does not abort it); no new one starts.
      if (!state.paused) effects.push({ type: 'call-model', taskId: task.taskId, step: task.steps.length });
    } else if (task.phase === 'queued') {
      queued.push(task);
    } else if (isFinished(task.phase)) {
      effects.push({ type: 'publish-result', taskId: task.taskId, result: resultOf(state, task) });
    }
  }
  if (state.paused) return effects;
  queued.sort(byArrival);
  for (const task of queued.slice(0, Math.max(0, options.concurrency - running))) {
    effects.push({ type: 'start-task', taskId: task.taskId });
  }
  return effects;
}

function byArrival(a: TaskState, b: TaskState): number {
  return (
    (a.inboxSeq ?? Number.MAX_SAFE_INTEGER) - (b.inboxSeq ?? Number.MAX_SAFE_INTEGER) ||
    (a.receivedAt ?? '').localeCompare(b.receivedAt ?? '')
  );
}

/** The published outcome of a finished task. */
export function resultOf(state: AgentState, task: TaskState): TaskResult {
  const status = task.phase === 'queued' || task.phase === 'running' ? 'failed' : task.phase;
  return {
    taskId: task.taskId,
    agent: state.agent,
    status,
    ...(task.output === undefined ? {} : { output: task.output }),
    ...(task.error === undefined ? {} : { error: task.error }),
    usage: task.usage,
    steps: task.steps.length,
    attempts: task.attempt,
    ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
    finishedAt: task.finishedAt ?? task.receivedAt ?? '',
    ...(task.meta === undefined ? {} : { meta: task.meta }),
  };
}

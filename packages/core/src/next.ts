import { ErrorCode } from './errors.ts';
import type { TaskError, TaskResult } from './result.ts';
import { type AgentState, isFinished, type TaskState } from './state.ts';

/**
 * What the runtime must do next, as data (XState-style actions): the runtime executes
 * effects and feeds their outcomes back as commands. Same state, same effects, so after
 * a crash the replayed state names exactly the work that was left.
 */
export type Effect =
  | { type: 'start-task'; taskId: string }
  /** `notBefore`: a retry waiting out its backoff (journaled with the failure). */
  | { type: 'call-model'; taskId: string; step: number; notBefore?: string }
  /** `previousResultSeq`: a retried task's new result must follow the one it replaces. */
  | { type: 'publish-result'; taskId: string; result: TaskResult; previousResultSeq?: number }
  | { type: 'fail-task'; taskId: string; error: TaskError }
  /** A tool call journaled as requested and not yet completed; `key` is its idempotency key. */
  | {
      type: 'run-tool';
      taskId: string;
      step: number;
      toolUseId: string;
      name: string;
      input: unknown;
      key: string;
    };

export interface NextOptions {
  /** Tasks that may run at once. */
  readonly concurrency: number;
  /** A running attempt that started longer ago than this fails with `deadline_exceeded`. */
  readonly taskDeadlineMs?: number | undefined;
  /** The time to judge deadlines by (the runtime's clock, passed in to keep `next` pure). */
  readonly now?: Date;
}

export function next(state: AgentState, options: NextOptions): Effect[] {
  const effects: Effect[] = [];
  const queued: TaskState[] = [];
  let running = 0;
  for (const task of [...state.active.values()]) {
    if (task.phase === 'running') {
      running += 1;
      const overdue = deadlinePassed(task, options);
      if (overdue !== undefined) effects.push({ type: 'fail-task', taskId: task.taskId, error: overdue });
      // Paused: what is in flight finishes (the runtime does not abort it); nothing new starts.
      else if (!state.paused) effects.push(...stepEffects(task));
    } else if (task.phase === 'queued') {
      queued.push(task);
    } else if (isFinished(task.phase)) {
      effects.push({
        type: 'publish-result',
        taskId: task.taskId,
        result: resultOf(state, task),
        ...(task.previousResultSeq === undefined ? {} : { previousResultSeq: task.previousResultSeq }),
      });
    }
  }
  if (state.paused) return effects;
  queued.sort(byArrival);
  for (const task of queued.slice(0, Math.max(0, options.concurrency - running))) {
    effects.push({ type: 'start-task', taskId: task.taskId });
  }
  return effects;
}

/** A running task's next move: the tool calls its last reply asked for, or the next model call. */
function stepEffects(task: TaskState): Effect[] {
  const pending = task.steps.at(-1)?.tools.filter((call) => call.result === undefined) ?? [];
  if (pending.length > 0) {
    return pending.map((call) => ({
      type: 'run-tool',
      taskId: task.taskId,
      step: task.steps.length - 1,
      toolUseId: call.toolUseId,
      name: call.name,
      input: call.input,
      key: call.key,
    }));
  }
  return [
    {
      type: 'call-model',
      taskId: task.taskId,
      step: task.steps.length,
      ...(task.retryAt === undefined ? {} : { notBefore: task.retryAt }),
    },
  ];
}

function deadlinePassed(task: TaskState, options: NextOptions): TaskError | undefined {
  if (options.taskDeadlineMs === undefined || options.now === undefined || task.startedAt === undefined)
    return;
  const elapsed = options.now.getTime() - Date.parse(task.startedAt);
  if (elapsed <= options.taskDeadlineMs) return;
  return {
    code: ErrorCode.DeadlineExceeded,
    message: `the task ran ${Math.round(elapsed / 1000)}s, past its deadline of ${Math.round(options.taskDeadlineMs / 1000)}s (taskDeadlineMs)`,
  };
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
  const tools = task.steps.flatMap((step) => step.tools.map((call) => call.name));
  return {
    taskId: task.taskId,
    agent: state.agent,
    status,
    ...(task.output === undefined ? {} : { output: task.output }),
    ...(task.error === undefined ? {} : { error: task.error }),
    usage: task.usage,
    steps: task.steps.length,
    ...(tools.length === 0 ? {} : { tools }),
    attempts: task.attempt,
    ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
    finishedAt: task.finishedAt ?? task.receivedAt ?? '',
    ...(task.meta === undefined ? {} : { meta: task.meta }),
  };
}

import { type AgentState, type TaskPhase, type TaskState, textOf } from '@spool/core/internal';

/** Longest reply text and tool result a task view carries per step (the history has them whole). */
const TEXT_MAX = 4_000;

/** A task as the console shows it at one point of its agent's history. */
export interface TaskView {
  readonly taskId: string;
  readonly phase: TaskPhase;
  readonly attempt: number;
  readonly input: string;
  readonly receivedAt?: string | undefined;
  readonly startedAt?: string | undefined;
  readonly finishedAt?: string | undefined;
  readonly steps: readonly StepView[];
  readonly usage: TaskState['usage'];
  readonly output?: string | undefined;
  readonly error?: { code: string; message: string } | undefined;
  readonly interruptions: number;
  readonly retryAt?: string | undefined;
}

interface StepView {
  readonly step: number;
  readonly model: string;
  readonly stopReason: string | null;
  readonly text: string;
  readonly tools: readonly {
    name: string;
    input: unknown;
    result?: { content: string; isError: boolean };
    approval?: string;
    delegatedTo?: string;
  }[];
}

/** Not finished yet: the agent's own events (paused, resumed…) belong to such a task too. */
export const isRunning = (phase: TaskPhase) =>
  phase === 'queued' || phase === 'running' || phase === 'waiting';

const clip = (text: string) => (text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX - 1)}…` : text);

/**
 * The task `taskId` in `state`: running or waiting (active), failed and in the dead-letter
 * view, or finished (then only its phase is in the state: the rest is taken from `before`,
 * the view at its previous event).
 */
export function taskViewOf(state: AgentState, taskId: string, before?: TaskView): TaskView | undefined {
  const task = state.active.get(taskId) ?? state.dead.get(taskId)?.task;
  if (task !== undefined) return viewOf(task);
  // Just published: the newest done ids are in the state (older ones never get here again).
  const finished = state.recentlyDone.get(taskId);
  if (finished === undefined || before === undefined) return before;
  return { ...before, phase: finished };
}

function viewOf(task: TaskState): TaskView {
  return {
    taskId: task.taskId,
    phase: task.phase,
    attempt: task.attempt,
    input: clip(task.input),
    receivedAt: task.receivedAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
    steps: task.steps.map((s) => ({
      step: s.step,
      model: s.model,
      stopReason: s.stopReason,
      text: clip(textOf(s.content)),
      tools: s.tools.map((t) => ({
        name: t.name,
        input: t.input,
        ...(t.result === undefined
          ? {}
          : { result: { content: clip(t.result.content), isError: t.result.isError } }),
        ...(t.approval === undefined ? {} : { approval: t.approval.state }),
        ...(t.delegation === undefined
          ? {}
          : { delegatedTo: `${t.delegation.agent}/${t.delegation.childTaskId}` }),
      })),
    })),
    usage: task.usage,
    output: task.output === undefined ? undefined : clip(task.output),
    error: task.error,
    interruptions: task.interruptions,
    retryAt: task.retryAt,
  };
}

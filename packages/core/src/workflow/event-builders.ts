import type { TaskError } from '../result.ts';
import type { Usage } from '../usage.ts';
import { type CoordinatorEvent, workflowEventIds as ids, workflowTaskId } from './events.ts';
import type { WorkflowTask, WorkflowTaskStatus } from './state.ts';

/** The coordinator's events as its decisions make them, each with its deterministic id. */

export function dispatched(
  workflowId: string,
  step: string,
  index: number,
  attempt: number,
  agent: string,
  input: string,
  at: string,
): CoordinatorEvent {
  const taskId = workflowTaskId(workflowId, step, index, attempt);
  return {
    id: ids.dispatched(taskId),
    type: 'workflow.task_dispatched',
    v: 1,
    data: { workflowId, step, index, attempt, agent, taskId, input, at },
  };
}

export function taskFinished(
  workflowId: string,
  task: WorkflowTask,
  status: Exclude<WorkflowTaskStatus, 'running'>,
  output: string | undefined,
  error: TaskError | undefined,
  at: string,
  how: { timedOut?: boolean; rejected?: boolean; usage?: Usage; costUsd?: number | undefined } = {},
): CoordinatorEvent {
  return {
    id: ids.taskFinished(task.taskId),
    type: 'workflow.task_finished',
    v: 1,
    data: {
      workflowId,
      taskId: task.taskId,
      status,
      ...(output === undefined ? {} : { output }),
      ...(error === undefined ? {} : { error }),
      ...(how.timedOut === true ? { timedOut: true } : {}),
      ...(how.rejected === true ? { rejected: true } : {}),
      ...(how.usage === undefined ? {} : { usage: how.usage }),
      ...(how.costUsd === undefined ? {} : { costUsd: how.costUsd }),
      at,
    },
  };
}

export function stepFinished(
  workflowId: string,
  step: string,
  status: 'completed' | 'failed',
  output: string | undefined,
  error: TaskError | undefined,
  at: string,
): CoordinatorEvent {
  return {
    id: ids.stepFinished(workflowId, step),
    type: 'workflow.step_finished',
    v: 1,
    data: {
      workflowId,
      step,
      status,
      ...(output === undefined ? {} : { output }),
      ...(error === undefined ? {} : { error }),
      at,
    },
  };
}

export function finished(
  workflowId: string,
  status: 'completed' | 'failed' | 'cancelled',
  output: string | undefined,
  error: TaskError | undefined,
  at: string,
): CoordinatorEvent {
  return {
    id: ids.finished(workflowId),
    type: 'workflow.finished',
    v: 1,
    data: {
      workflowId,
      status,
      ...(output === undefined ? {} : { output }),
      ...(error === undefined ? {} : { error }),
      at,
    },
  };
}

export function rejected(
  workflowId: string,
  workflow: string | undefined,
  error: TaskError,
  inboxSeq: number | undefined,
  at: string,
): CoordinatorEvent {
  return {
    id: ids.rejected(workflowId),
    type: 'workflow.rejected',
    v: 1,
    data: {
      workflowId,
      ...(workflow === undefined ? {} : { workflow }),
      error,
      ...(inboxSeq === undefined ? {} : { inboxSeq }),
      at,
    },
  };
}

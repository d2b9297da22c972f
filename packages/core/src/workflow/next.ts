import type { TaskError, TaskResult } from '../result.ts';
import { nextSchedules, type ScheduleEffect } from '../schedule/next.ts';
import { COORDINATOR } from '../subjects.ts';
import type { Usage } from '../usage.ts';
import { dependencies } from './graph.ts';
import {
  type CoordinatorState,
  isStepFinished,
  type StepRun,
  type StepStatus,
  type WorkflowRun,
  type WorkflowStatus,
  type WorkflowTask,
  type WorkflowTaskStatus,
} from './state.ts';

/**
 * What the coordinator process must do next, as data: it executes the effects and feeds their
 * outcomes back as commands (MarkSent, MarkCancelSent, TimeOut, MarkPublished). Same state,
 * same effects, so after a crash the replayed state names exactly the work that was left.
 */
export type CoordinatorEffect =
  | ScheduleEffect
  /** Publish the task on `spool.inbox.<agent>` with msg id = taskId, then MarkSent. */
  | {
      type: 'send-task';
      workflowId: string;
      taskId: string;
      agent: string;
      input: string;
      meta: { workflow: { id: string; name: string; step: string; index: number; attempt: number } };
    }
  /** Send `{type: "cancel", taskId, reason}` on `spool.control.<agent>`, then MarkCancelSent. */
  | { type: 'cancel-task'; workflowId: string; taskId: string; agent: string; reason: string }
  /** The task's step timeout has passed: decide TimeOut. */
  | { type: 'time-out'; workflowId: string; taskId: string }
  /** Publish on `spool.results.coordinator.<workflowId>`, then MarkPublished. */
  | { type: 'publish-result'; workflowId: string; result: TaskResult };

export function nextCoordinator(
  state: CoordinatorState,
  now: Date,
): { effects: CoordinatorEffect[]; wakeAt?: number } {
  const effects: CoordinatorEffect[] = [];
  const nowMs = now.getTime();
  let wakeAt: number | undefined;
  for (const run of state.workflows.values()) {
    for (const step of run.steps.values()) {
      const timeoutMs = run.definition.steps[step.name]?.timeoutMs;
      for (const task of [...step.retired, ...step.tasks]) {
        if (run.status === 'running' && task.status === 'running' && !isStepFinished(step)) {
          if (!task.sent) effects.push(sendTask(run, task));
          if (timeoutMs !== undefined) {
            const deadline = Date.parse(task.dispatchedAt) + timeoutMs;
            if (deadline <= nowMs)
              effects.push({ type: 'time-out', workflowId: run.id, taskId: task.taskId });
            else wakeAt = Math.min(wakeAt ?? deadline, deadline);
          }
        } else if (needsCancel(run, step, task)) {
          effects.push(cancelTask(run, task, cancelReason(run, step, task)));
        }
      }
    }
    if (run.status !== 'running' && !run.published)
      effects.push({ type: 'publish-result', workflowId: run.id, result: workflowResult(run) });
  }
  const schedules = nextSchedules(state, now);
  effects.push(...schedules.effects);
  if (schedules.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? schedules.wakeAt, schedules.wakeAt);
  return wakeAt === undefined ? { effects } : { effects, wakeAt };
}

/**
 * A task the agent may still be working on that nobody needs any more: it timed out, its
 * workflow ended, or its step already failed (another item of a map step failed for good).
 * Only sent tasks: an agent never asked to do one has nothing to stop.
 */
function needsCancel(run: WorkflowRun, step: StepRun, task: WorkflowTask): boolean {
  if (!task.sent || task.cancelSent) return false;
  if (task.timedOut === true) return true;
  return task.status === 'running' && (run.status !== 'running' || isStepFinished(step));
}

function cancelReason(run: WorkflowRun, step: StepRun, task: WorkflowTask): string {
  if (task.timedOut === true) return task.error?.message ?? 'timed out';
  if (run.status === 'running') return `step "${step.name}" of workflow ${run.id} already ${step.status}`;
  if (run.status === 'cancelled') return `workflow ${run.id} cancelled: ${run.error?.message ?? ''}`.trim();
  return `workflow ${run.id} ${run.status}${run.error === undefined ? '' : `: ${run.error.message}`}`;
}

function sendTask(run: WorkflowRun, task: WorkflowTask): CoordinatorEffect {
  return {
    type: 'send-task',
    workflowId: run.id,
    taskId: task.taskId,
    agent: task.agent,
    input: task.input,
    meta: {
      workflow: { id: run.id, name: run.workflow, step: task.step, index: task.index, attempt: task.attempt },
    },
  };
}

function cancelTask(run: WorkflowRun, task: WorkflowTask, reason: string): CoordinatorEffect {
  return { type: 'cancel-task', workflowId: run.id, taskId: task.taskId, agent: task.agent, reason };
}

/** The TaskResult of a finished workflow, on `spool.results.coordinator.<workflowId>`. */
export function workflowResult(run: WorkflowRun): TaskResult {
  const status = run.status === 'running' ? 'failed' : run.status;
  return {
    taskId: run.id,
    agent: COORDINATOR,
    status,
    ...(run.output === undefined ? {} : { output: run.output }),
    ...(run.error === undefined ? {} : { error: run.error }),
    usage: run.usage,
    ...(run.costUsd === undefined ? {} : { costUsd: run.costUsd }),
    steps: run.steps.size,
    attempts: 1,
    receivedAt: run.startedAt,
    finishedAt: run.finishedAt ?? run.startedAt,
    meta: {
      workflow: run.workflow,
      steps: Object.fromEntries([...run.steps.values()].map((step) => [step.name, step.status])),
    },
  };
}

export interface WorkflowTaskView {
  taskId: string;
  index: number;
  attempt: number;
  agent: string;
  status: WorkflowTaskStatus;
  sent: boolean;
  dispatchedAt: string;
  finishedAt?: string;
  timedOut?: boolean;
  output?: string;
  error?: TaskError;
}

export interface WorkflowStepView {
  name: string;
  agent: string;
  status: StepStatus;
  optional: boolean;
  dependsOn: string[];
  map?: string;
  items?: number;
  startedAt?: string;
  finishedAt?: string;
  output?: string;
  error?: TaskError;
  /** Every attempt, oldest first. */
  tasks: WorkflowTaskView[];
}

export interface WorkflowView {
  id: string;
  workflow: string;
  status: WorkflowStatus;
  input: string;
  startedAt: string;
  finishedAt?: string;
  output?: string;
  error?: TaskError;
  published: boolean;
  /** What the run's tasks used (every attempt), and cost when their prices are known. */
  usage: Usage;
  costUsd?: number;
  steps: WorkflowStepView[];
}

/** A JSON-able summary of a run for `spool workflow` and the status API. */
export function workflowView(run: WorkflowRun): WorkflowView {
  const steps: WorkflowStepView[] = [...run.steps.values()].map((step) => {
    const spec = run.definition.steps[step.name];
    const tasks = [...step.retired, ...step.tasks]
      .sort((a, b) => a.index - b.index || a.attempt - b.attempt)
      .map(taskView);
    return {
      name: step.name,
      agent: spec?.agent ?? '',
      status: step.status,
      optional: spec?.optional ?? false,
      dependsOn: dependencies(run.definition, step.name),
      ...(spec?.map === undefined ? {} : { map: spec.map }),
      ...(step.items === undefined ? {} : { items: step.items.length }),
      ...(step.startedAt === undefined ? {} : { startedAt: step.startedAt }),
      ...(step.finishedAt === undefined ? {} : { finishedAt: step.finishedAt }),
      ...(step.output === undefined ? {} : { output: step.output }),
      ...(step.error === undefined ? {} : { error: step.error }),
      tasks,
    };
  });
  return {
    id: run.id,
    workflow: run.workflow,
    status: run.status,
    input: run.input,
    startedAt: run.startedAt,
    ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
    ...(run.output === undefined ? {} : { output: run.output }),
    ...(run.error === undefined ? {} : { error: run.error }),
    published: run.published,
    usage: run.usage,
    ...(run.costUsd === undefined ? {} : { costUsd: run.costUsd }),
    steps,
  };
}

function taskView(task: WorkflowTask): WorkflowTaskView {
  return {
    taskId: task.taskId,
    index: task.index,
    attempt: task.attempt,
    agent: task.agent,
    status: task.status,
    sent: task.sent,
    dispatchedAt: task.dispatchedAt,
    ...(task.finishedAt === undefined ? {} : { finishedAt: task.finishedAt }),
    ...(task.timedOut === true ? { timedOut: true } : {}),
    ...(task.output === undefined ? {} : { output: task.output }),
    ...(task.error === undefined ? {} : { error: task.error }),
  };
}

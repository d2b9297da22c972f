import type { TraceContext } from '../trace-context.ts';
import type { TaskError } from '../result.ts';
import { evolveSchedules, finishFire, type SchedulesState } from '../schedule/evolve.ts';
import { addUsage, type Usage, zeroUsage } from '../usage.ts';
import type { WorkflowDef } from './definition.ts';
import type { CoordinatorEvent } from './events.ts';

export type WorkflowStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'rejected';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed';
export type WorkflowTaskStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** One attempt of one item of a step: a task on `spool.inbox.<agent>`. */
export interface WorkflowTask {
  readonly taskId: string;
  readonly step: string;
  readonly index: number;
  readonly attempt: number;
  readonly agent: string;
  readonly input: string;
  readonly dispatchedAt: string;
  /** Published to the agent's inbox (journaled after the publish was acknowledged). */
  sent: boolean;
  inboxSeq?: number | undefined;
  /** A cancel was sent to the agent (the workflow ended, its step failed, or it timed out). */
  cancelSent: boolean;
  status: WorkflowTaskStatus;
  /** Ended by the step's timeout rather than a result. */
  timedOut?: boolean | undefined;
  /** The agent rejected it: failed for good, whatever retries are left. */
  rejected?: boolean | undefined;
  output?: string | undefined;
  error?: TaskError | undefined;
  finishedAt?: string | undefined;
}

export interface StepRun {
  readonly name: string;
  status: StepStatus;
  /** The items of a map step. */
  items?: unknown[] | undefined;
  /** The current attempt of each item, by index (one for a step that does not map). */
  tasks: WorkflowTask[];
  /** Earlier attempts, replaced by a retry (kept for cancels of timed-out attempts and the view). */
  retired: WorkflowTask[];
  startedAt?: string | undefined;
  output?: string | undefined;
  error?: TaskError | undefined;
  finishedAt?: string | undefined;
}

export interface WorkflowRun {
  readonly id: string;
  readonly workflow: string;
  /** As it was at the start; a rejected run has no steps. */
  readonly definition: WorkflowDef;
  readonly input: string;
  readonly inboxSeq?: number | undefined;
  /** The start message's trace context (W3C), for the run's spans. */
  readonly trace?: TraceContext | undefined;
  status: WorkflowStatus;
  /** In definition order. */
  steps: Map<string, StepRun>;
  output?: string | undefined;
  error?: TaskError | undefined;
  startedAt: string;
  finishedAt?: string | undefined;
  /** Its TaskResult is on `spool.results.coordinator.<id>`. */
  published: boolean;
  /** What its tasks' model calls used (every attempt), and cost when their prices are known. */
  usage: Usage;
  costUsd?: number | undefined;
  resultSeq?: number | undefined;
}

export interface TaskRef {
  readonly workflowId: string;
  readonly step: string;
  readonly index: number;
  readonly attempt: number;
}

export interface CoordinatorState extends SchedulesState {
  /** History sequence of the last commit applied; 0 for an empty history. */
  seq: number;
  /** The runs in flight and the newest FINISHED_RUNS_KEPT published ones. */
  workflows: Map<string, WorkflowRun>;
  /** The task ids (all attempts) of those runs, to route results back to their workflow. */
  tasks: Map<string, TaskRef>;
  /** Ids of the published runs kept, oldest first: the next to be let go. */
  published: string[];
}

/**
 * Published runs the state keeps (for `spool workflow`, status, late results). Older ones
 * leave it, so the state, its snapshot and the coordinator's start-up stay flat however many
 * runs have ever finished: their outcome is on `spool.results.coordinator.<id>` (which also
 * says "seen before" to a repeated start) and their story in the history.
 */
export const FINISHED_RUNS_KEPT = 1000;

export function initialCoordinatorState(): CoordinatorState {
  return {
    seq: 0,
    workflows: new Map(),
    tasks: new Map(),
    published: [],
    schedules: new Map(),
    fires: new Map(),
    scheduleControlSeq: 0,
  };
}

/** Lets the oldest published runs beyond FINISHED_RUNS_KEPT go, with their task ids. */
function forgetOldRuns(state: CoordinatorState): void {
  while (state.published.length > FINISHED_RUNS_KEPT) {
    const id = state.published.shift() as string;
    const run = state.workflows.get(id);
    state.workflows.delete(id);
    for (const step of run?.steps.values() ?? [])
      for (const task of [...step.tasks, ...step.retired]) state.tasks.delete(task.taskId);
  }
}

/** A dispatched task by id (current attempt or retired), with its run and step. */
export function findTask(
  state: CoordinatorState,
  taskId: string,
): { run: WorkflowRun; step: StepRun; task: WorkflowTask } | undefined {
  const ref = state.tasks.get(taskId);
  if (ref === undefined) return undefined;
  const run = state.workflows.get(ref.workflowId);
  const step = run?.steps.get(ref.step);
  if (run === undefined || step === undefined) return undefined;
  const current = step.tasks[ref.index];
  const task = current?.taskId === taskId ? current : step.retired.find((t) => t.taskId === taskId);
  return task === undefined ? undefined : { run, step, task };
}

export function isStepFinished(step: StepRun): boolean {
  return step.status === 'completed' || step.status === 'failed';
}

/**
 * Folds one event into the coordinator's state. Pure and total like the agents' `evolve`:
 * unknown ids and repeated events leave the state as it is, so any history
 * replays. Updates `state` in place and returns it.
 */
export function evolveCoordinator(state: CoordinatorState, event: CoordinatorEvent): CoordinatorState {
  switch (event.type) {
    case 'workflow.started': {
      const d = event.data;
      if (state.workflows.has(d.workflowId)) return state;
      const steps = new Map<string, StepRun>();
      for (const name of Object.keys(d.definition.steps))
        steps.set(name, { name, status: 'pending', tasks: [], retired: [] });
      state.workflows.set(d.workflowId, {
        id: d.workflowId,
        workflow: d.workflow,
        definition: d.definition,
        input: d.input,
        inboxSeq: d.inboxSeq,
        ...(d.trace === undefined ? {} : { trace: d.trace }),
        status: 'running',
        steps,
        startedAt: d.at,
        published: false,
        usage: zeroUsage(),
      });
      return state;
    }
    case 'workflow.rejected': {
      const d = event.data;
      if (state.workflows.has(d.workflowId)) return state;
      state.workflows.set(d.workflowId, {
        id: d.workflowId,
        workflow: d.workflow ?? '',
        definition: { steps: {} },
        input: '',
        inboxSeq: d.inboxSeq,
        status: 'rejected',
        steps: new Map(),
        error: d.error,
        startedAt: d.at,
        finishedAt: d.at,
        published: false,
        usage: zeroUsage(),
      });
      finishFire(state, d.workflowId, 'failed', undefined, d.error, d.at);
      return state;
    }
    case 'workflow.step_started': {
      const step = state.workflows.get(event.data.workflowId)?.steps.get(event.data.step);
      if (step === undefined || step.status !== 'pending') return state;
      step.status = 'running';
      step.startedAt = event.data.at;
      if (event.data.items !== undefined) step.items = event.data.items;
      return state;
    }
    case 'workflow.task_dispatched': {
      const d = event.data;
      const run = state.workflows.get(d.workflowId);
      const step = run?.steps.get(d.step);
      if (run === undefined || step === undefined || state.tasks.has(d.taskId)) return state;
      const current = step.tasks[d.index];
      // A new attempt only follows a finished one.
      if (current !== undefined && (current.status === 'running' || current.attempt >= d.attempt))
        return state;
      if (current !== undefined) step.retired.push(current);
      step.tasks[d.index] = {
        taskId: d.taskId,
        step: d.step,
        index: d.index,
        attempt: d.attempt,
        agent: d.agent,
        input: d.input,
        dispatchedAt: d.at,
        sent: false,
        cancelSent: false,
        status: 'running',
      };
      if (step.status === 'pending') {
        step.status = 'running';
        step.startedAt = d.at;
      }
      state.tasks.set(d.taskId, {
        workflowId: d.workflowId,
        step: d.step,
        index: d.index,
        attempt: d.attempt,
      });
      return state;
    }
    case 'workflow.task_sent': {
      const found = findTask(state, event.data.taskId);
      if (found === undefined || found.task.sent) return state;
      found.task.sent = true;
      found.task.inboxSeq = event.data.inboxSeq;
      return state;
    }
    case 'workflow.task_finished': {
      const found = findTask(state, event.data.taskId);
      if (found === undefined || found.task.status !== 'running') return state;
      const { task } = found;
      task.status = event.data.status;
      task.output = event.data.output;
      task.error = event.data.error;
      task.finishedAt = event.data.at;
      if (event.data.timedOut === true) task.timedOut = true;
      if (event.data.rejected === true) task.rejected = true;
      if (event.data.usage !== undefined) found.run.usage = addUsage(found.run.usage, event.data.usage);
      if (event.data.costUsd !== undefined)
        found.run.costUsd = Math.round(((found.run.costUsd ?? 0) + event.data.costUsd) * 1e6) / 1e6;
      return state;
    }
    case 'workflow.cancel_sent': {
      const found = findTask(state, event.data.taskId);
      if (found === undefined) return state;
      found.task.cancelSent = true;
      return state;
    }
    case 'workflow.step_finished': {
      const step = state.workflows.get(event.data.workflowId)?.steps.get(event.data.step);
      if (step === undefined || isStepFinished(step)) return state;
      step.status = event.data.status;
      step.output = event.data.output;
      step.error = event.data.error;
      step.finishedAt = event.data.at;
      return state;
    }
    case 'workflow.finished': {
      const run = state.workflows.get(event.data.workflowId);
      if (run === undefined || run.status !== 'running') return state;
      run.status = event.data.status;
      run.output = event.data.output;
      run.error = event.data.error;
      run.finishedAt = event.data.at;
      // A run a schedule fired: its end is the fire's end (no event of its own).
      finishFire(state, run.id, event.data.status, event.data.output, event.data.error, event.data.at);
      return state;
    }
    case 'workflow.published': {
      const run = state.workflows.get(event.data.workflowId);
      if (run === undefined || run.status === 'running' || run.published) return state;
      run.published = true;
      run.resultSeq = event.data.resultSeq;
      state.published.push(run.id);
      forgetOldRuns(state);
      return state;
    }
    case 'schedule.changed':
    case 'schedule.removed':
    case 'schedule.fired':
    case 'schedule.skipped':
    case 'schedule.buffered':
    case 'schedule.task_sent':
    case 'schedule.fire_finished':
    case 'schedule.paused':
    case 'schedule.resumed':
      evolveSchedules(state, event);
      return state;
    default:
      return unknownEvent(state, event);
  }
}

/** Applies a stored commit: its events in order, then its position. */
export function applyCoordinatorCommit(
  state: CoordinatorState,
  commit: { readonly seq: number; readonly events: readonly CoordinatorEvent[] },
): CoordinatorState {
  for (const event of commit.events) evolveCoordinator(state, event);
  state.seq = commit.seq;
  return state;
}

/** A deep copy, for callers that must keep a state while evolving another. */
export function cloneCoordinatorState(state: CoordinatorState): CoordinatorState {
  return structuredClone(state);
}

/**
 * No workflow event reaches here (a new one `evolveCoordinator` forgets is a compile error);
 * anything else in the coordinator's history changes nothing, so an odd history still replays.
 */
function unknownEvent(state: CoordinatorState, _event: never): CoordinatorState {
  return state;
}

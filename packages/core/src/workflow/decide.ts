import { ErrorCode } from '../errors.ts';
import type { TaskError, TaskResult } from '../result.ts';
import { MAX_INPUT_CHARS } from '../task.ts';
import type { Usage } from '../usage.ts';
import type { WorkflowDef } from './definition.ts';
import { type CoordinatorEvent, workflowEventIds as ids, workflowTaskId } from './events.ts';
import {
  type CoordinatorState,
  evolveCoordinator,
  findTask,
  isStepFinished,
  type StepRun,
  type WorkflowRun,
  type WorkflowTask,
  type WorkflowTaskStatus,
} from './state.ts';
import { dependencies, finalSteps } from './graph.ts';
import { parseArray, renderTemplate } from './template.ts';

/** What the coordinator process asks of the workflow logic; `decideCoordinator` answers with events. */
export type CoordinatorCommand =
  | {
      type: 'StartWorkflow';
      workflowId: string;
      workflow: string;
      input: string;
      /** The config's definition; undefined (no such workflow) rejects the start. */
      definition?: WorkflowDef | undefined;
      inboxSeq?: number | undefined;
      at: string;
    }
  /** A start message that cannot run for another reason (unreadable, bad id, bad field). */
  | {
      type: 'RejectWorkflow';
      workflowId: string;
      workflow?: string | undefined;
      error: TaskError;
      inboxSeq?: number | undefined;
      at: string;
    }
  /** A result on `spool.results.<agent>.<taskId>`: ignored unless it is an open task of a workflow. */
  | { type: 'ObserveResult'; result: TaskResult; at: string }
  | { type: 'MarkSent'; taskId: string; inboxSeq: number; at: string }
  | { type: 'MarkCancelSent'; taskId: string; at: string }
  | { type: 'TimeOut'; taskId: string; at: string }
  | { type: 'CancelWorkflow'; workflowId: string; reason: string; at: string }
  | { type: 'MarkPublished'; workflowId: string; resultSeq?: number | undefined; at: string }
  /**
   * Fails a running workflow that cannot go on for a reason outside its steps (a decision of it
   * too large to journal).
   */
  | { type: 'FailWorkflow'; workflowId: string; error: TaskError; at: string }
  /**
   * Dispatches whatever became ready (steps, retries, step and workflow ends), in every running
   * workflow or in one. Normally a no-op: every command already advances.
   */
  | { type: 'Advance'; workflowId?: string | undefined; at: string };

/**
 * Decides the events a command leads to, from the state alone. Pure and deterministic: the
 * same state and command give the same events with the same ids, and a command that no
 * longer applies (a known workflow, a finished task, a sent message) gives none, so every
 * command is safe to repeat after a crash.
 */
export function decideCoordinator(state: CoordinatorState, command: CoordinatorCommand): CoordinatorEvent[] {
  const { at } = command;
  switch (command.type) {
    case 'StartWorkflow': {
      const { workflowId, workflow, input } = command;
      if (state.workflows.has(workflowId)) return [];
      const inboxSeq = command.inboxSeq === undefined ? {} : { inboxSeq: command.inboxSeq };
      if (command.definition === undefined)
        return [
          rejected(
            workflowId,
            workflow,
            {
              code: ErrorCode.NotFound,
              message: `unknown workflow "${workflow}": define it under "workflows" in the config`,
            },
            command.inboxSeq,
            at,
          ),
        ];
      const draft = new Draft(state);
      draft.emit({
        id: ids.started(workflowId),
        type: 'workflow.started',
        v: 1,
        data: { workflowId, workflow, definition: command.definition, input, ...inboxSeq, at },
      });
      draft.advance(workflowId, at);
      return draft.events;
    }
    case 'RejectWorkflow':
      if (state.workflows.has(command.workflowId)) return [];
      return [rejected(command.workflowId, command.workflow, command.error, command.inboxSeq, at)];
    case 'ObserveResult': {
      const { result } = command;
      const found = findTask(state, result.taskId);
      if (found === undefined || found.task.status !== 'running' || found.task.agent !== result.agent)
        return [];
      const status: Exclude<WorkflowTaskStatus, 'running'> =
        result.status === 'completed' ? 'completed' : result.status === 'cancelled' ? 'cancelled' : 'failed';
      const error =
        status === 'completed'
          ? undefined
          : (result.error ??
            (status === 'cancelled'
              ? { code: ErrorCode.Cancelled, message: 'the task was cancelled' }
              : { code: 'failed', message: `the task ended ${result.status} without an error` }));
      const event = taskFinished(
        found.run.id,
        found.task,
        status,
        status === 'completed' ? (result.output ?? '') : undefined,
        error,
        at,
        {
          // A rejection is the agent refusing this input (too large, poison): another attempt would be refused too.
          ...(result.status === 'rejected' ? { rejected: true } : {}),
          usage: result.usage,
          costUsd: result.costUsd,
        },
      );
      // A finished workflow only records the result (its cancel is no longer needed). So does
      // one item of a map step whose other items still run: nothing can move on yet, and
      // copying the run for every item of a large map would cost O(items²).
      const siblingsRun = found.step.tasks.some((task) => task !== found.task && task.status === 'running');
      if (found.run.status !== 'running' || (status === 'completed' && siblingsRun)) return [event];
      const draft = new Draft(state, found.run);
      draft.emit(event);
      draft.advance(found.run.id, at);
      return draft.events;
    }
    case 'TimeOut': {
      const found = findTask(state, command.taskId);
      if (found === undefined || found.task.status !== 'running' || found.run.status !== 'running') return [];
      const timeoutMs = found.run.definition.steps[found.step.name]?.timeoutMs;
      if (timeoutMs === undefined || Date.parse(at) < Date.parse(found.task.dispatchedAt) + timeoutMs)
        return [];
      const draft = new Draft(state, found.run);
      const error = {
        code: ErrorCode.Timeout,
        message: `no result from agent "${found.task.agent}" within ${timeoutMs} ms (task ${found.task.taskId})`,
      };
      draft.emit(taskFinished(found.run.id, found.task, 'failed', undefined, error, at, { timedOut: true }));
      draft.advance(found.run.id, at);
      return draft.events;
    }
    case 'MarkSent': {
      const found = findTask(state, command.taskId);
      if (found === undefined || found.task.sent) return [];
      return [
        {
          id: ids.sent(command.taskId),
          type: 'workflow.task_sent',
          v: 1,
          data: { workflowId: found.run.id, taskId: command.taskId, inboxSeq: command.inboxSeq, at },
        },
      ];
    }
    case 'MarkCancelSent': {
      const found = findTask(state, command.taskId);
      if (found === undefined || found.task.cancelSent) return [];
      return [
        {
          id: ids.cancelSent(command.taskId),
          type: 'workflow.cancel_sent',
          v: 1,
          data: { workflowId: found.run.id, taskId: command.taskId, at },
        },
      ];
    }
    case 'CancelWorkflow': {
      const run = state.workflows.get(command.workflowId);
      if (run === undefined || run.status !== 'running') return [];
      return [
        finished(run.id, 'cancelled', undefined, { code: ErrorCode.Cancelled, message: command.reason }, at),
      ];
    }
    case 'MarkPublished': {
      const run = state.workflows.get(command.workflowId);
      if (run === undefined || run.status === 'running' || run.published) return [];
      return [
        {
          id: ids.published(run.id),
          type: 'workflow.published',
          v: 1,
          data: {
            workflowId: run.id,
            ...(command.resultSeq === undefined ? {} : { resultSeq: command.resultSeq }),
            at,
          },
        },
      ];
    }
    case 'FailWorkflow': {
      const run = state.workflows.get(command.workflowId);
      if (run === undefined || run.status !== 'running') return [];
      return [finished(run.id, 'failed', undefined, command.error, at)];
    }
    case 'Advance': {
      const events: CoordinatorEvent[] = [];
      const runs =
        command.workflowId === undefined
          ? state.workflows.values()
          : [state.workflows.get(command.workflowId)].filter((run) => run !== undefined);
      for (const run of runs) {
        if (run.status !== 'running' || !mayAdvance(run)) continue;
        const draft = new Draft(state, run);
        draft.advance(run.id, at);
        events.push(...draft.events);
      }
      return events;
    }
    default:
      return assertNever(command);
  }
}

/** A step that failed and is not optional: the run fails with it. */
function failedRequiredStep(run: WorkflowRun): StepRun | undefined {
  return [...run.steps.values()].find(
    (step) => step.status === 'failed' && run.definition.steps[step.name]?.optional !== true,
  );
}

/**
 * Whether `Draft.advance` could emit anything for a running workflow, checked on the run as it
 * is (it is asked after every command, and copying a large run each time is what costs). It
 * mirrors advance: a running step with a failed or cancelled task (a retry, or the step fails)
 * or with all its tasks completed (it ends); a failed step (the run fails); a pending step whose
 * dependencies have all finished (it starts); every step finished (the run ends).
 */
function mayAdvance(run: WorkflowRun): boolean {
  const steps = [...run.steps.values()];
  if (steps.every(isStepFinished)) return true;
  return steps.some((step) => {
    switch (step.status) {
      case 'failed':
        return true;
      case 'running':
        return (
          step.tasks.some((task) => task.status === 'failed' || task.status === 'cancelled') ||
          step.tasks.every((task) => task.status === 'completed')
        );
      case 'pending':
        return dependencies(run.definition, step.name).every((dep) => {
          const other = run.steps.get(dep);
          return other === undefined || isStepFinished(other);
        });
      default:
        return false;
    }
  });
}

/**
 * Events decided against a private copy of one workflow, each applied to the copy as it is
 * emitted: later decisions in the same command see the earlier ones, and the events are
 * exactly what `evolveCoordinator` will replay.
 */
class Draft {
  readonly events: CoordinatorEvent[] = [];
  private readonly state: CoordinatorState;

  constructor(source: CoordinatorState, run?: WorkflowRun) {
    this.state = { seq: source.seq, workflows: new Map(), tasks: new Map() };
    if (run === undefined) return;
    const copy = structuredClone(run);
    this.state.workflows.set(copy.id, copy);
    for (const step of copy.steps.values())
      for (const task of [...step.tasks, ...step.retired])
        this.state.tasks.set(task.taskId, {
          workflowId: copy.id,
          step: task.step,
          index: task.index,
          attempt: task.attempt,
        });
  }

  emit(event: CoordinatorEvent): void {
    this.events.push(event);
    evolveCoordinator(this.state, event);
  }

  /** Moves a running workflow as far as it can go now: retries, step ends, new steps, its end. */
  advance(workflowId: string, at: string): void {
    const run = this.state.workflows.get(workflowId);
    if (run === undefined) return;
    for (;;) {
      if (run.status !== 'running') return;
      const before = this.events.length;
      for (const step of run.steps.values()) if (step.status === 'running') this.settle(run, step, at);
      const failed = failedRequiredStep(run);
      if (failed !== undefined) {
        const cause = failed.error ?? { code: 'failed', message: 'failed' };
        this.emit(
          finished(
            run.id,
            'failed',
            undefined,
            {
              code: cause.code,
              message: `step "${failed.name}" failed: ${cause.message}`,
            },
            at,
          ),
        );
        return;
      }
      for (const step of run.steps.values()) {
        if (step.status !== 'pending') continue;
        const ready = dependencies(run.definition, step.name).every((dep) => {
          const other = run.steps.get(dep);
          // A required step that failed fails the workflow: nothing after it starts.
          if (other?.status === 'failed') return run.definition.steps[dep]?.optional === true;
          return other === undefined || other.status === 'completed';
        });
        if (ready) this.start(run, step, at);
      }
      // A step that failed as it started (no usable input) fails the run on the next round.
      if ([...run.steps.values()].every(isStepFinished) && failedRequiredStep(run) === undefined) {
        this.emit(finished(run.id, 'completed', workflowOutput(run), undefined, at));
        return;
      }
      if (this.events.length === before) return;
    }
  }

  /** A running step: retry its failed tasks that have attempts left, then end it if it can. */
  private settle(run: WorkflowRun, step: StepRun, at: string): void {
    const spec = run.definition.steps[step.name];
    if (spec === undefined) return;
    for (const task of [...step.tasks]) {
      if (!retryable(task) || task.attempt > spec.retries) continue;
      const attempt = task.attempt + 1;
      this.emit(dispatched(run.id, step.name, task.index, attempt, task.agent, task.input, at));
    }
    // Fail fast: one task out of attempts fails the step (its other tasks get cancelled).
    const lost = step.tasks.find((task) => task.status === 'failed' || task.status === 'cancelled');
    if (lost !== undefined) {
      const error = lost.error ?? { code: 'failed', message: 'the task failed' };
      const where = spec.map === undefined ? '' : `item ${lost.index}: `;
      const attempts = lost.attempt > 1 ? ` (after ${lost.attempt} attempts)` : '';
      this.emit(
        stepFinished(
          run.id,
          step.name,
          'failed',
          undefined,
          {
            code: error.code,
            message: `${where}${error.message}${attempts}`,
          },
          at,
        ),
      );
      return;
    }
    if (step.tasks.every((task) => task.status === 'completed')) {
      const outputs = step.tasks.map((task) => task.output ?? '');
      const output = spec.map === undefined ? (outputs[0] ?? '') : JSON.stringify(outputs);
      this.emit(stepFinished(run.id, step.name, 'completed', output, undefined, at));
    }
  }

  /** A pending step whose dependencies are finished: dispatch its task(s), or end it at once. */
  private start(run: WorkflowRun, step: StepRun, at: string): void {
    const spec = run.definition.steps[step.name];
    if (spec === undefined) return;
    const values = { input: run.input, steps: stepOutputs(run) };
    const started = (items?: unknown[]): CoordinatorEvent => ({
      id: ids.stepStarted(run.id, step.name),
      type: 'workflow.step_started',
      v: 1,
      data: { workflowId: run.id, step: step.name, ...(items === undefined ? {} : { items }), at },
    });
    // An input no agent accepts fails the step here, with its size, instead of being sent to be rejected.
    const oversized = (inputs: readonly string[]): boolean => {
      const bad = inputs.findIndex((input) => input.length > MAX_INPUT_CHARS);
      if (bad < 0) return false;
      const which = spec.map === undefined ? 'its input' : `the input of item ${bad}`;
      const message = `${which} is ${inputs[bad]?.length} characters once rendered; an agent takes at most ${MAX_INPUT_CHARS} (pass less of the steps it names, or map over smaller parts)`;
      this.emit(
        stepFinished(run.id, step.name, 'failed', undefined, { code: 'input_too_large', message }, at),
      );
      return true;
    };
    if (spec.map === undefined) {
      const input = renderTemplate(spec.input, values);
      if (oversized([input])) return;
      this.emit(started());
      this.emit(dispatched(run.id, step.name, 0, 1, spec.agent, input, at));
      return;
    }
    const source = run.steps.get(spec.map);
    const parsed =
      source?.status === 'completed'
        ? parseArray(source.output ?? '')
        : ({ ok: false, error: `step "${spec.map}" failed, so there are no items` } as const);
    if (!parsed.ok) {
      const message = `cannot map over the output of step "${spec.map}": ${parsed.error}`;
      this.emit(
        stepFinished(run.id, step.name, 'failed', undefined, { code: 'invalid_map_input', message }, at),
      );
      return;
    }
    const inputs = parsed.items.map((item, index) => renderTemplate(spec.input, { ...values, item, index }));
    if (oversized(inputs)) return;
    this.emit(started(parsed.items));
    if (parsed.items.length === 0) {
      this.emit(stepFinished(run.id, step.name, 'completed', '[]', undefined, at));
      return;
    }
    for (const [index, input] of inputs.entries())
      this.emit(dispatched(run.id, step.name, index, 1, spec.agent, input, at));
  }
}

/**
 * Failed for a reason worth another attempt: an error result or the step's timeout. Not an
 * operator's cancel, and not the agent rejecting the task (it would reject the same input again).
 */
function retryable(task: WorkflowTask): boolean {
  return task.status === 'failed' && task.rejected !== true;
}

/** Outputs of completed steps; a failed (optional) step has none and renders as "". */
function stepOutputs(run: WorkflowRun): Record<string, string | undefined> {
  const outputs: Record<string, string | undefined> = {};
  for (const step of run.steps.values()) if (step.status === 'completed') outputs[step.name] = step.output;
  return outputs;
}

/** The `output` template, or the output of the one step nothing waits for (several: a JSON object). */
export function workflowOutput(run: WorkflowRun): string {
  const outputs = stepOutputs(run);
  if (run.definition.output !== undefined)
    return renderTemplate(run.definition.output, { input: run.input, steps: outputs });
  const finals = finalSteps(run.definition);
  if (finals.length === 1) return outputs[finals[0] as string] ?? '';
  return JSON.stringify(Object.fromEntries(finals.map((name) => [name, outputs[name] ?? ''])));
}

function dispatched(
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

function taskFinished(
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

function stepFinished(
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

function finished(
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

function rejected(
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

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

import { MAX_INPUT_CHARS } from '../task.ts';
import { dispatched, finished, stepFinished } from './event-builders.ts';
import { type CoordinatorEvent, workflowEventIds as ids } from './events.ts';
import { dependencies, finalSteps } from './graph.ts';
import {
  type CoordinatorState,
  evolveCoordinator,
  isStepFinished,
  type StepRun,
  type WorkflowRun,
  type WorkflowTask,
} from './state.ts';
import { parseArray, renderTemplate } from './template.ts';

/**
 * Where a workflow advances: after each decision, whatever became ready moves on (failed tasks
 * with attempts left are dispatched again, finished steps end, steps whose dependencies are all
 * done start, and a run whose steps are all finished ends), as events decided on a draft copy.
 */

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
export function mayAdvance(run: WorkflowRun): boolean {
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
export class Draft {
  readonly events: CoordinatorEvent[] = [];
  private readonly state: CoordinatorState;

  constructor(source: CoordinatorState, run?: WorkflowRun) {
    this.state = {
      seq: source.seq,
      workflows: new Map(),
      tasks: new Map(),
      published: [],
      schedules: new Map(),
      fires: new Map(),
      scheduleControlSeq: 0,
    };
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

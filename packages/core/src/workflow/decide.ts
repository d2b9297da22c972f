import type { TraceContext } from '../trace-context.ts';
import { ErrorCode } from '../errors.ts';
import type { TaskError, TaskResult } from '../result.ts';
import { decideSchedules, type ScheduleCommand } from '../schedule/decide.ts';
import { scheduleEventIds as scheduleIds } from '../schedule/events.ts';
import { LAST_OUTPUT_CHARS } from '../schedule/state.ts';
import { Draft, mayAdvance } from './advance.ts';
import type { WorkflowDef } from './definition.ts';
import { finished, rejected, taskFinished } from './event-builders.ts';
import { type CoordinatorEvent, workflowEventIds as ids } from './events.ts';
import { type CoordinatorState, findTask, type WorkflowTaskStatus } from './state.ts';

/** What the coordinator process asks of the workflow logic; `decideCoordinator` answers with events. */
export type CoordinatorCommand =
  | ScheduleCommand
  | {
      type: 'StartWorkflow';
      workflowId: string;
      workflow: string;
      input: string;
      /** The config's definition; undefined (no such workflow) rejects the start. */
      definition?: WorkflowDef | undefined;
      inboxSeq?: number | undefined;
      /** The start message's trace context (W3C headers), journaled with the run. */
      trace?: TraceContext | undefined;
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
        data: {
          workflowId,
          workflow,
          definition: command.definition,
          input,
          ...inboxSeq,
          ...(command.trace === undefined ? {} : { trace: command.trace }),
          at,
        },
      });
      draft.advance(workflowId, at);
      return draft.events;
    }
    case 'RejectWorkflow':
      if (state.workflows.has(command.workflowId)) return [];
      return [rejected(command.workflowId, command.workflow, command.error, command.inboxSeq, at)];
    case 'ConfigureSchedules':
    case 'FireSchedule':
    case 'MarkFireSent':
    case 'ControlSchedule': {
      const definitions = 'workflows' in command ? command.workflows : undefined;
      return decideSchedules<CoordinatorEvent>(state, command, (workflowId, workflow, input) =>
        decideCoordinator(state, {
          type: 'StartWorkflow',
          workflowId,
          workflow,
          input,
          definition:
            definitions !== undefined && Object.hasOwn(definitions, workflow)
              ? definitions[workflow]
              : undefined,
          at,
        }),
      ) as CoordinatorEvent[];
    }
    case 'ObserveResult': {
      const { result } = command;
      const fire = observeFire(state, result, at);
      if (fire !== undefined) return [fire];
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

/** A result of an open fire's task on an agent: the fire's end. */
function observeFire(state: CoordinatorState, result: TaskResult, at: string): CoordinatorEvent | undefined {
  const name = state.fires.get(result.taskId);
  const fire = state.schedules.get(name ?? '')?.fires.find((f) => f.fireId === result.taskId);
  if (name === undefined || fire === undefined || fire.agent !== result.agent || fire.status !== 'running')
    return undefined;
  const status =
    result.status === 'completed' ? 'completed' : result.status === 'cancelled' ? 'cancelled' : 'failed';
  return {
    id: scheduleIds.finished(result.taskId),
    type: 'schedule.fire_finished',
    v: 1,
    data: {
      schedule: name,
      fireId: result.taskId,
      status,
      ...(status === 'completed' ? { output: (result.output ?? '').slice(0, LAST_OUTPUT_CHARS) } : {}),
      ...(result.error === undefined ? {} : { error: result.error }),
      at,
    },
  };
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

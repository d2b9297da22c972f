import { TraceContextSchema } from '../trace-context.ts';
import { z } from 'zod';
import { eventV1, iso } from '../event-schema.ts';
import { TaskErrorSchema } from '../result.ts';
import { SCHEDULE_EVENTS } from '../schedule/events.ts';
import { UsageSchema } from '../usage.ts';
import { WorkflowSchema } from './definition.ts';

/**
 * The coordinator's workflow events, journaled on `spool.history.coordinator` beside (not
 * inside) the agents' histories. Ids are deterministic and start `coordinator:<workflowId>:`,
 * so a retried append of the same decision is recognised.
 */

const seq = z.number().int().nonnegative();

export const WorkflowStartedV1 = eventV1(
  'workflow.started',
  z.object({
    workflowId: z.string(),
    workflow: z.string(),
    /** The definition as it was at the start: a config change does not alter a running workflow. */
    definition: WorkflowSchema,
    input: z.string(),
    inboxSeq: seq.optional(),
    /** The start message's trace context: the run's spans continue it, across restarts. */
    trace: TraceContextSchema.optional(),
    at: iso,
  }),
);

/** A start message that cannot run (unknown workflow, bad message): it gets a `rejected` result. */
export const WorkflowRejectedV1 = eventV1(
  'workflow.rejected',
  z.object({
    workflowId: z.string(),
    workflow: z.string().optional(),
    error: TaskErrorSchema,
    inboxSeq: seq.optional(),
    at: iso,
  }),
);

/** A step's tasks are about to be dispatched (same commit); a map step records its items here. */
export const WorkflowStepStartedV1 = eventV1(
  'workflow.step_started',
  z.object({
    workflowId: z.string(),
    step: z.string(),
    /** The parsed items of a map step (one task each). */
    items: z.array(z.unknown()).optional(),
    at: iso,
  }),
);

export const WorkflowTaskDispatchedV1 = eventV1(
  'workflow.task_dispatched',
  z.object({
    workflowId: z.string(),
    step: z.string(),
    index: z.number().int().nonnegative(),
    attempt: z.number().int().positive(),
    agent: z.string(),
    taskId: z.string(),
    input: z.string(),
    at: iso,
  }),
);

export const WorkflowTaskSentV1 = eventV1(
  'workflow.task_sent',
  z.object({ workflowId: z.string(), taskId: z.string(), inboxSeq: seq, at: iso }),
);

export const WorkflowTaskFinishedV1 = eventV1(
  'workflow.task_finished',
  z.object({
    workflowId: z.string(),
    taskId: z.string(),
    status: z.enum(['completed', 'failed', 'cancelled']),
    output: z.string().optional(),
    error: TaskErrorSchema.optional(),
    /** Ended by the step's timeout, not by a result: the agent still has to be told to cancel it. */
    timedOut: z.boolean().optional(),
    /** The agent rejected the task (its result was `rejected`): failed, and not retried. */
    rejected: z.boolean().optional(),
    /** What the task's model calls used and cost (from its result), summed into the run's. */
    usage: UsageSchema.optional(),
    costUsd: z.number().nonnegative().optional(),
    at: iso,
  }),
);

export const WorkflowCancelSentV1 = eventV1(
  'workflow.cancel_sent',
  z.object({ workflowId: z.string(), taskId: z.string(), at: iso }),
);

export const WorkflowStepFinishedV1 = eventV1(
  'workflow.step_finished',
  z.object({
    workflowId: z.string(),
    step: z.string(),
    status: z.enum(['completed', 'failed']),
    output: z.string().optional(),
    error: TaskErrorSchema.optional(),
    at: iso,
  }),
);

export const WorkflowFinishedV1 = eventV1(
  'workflow.finished',
  z.object({
    workflowId: z.string(),
    status: z.enum(['completed', 'failed', 'cancelled']),
    output: z.string().optional(),
    error: TaskErrorSchema.optional(),
    at: iso,
  }),
);

export const WorkflowPublishedV1 = eventV1(
  'workflow.published',
  z.object({ workflowId: z.string(), resultSeq: seq.optional(), at: iso }),
);

/** The coordinator's history (`spool.history.coordinator`): its one discriminated union. */
export const CoordinatorEventSchema = z.discriminatedUnion('type', [
  WorkflowStartedV1,
  WorkflowRejectedV1,
  WorkflowStepStartedV1,
  WorkflowTaskDispatchedV1,
  WorkflowTaskSentV1,
  WorkflowTaskFinishedV1,
  WorkflowCancelSentV1,
  WorkflowStepFinishedV1,
  WorkflowFinishedV1,
  WorkflowPublishedV1,
  ...SCHEDULE_EVENTS,
]);
export type CoordinatorEvent = z.infer<typeof CoordinatorEventSchema>;
export type CoordinatorEventType = CoordinatorEvent['type'];

/** Deterministic ids: the same decision always has the same id. */
export const workflowEventIds = {
  started: (workflowId: string) => `coordinator:${workflowId}:started`,
  rejected: (workflowId: string) => `coordinator:${workflowId}:rejected`,
  stepStarted: (workflowId: string, step: string) => `coordinator:${workflowId}:step:${step}:started`,
  /** Task ids start with the workflow id, so these ids do too. */
  dispatched: (taskId: string) => `coordinator:${taskId}:dispatched`,
  sent: (taskId: string) => `coordinator:${taskId}:sent`,
  taskFinished: (taskId: string) => `coordinator:${taskId}:finished`,
  cancelSent: (taskId: string) => `coordinator:${taskId}:cancel-sent`,
  stepFinished: (workflowId: string, step: string) => `coordinator:${workflowId}:step:${step}:finished`,
  finished: (workflowId: string) => `coordinator:${workflowId}:finished`,
  published: (workflowId: string) => `coordinator:${workflowId}:published`,
};

/** `<workflowId>:<step>:<index>:<attempt>`: the same task always has the same id (the inbox dedupes it). */
export function workflowTaskId(workflowId: string, step: string, index: number, attempt: number): string {
  return `${workflowId}:${step}:${index}:${attempt}`;
}

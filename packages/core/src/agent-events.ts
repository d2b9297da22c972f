import { z } from 'zod';
import { MetaSchema } from './task.ts';
import { ContentBlockSchema, StopReasonSchema, ToolImageSchema } from './content.ts';
import { TaskErrorSchema } from './result.ts';
import { UsageSchema } from './usage.ts';
import { eventV1, iso } from './event-schema.ts';
import { TraceContextSchema } from './trace-context.ts';
import { DelegationRequestedV1, DelegationSentV1 } from './delegation-events.ts';
import { TimerSetV1 } from './timer-events.ts';

/**
 * An agent's history (`spool.history.<agent>`): one zod discriminated union, the single
 * source of truth for its event types (the coordinator's are in `workflow/events.ts`). Every event is `{ id, type, v, data }`: `id` is deterministic
 * (`<agent>:<taskId>:...`) so a retried append is recognised; `v` is the schema version of
 * `data`, and old versions stay parseable (upcast in `parseCommit`). Stream position and
 * write time live on the read envelope, not here.
 */

const TaskReceivedV1 = eventV1(
  'task.received',
  z.object({
    taskId: z.string(),
    input: z.string(),
    meta: MetaSchema.optional(),
    /** Inbox stream sequence of the message, when it came through the inbox. */
    inboxSeq: z.number().int().nonnegative().optional(),
    /** The trace context the message carried (W3C headers): a resumed task continues its trace. */
    trace: TraceContextSchema.optional(),
    at: iso,
  }),
);

const TaskStartedV1 = eventV1(
  'task.started',
  z.object({
    taskId: z.string(),
    attempt: z.number().int().positive(),
    /** Hash of the agent spec the task runs under (instructions, model, limits). */
    specHash: z.string(),
    /** Exchanges of memory the task may see: those numbered below this. Fixed at start so a resumed task rebuilds the same request. */
    memoryUpTo: z.number().int().nonnegative(),
    at: iso,
  }),
);

const ModelRespondedV1 = eventV1(
  'model.responded',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    model: z.string(),
    content: z.array(ContentBlockSchema),
    stopReason: StopReasonSchema,
    usage: UsageSchema,
    requestId: z.string().optional(),
    at: iso,
  }),
);

const TaskCompletedV1 = eventV1(
  'task.completed',
  z.object({ taskId: z.string(), output: z.string(), at: iso }),
);

const TaskFailedV1 = eventV1(
  'task.failed',
  z.object({ taskId: z.string(), error: TaskErrorSchema, at: iso }),
);

const TaskRejectedV1 = eventV1(
  'task.rejected',
  z.object({
    taskId: z.string(),
    error: TaskErrorSchema,
    inboxSeq: z.number().int().nonnegative(),
    /** The start of the refused message, for debugging. */
    excerpt: z.string(),
    at: iso,
  }),
);

const ResultPublishedV1 = eventV1(
  'result.published',
  z.object({
    taskId: z.string(),
    /** Stream sequence of the result message: a retried task's next result must follow it. */
    resultSeq: z.number().int().nonnegative().optional(),
    at: iso,
  }),
);

/** The agent started under a spec (instructions, model, tools, limits) other than the one its last task ran under. */
const SpecChangedV1 = eventV1('agent.spec_changed', z.object({ from: z.string(), to: z.string(), at: iso }));

/** Older memory summarized by a model call: the summary replaces the exchanges numbered below `upTo` in later requests. */
const MemoryCompactedV1 = eventV1(
  'memory.compacted',
  z.object({
    summary: z.string(),
    upTo: z.number().int().nonnegative(),
    /** The request's token count that set it off, and the window it had to fit. */
    tokens: z.number().int().nonnegative(),
    model: z.string(),
    usage: UsageSchema,
    at: iso,
  }),
);

/** A tool call the model asked for, journaled before the tool runs (with its idempotency key). */
const ToolRequestedV1 = eventV1(
  'tool.requested',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    name: z.string(),
    input: z.unknown(),
    /** `<agent>:<taskId>:<step>:<toolUseId>`: the same on every run of this call. */
    key: z.string(),
    at: iso,
  }),
);

/** A tool call's outcome, journaled before the next model call uses it. */
const ToolCompletedV1 = eventV1(
  'tool.completed',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    /** What the model is told: the tool's output as text, or what went wrong. */
    content: z.string(),
    /** Images the tool returned, sent to the model with the text (absent: none). */
    images: z.array(ToolImageSchema).optional(),
    isError: z.boolean(),
    at: iso,
  }),
);

/** A non-idempotent tool is about to run: after a crash, it is not re-run without an operator. */
const ToolStartedV1 = eventV1(
  'tool.started',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    run: z.number().int().positive(),
    at: iso,
  }),
);

/** A tool call waits for an operator: the tool requires approval, or a non-idempotent run was interrupted. */
const ApprovalRequestedV1 = eventV1(
  'approval.requested',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    name: z.string(),
    input: z.unknown(),
    reason: z.string(),
    at: iso,
  }),
);

/** An operator's answer (`spool approve` / `spool deny`) for the task's waiting tool calls. */
const ApprovalDecidedV1 = eventV1(
  'approval.decided',
  z.object({
    taskId: z.string(),
    approved: z.boolean(),
    reason: z.string().optional(),
    controlSeq: z.number().int().nonnegative(),
    at: iso,
  }),
);

/** One failed model call, journaled before the retry wait: the backoff survives restarts. */
const ModelFailedV1 = eventV1(
  'model.failed',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    /** 1 for the step's first call. */
    call: z.number().int().positive(),
    error: TaskErrorSchema,
    retryable: z.boolean(),
    /** When the next call may be made; absent when this failure ends the task. */
    retryAt: iso.optional(),
    at: iso,
  }),
);

/**
 * A model call not made: it could have passed a spending limit (call-budget.ts). Journaled
 * with the task's failure, so a replay shows why and a restart does not ask again.
 */
const ModelRefusedV1 = eventV1(
  'model.refused',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    /** The config field of the limit, e.g. `budget.maxTokens`. */
    limit: z.string(),
    unit: z.enum(['tokens', 'usd']),
    max: z.number().nonnegative(),
    used: z.number().nonnegative(),
    /** What the call needed at least (input, and output down to the floor). */
    needed: z.number().nonnegative(),
    message: z.string(),
    at: iso,
  }),
);

/** A running task found unfinished when an agent took over its history (the last writer stopped mid-task). */
const TaskResumedV1 = eventV1(
  'task.resumed',
  z.object({ taskId: z.string(), interruptions: z.number().int().positive(), at: iso }),
);

/** A failed task sent back to work from the dead-letter view: a new attempt, its journal kept. */
const TaskRetriedV1 = eventV1(
  'task.retried',
  z.object({ taskId: z.string(), controlSeq: z.number().int().nonnegative(), at: iso }),
);

/** A failed task removed from the dead-letter view. */
const TaskDroppedV1 = eventV1(
  'task.dropped',
  z.object({ taskId: z.string(), controlSeq: z.number().int().nonnegative(), at: iso }),
);

const TaskCancelledV1 = eventV1(
  'task.cancelled',
  z.object({
    taskId: z.string(),
    reason: z.string(),
    /** Stream sequence of the control message that asked for it, when one did. */
    controlSeq: z.number().int().nonnegative().optional(),
    at: iso,
  }),
);

const AgentPausedV1 = eventV1(
  'agent.paused',
  z.object({ reason: z.string().optional(), controlSeq: z.number().int().nonnegative(), at: iso }),
);

const AgentResumedV1 = eventV1(
  'agent.resumed',
  z.object({ controlSeq: z.number().int().nonnegative(), at: iso }),
);

/**
 * A keyed instance's data was erased (`spool forget <agent>/<key>`): the first event of its
 * history after the purge. It carries no personal data, only when and which stores were purged.
 */
const AgentForgottenV1 = eventV1(
  'agent.forgotten',
  z.object({ at: iso, purged: z.record(z.string(), z.number().int().nonnegative()) }),
);

export const AgentEventSchema = z.discriminatedUnion('type', [
  TaskReceivedV1,
  TaskStartedV1,
  ModelRespondedV1,
  TaskCompletedV1,
  TaskFailedV1,
  TaskRejectedV1,
  ResultPublishedV1,
  TaskCancelledV1,
  AgentPausedV1,
  AgentResumedV1,
  ModelFailedV1,
  ModelRefusedV1,
  TaskResumedV1,
  TaskRetriedV1,
  TaskDroppedV1,
  ToolRequestedV1,
  ToolCompletedV1,
  SpecChangedV1,
  ToolStartedV1,
  ApprovalRequestedV1,
  ApprovalDecidedV1,
  MemoryCompactedV1,
  DelegationRequestedV1,
  DelegationSentV1,
  AgentForgottenV1,
  TimerSetV1,
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];

/** Deterministic event ids: the same decision always has the same id. */
export const eventIds = {
  received: (agent: string, taskId: string) => `${agent}:${taskId}:received`,
  rejected: (agent: string, taskId: string) => `${agent}:${taskId}:rejected`,
  started: (agent: string, taskId: string, attempt: number) => `${agent}:${taskId}:${attempt}:started`,
  responded: (agent: string, taskId: string, attempt: number, step: number) =>
    `${agent}:${taskId}:${attempt}:step-${step}`,
  completed: (agent: string, taskId: string, attempt: number) => `${agent}:${taskId}:${attempt}:completed`,
  failed: (agent: string, taskId: string, attempt: number) => `${agent}:${taskId}:${attempt}:failed`,
  published: (agent: string, taskId: string, attempt: number) =>
    attempt <= 1 ? `${agent}:${taskId}:published` : `${agent}:${taskId}:${attempt}:published`,
  modelFailed: (agent: string, taskId: string, attempt: number, step: number, call: number) =>
    `${agent}:${taskId}:${attempt}:step-${step}:failed-${call}`,
  toolRequested: (agent: string, taskId: string, attempt: number, step: number, toolUseId: string) =>
    `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:requested`,
  toolCompleted: (agent: string, taskId: string, attempt: number, step: number, toolUseId: string) =>
    `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:completed`,
  toolStarted: (
    agent: string,
    taskId: string,
    attempt: number,
    step: number,
    toolUseId: string,
    run: number,
  ) => `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:started-${run}`,
  approvalRequested: (
    agent: string,
    taskId: string,
    attempt: number,
    step: number,
    toolUseId: string,
    asked: number,
  ) => `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:approval-${asked}`,
  modelRefused: (agent: string, taskId: string, attempt: number, step: number) =>
    `${agent}:${taskId}:${attempt}:step-${step}:refused`,
  resumed: (agent: string, taskId: string, attempt: number, interruptions: number) =>
    `${agent}:${taskId}:${attempt}:resumed-${interruptions}`,
  /** A task is cancelled at most once, whoever asked. */
  cancelled: (agent: string, taskId: string, attempt: number) => `${agent}:${taskId}:${attempt}:cancelled`,
  /** Pause and resume are named after the control message that asked for them. */
  control: (agent: string, controlSeq: number) => `${agent}:control:${controlSeq}`,
  specChanged: (agent: string, afterSeq: number) => `${agent}:spec-changed:${afterSeq}`,
  compacted: (agent: string, upTo: number) => `${agent}:memory-compacted:${upTo}`,
  forgotten: (agent: string, at: string) => `${agent}:forgotten:${at}`,
};

import {
  COORDINATOR,
  type ControlMessage,
  subjects,
  type TaskMessage,
  type TraceContext,
} from '@spool/core/internal';
import { PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { encoder, internals } from './internal.ts';
import { traceHeaders } from './trace-headers.ts';
import type { SpoolConnection, SubmitOutcome } from './types.ts';

/** What travels with a message besides its payload. */
export interface PublishOptions {
  /** W3C trace context, sent as the `traceparent` / `tracestate` headers. */
  readonly trace?: TraceContext | undefined;
}

/**
 * Publishes a task on `spool.inbox.<agent>`; the same id within the dedup window is stored
 * once. A trace context goes as W3C headers: the agent journals it with the task.
 */
export async function submitTask(
  connection: SpoolConnection,
  agent: string,
  task: TaskMessage,
  options: PublishOptions = {},
): Promise<SubmitOutcome> {
  const { js, ns } = internals(connection);
  const ack = await retryUnknownOutcome(() =>
    js.publish(ns.subject(subjects.inbox(agent)), encoder.encode(JSON.stringify(task)), {
      msgID: `task:${agent}:${task.id}`,
      timeout: PUBLISH_ATTEMPT_MS,
      ...traceHeaders(options.trace),
    }),
  );
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/**
 * Publishes an operator command on `spool.control.<agent>`. `id` names this request: sent
 * twice within the dedup window, it is stored once.
 */
export async function sendControl(
  connection: SpoolConnection,
  agent: string,
  message: ControlMessage,
  id: string,
): Promise<SubmitOutcome> {
  const { js, ns } = internals(connection);
  const ack = await retryUnknownOutcome(() =>
    js.publish(ns.subject(subjects.control(agent)), encoder.encode(JSON.stringify(message)), {
      msgID: `control:${agent}:${id}`,
      timeout: PUBLISH_ATTEMPT_MS,
    }),
  );
  return { seq: ack.seq, duplicate: ack.duplicate };
}

/** A workflow run request, as the coordinator reads it on `spool.inbox.coordinator`. */
export interface WorkflowStart {
  readonly id: string;
  readonly workflow: string;
  readonly input: string;
}

/**
 * Asks the coordinator to run a workflow: publishes `{id, workflow, input}` on
 * `spool.inbox.coordinator` with msg id `workflow:<id>`, so the same id sent twice is one run.
 */
export async function submitWorkflow(
  connection: SpoolConnection,
  start: WorkflowStart,
  options: PublishOptions = {},
): Promise<SubmitOutcome> {
  const { js, ns } = internals(connection);
  const ack = await retryUnknownOutcome(() =>
    js.publish(ns.subject(subjects.inbox(COORDINATOR)), encoder.encode(JSON.stringify(start)), {
      msgID: `workflow:${start.id}`,
      timeout: PUBLISH_ATTEMPT_MS,
      ...traceHeaders(options.trace),
    }),
  );
  return { seq: ack.seq, duplicate: ack.duplicate };
}

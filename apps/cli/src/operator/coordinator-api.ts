import {
  type DeadLetterReport,
  DeadLetterReportSchema,
  type StatusReport,
  StatusReportSchema,
  subjects,
} from '@spool/core';
import { requests, type SpoolConnection } from '@spool/jetstream';

/**
 * The coordinator's request/reply APIs (`spool.api.status`, `spool.api.dlq`,
 * `spool.api.workflows`), as the CLI commands and the console read them.
 */

/** No coordinator answered in time: the message says which subject and what to start. */
export class NoCoordinatorError extends Error {
  override readonly name = 'NoCoordinatorError';
}

/** A workflow as `spool.api.workflows` shows it (the coordinator's workflowView: JSON data). */
export type WorkflowView = Record<string, unknown> & { id?: string; workflowId?: string; status?: string };
export type WorkflowsAnswer =
  | { workflow: WorkflowView | null }
  | { workflows: WorkflowView[]; total?: number }
  | { error: { code: string; message: string } };

async function ask(connection: SpoolConnection, subject: string, body: string, timeoutMs: number) {
  let reply: string;
  try {
    reply = await requests(connection).request(subject, body, timeoutMs);
  } catch {
    throw new NoCoordinatorError(
      `no coordinator answered on ${subject} within ${Math.max(1, Math.round(timeoutMs / 1000))}s: start one with "spool coordinator" or "spool up"`,
    );
  }
  try {
    return JSON.parse(reply) as unknown;
  } catch {
    throw new Error(`the coordinator's answer on ${subject} is not JSON`);
  }
}

export async function fetchStatus(connection: SpoolConnection, timeoutMs = 3_000): Promise<StatusReport> {
  return StatusReportSchema.parse(await ask(connection, subjects.status, '{}', timeoutMs));
}

export async function fetchDeadLetters(
  connection: SpoolConnection,
  timeoutMs = 3_000,
): Promise<DeadLetterReport> {
  return DeadLetterReportSchema.parse(await ask(connection, subjects.deadLetters, '{}', timeoutMs));
}

/** `{}` → the workflows (running first, then newest); `{id}` → one workflow's steps and tasks. */
export async function askWorkflows(
  connection: SpoolConnection,
  id: string | undefined,
  timeoutMs: number,
): Promise<WorkflowsAnswer> {
  const body = JSON.stringify(id === undefined ? {} : { id });
  return (await ask(connection, subjects.workflows, body, timeoutMs)) as WorkflowsAnswer;
}

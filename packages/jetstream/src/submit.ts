import { subjects, type TaskMessage } from '@spool/core';
import { PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { encoder, internals } from './internal.ts';
import type { SpoolConnection, SubmitOutcome } from './types.ts';

/** Publishes a task on `spool.inbox.<agent>`; the same id within the dedup window is stored once. */
export async function submitTask(
  connection: SpoolConnection,
  agent: string,
  task: TaskMessage,
): Promise<SubmitOutcome> {
  const { js } = internals(connection);
  const ack = await retryUnknownOutcome(() =>
    js.publish(subjects.inbox(agent), encoder.encode(JSON.stringify(task)), {
      msgID: `task:${agent}:${task.id}`,
      timeout: PUBLISH_ATTEMPT_MS,
    }),
  );
  return { seq: ack.seq, duplicate: ack.duplicate };
}

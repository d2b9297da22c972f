import { ErrorCode, parseTaskMessage, zeroUsage } from '@spool/core/internal';
import type { InboxMessage, Results } from '@spool/jetstream';
import type { Logger } from 'pino';

/**
 * A message for a key outside the documented set: no instance may have it (its history subject
 * and records need a valid key). A task gets a `rejected` result on the subject it names,
 * `spool.results.<agent>.<key>.<id>` (never journaled: there is no instance), and a command is
 * refused in the log. Both are acked: the agent goes on.
 */
export async function rejectBadKey(options: {
  agent: string;
  key: string;
  problem: string;
  kind: 'task' | 'control';
  message: InboxMessage;
  results: Pick<Results, 'publish'>;
  logger: Logger;
}): Promise<void> {
  const { agent, key, problem, message, logger } = options;
  if (options.kind === 'control') {
    logger.warn({ subject: message.subject, controlSeq: message.seq }, `control message refused: ${problem}`);
    await message.ack();
    return;
  }
  const parsed = parseTaskMessage(message.data, message.seq);
  const taskId = parsed.ok ? parsed.task.id : parsed.taskId;
  const now = new Date().toISOString();
  await options.results.publish({
    taskId,
    agent,
    key,
    status: 'rejected',
    error: {
      code: ErrorCode.InvalidKey,
      message: `${problem}; send it to spool.inbox.${agent}.<key> with a valid key`,
    },
    usage: zeroUsage(),
    steps: 0,
    attempts: 0,
    receivedAt: now,
    finishedAt: now,
    ...(parsed.ok && parsed.task.meta !== undefined ? { meta: parsed.task.meta } : {}),
  });
  logger.warn(
    { subject: message.subject, taskId, inboxSeq: message.seq },
    `inbox message rejected: ${problem}`,
  );
  await message.ack();
}

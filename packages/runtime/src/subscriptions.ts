import { type AgentSpec, TaskResultSchema } from '@spool/core/internal';
import type { Inbox, InboxMessage } from '@spool/jetstream';

type Subscription = AgentSpec['subscriptions'][number];

/**
 * Turns a subscription's result messages into task messages, so they take the inbox's path
 * (journaled, exactly once by id, acknowledged when done). The task id is
 * `<subscription>-<stream sequence>`: a redelivered result is the same task. A result that
 * is not `completed` (with `onlyCompleted`) or not a result at all is acknowledged and skipped.
 */
export function subscriptionTasks(source: Inbox, subscription: Subscription): Inbox {
  return {
    ...source,
    async fetch(max, expiresMs, signal) {
      const messages = await source.fetch(max, expiresMs, signal);
      const tasks: InboxMessage[] = [];
      for (const message of messages) {
        const task = toTask(message, subscription);
        if (task === undefined) await message.ack();
        else tasks.push({ ...message, data: JSON.stringify(task) });
      }
      return tasks;
    },
  };
}

function toTask(message: InboxMessage, subscription: Subscription) {
  let result: ReturnType<typeof TaskResultSchema.parse>;
  try {
    result = TaskResultSchema.parse(JSON.parse(message.data));
  } catch {
    return undefined;
  }
  if (subscription.onlyCompleted && result.status !== 'completed') return undefined;
  const values: Record<string, string> = {
    output: result.output ?? '',
    taskId: result.taskId,
    agent: result.agent,
    status: result.status,
    subject: `spool.results.${result.agent}.${result.taskId}`,
  };
  const input = subscription.input.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
  return {
    id: `${subscription.name}-${message.seq}`,
    input,
    meta: { subscription: subscription.name, from: { agent: result.agent, taskId: result.taskId } },
  };
}

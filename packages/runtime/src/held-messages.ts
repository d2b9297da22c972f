import type { InboxMessage } from '@spool/jetstream';

/**
 * Inbox messages of the tasks a term has taken, held until the task's result is published
 * (then acked): a process that dies before that leaves them to be redelivered.
 */
export class HeldMessages {
  private readonly byTask = new Map<string, InboxMessage[]>();

  hold(taskId: string, message: InboxMessage): void {
    const list = this.byTask.get(taskId);
    if (list === undefined) this.byTask.set(taskId, [message]);
    else list.push(message);
  }

  has(taskId: string): boolean {
    return this.byTask.has(taskId);
  }

  /** The task's messages, no longer held (to ack once its result is out). */
  release(taskId: string): InboxMessage[] {
    const messages = this.byTask.get(taskId) ?? [];
    this.byTask.delete(taskId);
    return messages;
  }

  /** Tells the server each held message is still being worked on (below its ack wait). */
  keepAlive(): void {
    for (const list of this.byTask.values()) for (const message of list) message.working();
  }

  /** Hands every held message back: a task already journaled is recognised on redelivery. */
  handBack(): void {
    for (const list of this.byTask.values()) for (const message of list) message.nak();
    this.byTask.clear();
  }
}

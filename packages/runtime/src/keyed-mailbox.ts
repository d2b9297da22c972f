import type { Inbox, InboxMessage } from '@spool/jetstream';

/**
 * An in-memory inbox for one instance of a keyed agent: its host routes the messages of the
 * agent's shared consumer here by key. The messages are the consumer's own: acking one acks
 * the real message. `outstanding` counts those taken and not yet acked or handed back, so the
 * host passivates an instance only once nothing is on its way into the history. Messages
 * waiting here (their instance busy, or still replaying) are kept from redelivery every
 * `keepAliveMs`: a redelivery would count toward the poison limit.
 */
export class Mailbox implements Inbox {
  private readonly queue: InboxMessage[] = [];
  private waiter: (() => void) | undefined;
  private taken = 0;
  private closed = false;
  private keeper: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly keepAliveMs = 5_000) {}

  /** Messages waiting plus messages taken and not yet settled. */
  get outstanding(): number {
    return this.queue.length + this.taken;
  }

  push(message: InboxMessage): void {
    if (this.closed) {
      message.nak();
      return;
    }
    this.queue.push(message);
    this.keeper ??= setInterval(() => {
      for (const waiting of this.queue) waiting.working();
    }, this.keepAliveMs);
    this.wake();
  }

  async fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<InboxMessage[]> {
    if (this.queue.length === 0 && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.waiter = undefined;
          resolve();
        };
        const timer = setTimeout(done, expiresMs);
        signal?.addEventListener('abort', done, { once: true });
        this.waiter = done;
      });
    }
    if (signal?.aborted) return [];
    const taken = this.queue.splice(0, Math.max(1, max)).map((m) => this.track(m));
    this.stopKeeping();
    return taken;
  }

  async pending(): Promise<{ queued: number; unacked: number }> {
    return { queued: this.queue.length, unacked: this.taken };
  }

  /** Nothing to reclaim: the shared consumer redelivers what a dead host held. */
  async reclaim(): Promise<number> {
    return 0;
  }

  /** The instance stopped: what it never took goes back to the shared consumer. */
  close(): void {
    this.closed = true;
    for (const message of this.queue.splice(0)) message.nak();
    this.stopKeeping();
    this.wake();
  }

  private stopKeeping(): void {
    if (this.queue.length > 0 || this.keeper === undefined) return;
    clearInterval(this.keeper);
    this.keeper = undefined;
  }

  private wake(): void {
    this.waiter?.();
  }

  private track(message: InboxMessage): InboxMessage {
    this.taken += 1;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.taken -= 1;
    };
    return {
      seq: message.seq,
      subject: message.subject,
      deliveryCount: message.deliveryCount,
      data: message.data,
      // Its trace context goes on to the task (journaled with task.received), as an agent's does.
      ...(message.trace === undefined ? {} : { trace: message.trace }),
      ack: async () => {
        try {
          await message.ack();
        } finally {
          settle();
        }
      },
      working: () => message.working(),
      nak: (delayMs) => {
        settle();
        message.nak(delayMs);
      },
    };
  }
}

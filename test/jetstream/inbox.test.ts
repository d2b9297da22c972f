import { type InboxMessage, inboxPending, openInbox, submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../support/world.ts';

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker?.close());

const idsOf = (messages: InboxMessage[]) => messages.map((m) => (JSON.parse(m.data) as { id: string }).id);

/** Fetches until `count` messages arrived or a fetch comes back empty. */
async function fetchAll(
  inbox: Awaited<ReturnType<typeof openInbox>>,
  count: number,
): Promise<InboxMessage[]> {
  const out: InboxMessage[] = [];
  while (out.length < count) {
    const batch = await inbox.fetch(count - out.length, 1_000);
    if (batch.length === 0) break;
    out.push(...batch);
  }
  return out;
}

describe('inbox', () => {
  it('stores a task id submitted twice once, and an acked task is gone', async () => {
    const first = await submitTask(broker.connection, 'once', { id: 'a', input: 'x' });
    const again = await submitTask(broker.connection, 'once', { id: 'a', input: 'x' });
    expect(again).toEqual({ seq: first.seq, duplicate: true });

    // Counting before any consumer exists creates none.
    expect(await inboxPending(broker.connection, 'once')).toEqual({ queued: 1, unacked: 0 });
    const inbox = await openInbox(broker.connection, 'once');
    const [message, ...rest] = await inbox.fetch(10, 1_000);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ seq: first.seq, deliveryCount: 1 });
    expect(await inbox.pending()).toEqual({ queued: 0, unacked: 1 });
    await message?.ack();
    expect(await inbox.pending()).toEqual({ queued: 0, unacked: 0 });
    expect(await inboxPending(broker.connection, 'once')).toEqual({ queued: 0, unacked: 0 });
  });

  it('redelivers a message that was not acked within the ack wait', async () => {
    await submitTask(broker.connection, 'slow', { id: 'b', input: 'x' });
    const inbox = await openInbox(broker.connection, 'slow', { ackWaitMs: 500 });
    const [first] = await inbox.fetch(1, 1_000);
    expect(first?.deliveryCount).toBe(1);
    const [second] = await inbox.fetch(1, 3_000);
    expect(second).toMatchObject({ seq: first?.seq, deliveryCount: 2 });
    await second?.ack();
  });

  it('reclaim makes what a dead holder had pulled deliverable at once, not after the ack wait', async () => {
    for (const id of ['c-1', 'c-2', 'c-3'])
      await submitTask(broker.connection, 'reclaimed', { id, input: 'x' });
    const dead = await openInbox(broker.connection, 'reclaimed', { ackWaitMs: 60_000 });
    const pulled = await fetchAll(dead, 2); // then the holder "dies" without acking
    expect(idsOf(pulled)).toEqual(['c-1', 'c-2']);

    const successor = await openInbox(broker.connection, 'reclaimed', { ackWaitMs: 60_000 });
    expect(await successor.reclaim()).toBe(2);
    const started = Date.now();
    const redelivered = await fetchAll(successor, 3);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(idsOf(redelivered)).toEqual(['c-1', 'c-2', 'c-3']);
    for (const m of redelivered) await m.ack();
    expect(await successor.reclaim()).toBe(0); // nothing unacked: the consumer is left alone
  });

  it('two processes of one agent share the consumer: each task goes to one of them', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `d-${i}`);
    for (const id of ids) await submitTask(broker.connection, 'shared', { id, input: 'x' });
    const [a, b] = await Promise.all([
      openInbox(broker.connection, 'shared'),
      openInbox(broker.connection, 'shared'),
    ]);
    const got: InboxMessage[] = [];
    for (;;) {
      const [fromA, fromB] = await Promise.all([a.fetch(3, 1_000), b.fetch(3, 1_000)]);
      if (fromA.length + fromB.length === 0) break;
      got.push(...fromA, ...fromB);
      for (const m of [...fromA, ...fromB]) await m.ack();
    }
    expect(idsOf(got).sort()).toEqual([...ids].sort());
  });

  it('nak hands a message back for immediate redelivery', async () => {
    await submitTask(broker.connection, 'naked', { id: 'e', input: 'x' });
    const inbox = await openInbox(broker.connection, 'naked');
    const [first] = await inbox.fetch(1, 1_000);
    first?.nak();
    const [second] = await inbox.fetch(1, 2_000);
    expect(second).toMatchObject({ seq: first?.seq, deliveryCount: 2 });
    await second?.ack();
  });
});

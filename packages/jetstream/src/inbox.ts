import { AckPolicy, DeliverPolicy, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import { controlConsumerName, inboxConsumerName, Streams, subjects } from '@spool/core';
import { retryUnknownOutcome } from './errors.ts';
import { decoder, internals } from './internal.ts';
import type { Inbox, InboxMessage, InboxOptions, SpoolConnection } from './types.ts';

const CONSUMER_EXISTS = [10148, 10013];
const CONSUMER_NOT_FOUND = 10014;

/**
 * The agent's durable inbox consumer `inbox-<agent>` (explicit ack). Creating it is
 * idempotent and race-safe: two processes of one agent share it, so a task goes to one.
 */
export function openInbox(
  connection: SpoolConnection,
  agent: string,
  options: InboxOptions = {},
): Promise<Inbox> {
  return openWorkQueue(connection, inboxConsumerName(agent), subjects.inbox(agent), options);
}

/**
 * The agent's durable control consumer `control-<agent>` on `spool.control.<agent>`: pause,
 * resume and cancel wait here until the agent journals them, even while it is not running.
 */
export function openControl(
  connection: SpoolConnection,
  agent: string,
  options: InboxOptions = {},
): Promise<Inbox> {
  return openWorkQueue(connection, controlConsumerName(agent), subjects.control(agent), options);
}

async function openWorkQueue(
  connection: SpoolConnection,
  name: string,
  subject: string,
  options: InboxOptions,
): Promise<Inbox> {
  const { js, jsm } = internals(connection);
  const config = {
    durable_name: name,
    filter_subject: subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
    max_ack_pending: 1_000,
  };
  const create = () =>
    jsm.consumers.add(Streams.Inbox, config).catch((e) => {
      if (e instanceof JetStreamApiError && CONSUMER_EXISTS.includes(e.code)) return;
      throw e;
    });
  await jsm.consumers.info(Streams.Inbox, name).catch(async (err) => {
    if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
    await create();
  });
  let consumer = await js.consumers.get(Streams.Inbox, name);

  return {
    async fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<InboxMessage[]> {
      if (signal?.aborted) return [];
      const batch = await consumer.fetch({ max_messages: max, expires: Math.max(1_000, expiresMs) });
      const onAbort = () => batch.stop();
      signal?.addEventListener('abort', onAbort, { once: true });
      const out: InboxMessage[] = [];
      try {
        for await (const m of batch) out.push(wrap(m));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      return out;
    },
    async pending() {
      const info = await jsm.consumers.info(Streams.Inbox, name);
      return { queued: info.num_pending, unacked: info.num_ack_pending };
    },
    async reclaim() {
      // nats-server 2.9 cannot reset a consumer's pending acks; the inbox is a work queue, so
      // an acked message is gone from the stream and a recreated consumer delivers exactly
      // the unacked ones. Tasks already journaled are recognised by id on redelivery.
      const info = await jsm.consumers.info(Streams.Inbox, name);
      if (info.num_ack_pending === 0) return 0;
      await jsm.consumers.delete(Streams.Inbox, name).catch((e) => {
        if (!(e instanceof JetStreamApiError && e.code === CONSUMER_NOT_FOUND)) throw e;
      });
      await create();
      consumer = await js.consumers.get(Streams.Inbox, name);
      return info.num_ack_pending;
    },
  };
}

function wrap(m: JsMsg): InboxMessage {
  return {
    seq: m.info.streamSequence,
    deliveryCount: m.info.deliveryCount,
    data: decoder.decode(m.data),
    // A confirmed ack: retried while the outcome is unknown (an ack is idempotent).
    ack: async () => {
      await retryUnknownOutcome(() => m.ackAck().then(() => undefined), 30_000);
    },
    working: () => m.working(),
    nak: (delayMs?: number) => m.nak(delayMs),
  };
}

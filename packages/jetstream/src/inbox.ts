import { AckPolicy, DeliverPolicy, JetStreamApiError, type JsMsg } from '@nats-io/jetstream';
import { controlConsumerName, inboxConsumerName, Streams, subjects } from '@spool/core/internal';
import { retryUnknownOutcome } from './errors.ts';
import { decoder, internals } from './internal.ts';
import { traceOf } from './trace-headers.ts';
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
  return openDurable(connection, Streams.Inbox, inboxConsumerName(agent), subjects.inbox(agent), options);
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
  return openDurable(connection, Streams.Inbox, controlConsumerName(agent), subjects.control(agent), options);
}

/**
 * A keyed agent's inbox: the one durable consumer `inbox-<agent>` on `spool.inbox.<agent>.*`
 * (every key), shared by the processes that host its instances. It never overlaps a plain
 * agent's `spool.inbox.<agent>` (one token fewer).
 */
export function openKeyedInbox(
  connection: SpoolConnection,
  agent: string,
  options: InboxOptions = {},
): Promise<Inbox> {
  return openDurable(
    connection,
    Streams.Inbox,
    inboxConsumerName(agent),
    subjects.keyedInbox(agent, '*'),
    // Acked once journaled: a lost ack is a redelivery the instance knows by its task id.
    { confirmAcks: false, ...options },
  );
}

/** A keyed agent's commands for every key: `control-<agent>` on `spool.control.<agent>.*`. */
export function openKeyedControl(
  connection: SpoolConnection,
  agent: string,
  options: InboxOptions = {},
): Promise<Inbox> {
  return openDurable(
    connection,
    Streams.Inbox,
    controlConsumerName(agent),
    subjects.keyedControl(agent, '*'),
    options,
  );
}

/**
 * An agent's durable consumer `sub-<agent>-<name>` on other agents' results (`subject` under
 * `spool.results.>`): each result published after the subscription first ran is delivered
 * once, acknowledged when the task made of it is done.
 */
export function openSubscription(
  connection: SpoolConnection,
  agent: string,
  name: string,
  subject: string,
  options: InboxOptions = {},
): Promise<Inbox> {
  if (!subject.startsWith('spool.results.'))
    throw new Error(
      `subscription ${name}: only spool.results.> subjects can be subscribed to (got ${subject})`,
    );
  return openDurable(
    connection,
    Streams.Results,
    `sub-${agent}-${name}`,
    subject,
    options,
    DeliverPolicy.New,
  );
}

async function openDurable(
  connection: SpoolConnection,
  logicalStream: string,
  name: string,
  subject: string,
  options: InboxOptions,
  from: DeliverPolicy = DeliverPolicy.All,
): Promise<Inbox> {
  const { js, jsm, ns } = internals(connection);
  const stream = ns.stream(logicalStream);
  const config = {
    durable_name: name,
    filter_subject: ns.subject(subject),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: from,
    ack_wait: (options.ackWaitMs ?? 30_000) * 1_000_000,
    max_ack_pending: 1_000,
  };
  const create = (startSeq?: number) =>
    jsm.consumers
      .add(
        stream,
        startSeq === undefined
          ? config
          : { ...config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq },
      )
      .catch((e) => {
        if (e instanceof JetStreamApiError && CONSUMER_EXISTS.includes(e.code)) return;
        throw e;
      });
  await jsm.consumers.info(stream, name).catch(async (err) => {
    if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
    await create();
  });
  let consumer = await js.consumers.get(stream, name);

  /** The messages pulled, and how many more the consumer had waiting as the last was delivered. */
  async function pull(
    max: number,
    expiresMs: number,
    signal?: AbortSignal,
  ): Promise<{ messages: InboxMessage[]; pending: number }> {
    if (signal?.aborted) return { messages: [], pending: 0 };
    const batch = await consumer.fetch({ max_messages: max, expires: Math.max(1_000, expiresMs) });
    const onAbort = () => batch.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    const messages: InboxMessage[] = [];
    let pending = 0;
    try {
      for await (const m of batch) {
        messages.push(wrap(m, ns.logical(m.subject), options.confirmAcks !== false));
        pending = m.info.pending;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { messages, pending };
  }

  return {
    async fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<InboxMessage[]> {
      // A pull for `max` stays open until `max` arrive or it expires, so one task arriving at
      // an idle agent would wait out the expiry. Wait for the first alone, then take what is
      // already queued behind it (a sibling sharing the consumer may take some: short expiry).
      // The first message says how many wait behind it (its delivery's `pending`): no round
      // trip to ask the consumer.
      const first = await pull(1, expiresMs, signal);
      if (first.messages.length === 0 || max === 1) return first.messages;
      const more = Math.min(max - 1, first.pending);
      return more === 0 ? first.messages : [...first.messages, ...(await pull(more, 1_000, signal)).messages];
    },
    async pending() {
      const info = await jsm.consumers.info(stream, name);
      return { queued: info.num_pending, unacked: info.num_ack_pending };
    },
    async reclaim() {
      // nats-server 2.9 cannot reset a consumer's pending acks: recreate it from the first
      // unacknowledged sequence. (In the work-queue inbox acked messages are gone anyway.)
      // Anything delivered twice is recognised by its task id.
      const info = await jsm.consumers.info(stream, name);
      if (info.num_ack_pending === 0) return 0;
      await jsm.consumers.delete(stream, name).catch((e) => {
        if (!(e instanceof JetStreamApiError && e.code === CONSUMER_NOT_FOUND)) throw e;
      });
      // A work-queue stream only takes deliver-all consumers (its acked messages are gone).
      await create(logicalStream === Streams.Inbox ? undefined : info.ack_floor.stream_seq + 1);
      consumer = await js.consumers.get(stream, name);
      return info.num_ack_pending;
    },
  };
}

function wrap(m: JsMsg, subject: string, confirm: boolean): InboxMessage {
  const trace = traceOf(m.headers);
  return {
    seq: m.info.streamSequence,
    subject,
    deliveryCount: m.info.deliveryCount,
    data: decoder.decode(m.data),
    ...(trace === undefined ? {} : { trace }),
    // A confirmed ack: retried while the outcome is unknown (an ack is idempotent).
    ack: confirm
      ? async () => {
          await retryUnknownOutcome(() => m.ackAck().then(() => undefined), 30_000);
        }
      : async () => m.ack(),
    working: () => m.working(),
    nak: (delayMs?: number) => m.nak(delayMs),
  };
}

import { JetStreamApiError } from '@nats-io/jetstream';
import { inboxConsumerName, Streams, subjects } from '@spool/core/internal';
import { internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

const CONSUMER_NOT_FOUND = 10014;

/**
 * How many messages wait in an agent's inbox, without creating anything: read from its
 * consumer when the agent has run, else counted on the inbox subject (nothing taken yet).
 */
export async function inboxPending(
  connection: SpoolConnection,
  agent: string,
  /** A keyed agent: its inbox is every key's, `spool.inbox.<agent>.*`. */
  options: { keyed?: boolean } = {},
): Promise<{ queued: number; unacked: number }> {
  const { jsm, ns } = internals(connection);
  const stream = ns.stream(Streams.Inbox);
  try {
    const info = await jsm.consumers.info(stream, inboxConsumerName(agent));
    return { queued: info.num_pending, unacked: info.num_ack_pending };
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
    const subject = ns.subject(options.keyed ? subjects.keyedInbox(agent, '*') : subjects.inbox(agent));
    const info = await jsm.streams.info(stream, { subjects_filter: subject });
    const counts = Object.values(info.state.subjects ?? {});
    return { queued: counts.reduce((total, n) => total + n, 0), unacked: 0 };
  }
}

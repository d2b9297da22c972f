import { DeliverPolicy } from '@nats-io/jetstream';
import { agentOfHistorySubject, parseCommit, type StoredCommit, Streams, subjects } from '@spool/core';
import { decoder, internals } from './internal.ts';
import { watchStream } from './stream-watch.ts';
import type { ConnectionLogger, HistoryFollow, HistoryWatch, SpoolConnection } from './types.ts';

/**
 * Every commit of every agent's history (`spool.history.>`), from the start, then live.
 * An invalid commit is skipped with a warning.
 */
export function watchHistories(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
): Promise<HistoryWatch> {
  return watchStream<{ agent: string; commit: StoredCommit }>(
    connection,
    {
      stream: Streams.History,
      filter: subjects.allHistories,
      what: 'history commit',
      parse: (subject, seq, time, data) => {
        const agent = agentOfHistorySubject(subject);
        if (agent === undefined) return undefined;
        return { agent, commit: { seq, time: time.toISOString(), events: parseCommit(data).events } };
      },
    },
    logger,
  );
}

/**
 * One agent's history commits (`spool.history.<agent>`) from stream sequence `fromSeq` on,
 * live, through one ordered consumer (for `spool run --wait`'s progress: take `lastSeq + 1`
 * before acting, so nothing after is missed and nothing before is shown). An invalid commit
 * is skipped with a warning. Never ends by itself: call `stop()`.
 */
export async function followHistory(
  connection: SpoolConnection,
  agent: string,
  fromSeq: number,
  logger?: ConnectionLogger,
): Promise<HistoryFollow> {
  const { js } = internals(connection);
  const consumer = await js.consumers.get(Streams.History, {
    filter_subjects: subjects.history(agent),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, fromSeq),
  });
  // Short pulls, as in watchStream: after a broker restart the follow resumes within seconds.
  const messages = await consumer.consume({ max_messages: 1_000, expires: 2_000 });

  async function* iterate(): AsyncGenerator<StoredCommit> {
    for await (const m of messages) {
      try {
        const events = parseCommit(JSON.parse(decoder.decode(m.data))).events;
        yield { seq: m.seq, time: m.time.toISOString(), events };
      } catch (err) {
        logger?.warn(
          { subject: m.subject, seq: m.seq, err: String(err).slice(0, 300) },
          'skipping an invalid history commit',
        );
      }
    }
  }

  return {
    [Symbol.asyncIterator]: () => iterate(),
    stop: async () => {
      messages.stop();
      await consumer.delete().catch(() => undefined);
    },
  };
}

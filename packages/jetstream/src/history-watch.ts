import { DeliverPolicy } from '@nats-io/jetstream';
import { agentOfHistorySubject, parseCommit, Streams, type StoredCommit, subjects } from '@spool/core';
import { decoder, internals } from './internal.ts';
import type { ConnectionLogger, HistoryWatch, SpoolConnection } from './types.ts';

/**
 * Every commit of every agent's history, from the start and then live, through one
 * ordered consumer on `spool.history.>`. `caughtUp` resolves once everything that existed
 * at start has been delivered. An invalid commit is skipped with a warning.
 */
export async function watchHistories(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
): Promise<HistoryWatch> {
  const { js, jsm } = internals(connection);
  const lastAtStart = (await jsm.streams.info(Streams.History)).state.last_seq;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => {
    markCaughtUp = resolve;
  });
  if (lastAtStart === 0) markCaughtUp();
  const consumer = await js.consumers.get(Streams.History, {
    filter_subjects: subjects.allHistories,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume({ max_messages: 1_000 });

  async function* iterate(): AsyncGenerator<{ agent: string; commit: StoredCommit; caughtUp: boolean }> {
    for await (const m of messages) {
      const agent = agentOfHistorySubject(m.subject);
      const reachedStart = m.seq >= lastAtStart;
      if (agent !== undefined) {
        try {
          const { events } = parseCommit(JSON.parse(decoder.decode(m.data)));
          yield { agent, commit: { seq: m.seq, time: m.time.toISOString(), events }, caughtUp: reachedStart };
        } catch (err) {
          logger?.warn(
            { subject: m.subject, seq: m.seq, err: String(err).slice(0, 300) },
            'skipping an invalid history commit',
          );
        }
      }
      if (reachedStart) markCaughtUp();
    }
  }

  return {
    caughtUp,
    [Symbol.asyncIterator]: () => iterate(),
    stop: async () => {
      messages.stop();
      await consumer.delete().catch(() => undefined);
    },
  };
}

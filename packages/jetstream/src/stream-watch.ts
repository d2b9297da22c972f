import { DeliverPolicy } from '@nats-io/jetstream';
import { decoder, internals } from './internal.ts';
import type { ConnectionLogger, SpoolConnection, StreamWatch } from './types.ts';

/** How long one pull of a watch waits; after a broker restart the watch resumes within about this long (a pull every 2 s of an idle watch costs nothing that matters). */
const PULL_EXPIRES_MS = 2_000;

export interface StreamWatchSpec<T> {
  readonly stream: string;
  readonly filter: string;
  /** Turns one message into an item, or throws (the message is skipped with a warning). */
  readonly parse: (subject: string, seq: number, time: Date, data: unknown) => T | undefined;
  /** What the skipped messages are, for the warning. */
  readonly what: string;
  /** Start at this stream sequence instead of the first message (then `caughtUp` means nothing). */
  readonly fromSeq?: number;
}

/**
 * Every message of `filter` in `stream`, from the start and then live, through one ordered
 * consumer. `caughtUp` resolves once everything that existed at start has been delivered.
 */
export async function watchStream<T>(
  connection: SpoolConnection,
  spec: StreamWatchSpec<T>,
  logger?: ConnectionLogger,
): Promise<StreamWatch<T>> {
  const { js, jsm } = internals(connection);
  const info = await jsm.streams.info(spec.stream, { subjects_filter: spec.filter });
  // The last sequence of the whole stream bounds the catch-up: later messages are live.
  const lastAtStart = info.state.last_seq;
  const hasAny = Object.keys(info.state.subjects ?? {}).length > 0;
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => {
    markCaughtUp = resolve;
  });
  if (!hasAny) markCaughtUp();
  const consumer = await js.consumers.get(
    spec.stream,
    spec.fromSeq === undefined
      ? { filter_subjects: spec.filter, deliver_policy: DeliverPolicy.All }
      : {
          filter_subjects: spec.filter,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(1, spec.fromSeq),
        },
  );
  // A pull made just before a broker restart is lost with it, and the client only pulls again
  // when that pull expires (30 s by default): keep pulls short so a watch resumes within seconds.
  const messages = await consumer.consume({ max_messages: 1_000, expires: PULL_EXPIRES_MS });

  async function* iterate(): AsyncGenerator<T> {
    for await (const m of messages) {
      try {
        const item = spec.parse(m.subject, m.seq, m.time, JSON.parse(decoder.decode(m.data)));
        if (item !== undefined) yield item;
      } catch (err) {
        logger?.warn(
          { subject: m.subject, seq: m.seq, err: String(err).slice(0, 300) },
          `skipping an invalid ${spec.what}`,
        );
      }
      // Pending 0 means nothing older is still to come, even if the last message at start was elsewhere.
      if (m.seq >= lastAtStart || m.info.pending === 0) markCaughtUp();
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

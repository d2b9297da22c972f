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
  /**
   * Start at this stream sequence, or after the stream's last message (`'now'`), instead of
   * the first message: then nothing older is delivered and `caughtUp` resolves at once.
   */
  readonly from?: number | 'now';
  /**
   * Resume after this stream sequence (what a snapshot already holds): messages after it are
   * delivered, and `caughtUp` resolves once those that existed at start have been.
   */
  readonly after?: number;
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
  const { js, jsm, ns } = internals(connection);
  const stream = ns.stream(spec.stream);
  const filter = ns.subject(spec.filter);
  let markCaughtUp: () => void = () => undefined;
  const caughtUp = new Promise<void>((resolve) => {
    markCaughtUp = resolve;
  });
  // With a start given there is no catch-up, so no per-subject counts to ask for (on the
  // results stream, one subject per task ever: a reply that only grows).
  let lastAtStart = 0;
  let startSeq: number | undefined;
  if (spec.after !== undefined) {
    startSeq = spec.after + 1;
    lastAtStart = (await jsm.streams.info(stream)).state.last_seq;
    if (lastAtStart <= spec.after) markCaughtUp();
  } else if (spec.from === undefined) {
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    // The last sequence of the whole stream bounds the catch-up: later messages are live.
    lastAtStart = info.state.last_seq;
    if (Object.keys(info.state.subjects ?? {}).length === 0) markCaughtUp();
  } else {
    startSeq = spec.from === 'now' ? (await jsm.streams.info(stream)).state.last_seq + 1 : spec.from;
    markCaughtUp();
  }
  const consumer = await js.consumers.get(
    stream,
    startSeq === undefined
      ? { filter_subjects: filter, deliver_policy: DeliverPolicy.All }
      : {
          filter_subjects: filter,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: Math.max(1, startSeq),
        },
  );
  // A pull made just before a broker restart is lost with it, and the client only pulls again
  // when that pull expires (30 s by default): keep pulls short so a watch resumes within seconds.
  const messages = await consumer.consume({ max_messages: 1_000, expires: PULL_EXPIRES_MS });

  async function* iterate(): AsyncGenerator<T> {
    for await (const m of messages) {
      try {
        const item = spec.parse(ns.logical(m.subject), m.seq, m.time, JSON.parse(decoder.decode(m.data)));
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

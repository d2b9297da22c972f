import { randomBytes } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import {
  CommitTooLargeError,
  ConcurrencyError,
  commitId,
  commitSchemaVersion,
  parseCommit,
  type StoredCommit,
  Streams,
  subjects,
} from '@spool/core/internal';
import {
  isNotFound,
  isPayloadTooLarge,
  isWrongLastSequence,
  PUBLISH_ATTEMPT_MS,
  retryUnknownOutcome,
} from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { AppendResult, HistoryStore, ReplayOptions, SpoolConnection } from './types.ts';

/** What every history event has: its id, from which a commit's `Nats-Msg-Id` is derived. */
interface Event {
  readonly id: string;
}

/** Commits pulled per request during replay: big batches are the fast path (see notes). */
const REPLAY_BATCH = 2_000;

/** How long a replay waits with nothing arriving before it asks where the history ends. */
const STALL_CHECK_MS = 5_000;

/**
 * A replayed commit. The write time is text only when asked for (restores never ask), from a
 * getter on the class rather than on each commit: replay makes one of these per stored message.
 */
class ReplayedCommit<Event> implements StoredCommit<Event> {
  readonly #message: { readonly time: Date };

  constructor(
    readonly seq: number,
    readonly events: Event[],
    message: { readonly time: Date },
  ) {
    this.#message = message;
  }

  get time(): string {
    return this.#message.time.toISOString();
  }

  toJSON(): StoredCommit<Event> {
    return { seq: this.seq, time: this.time, events: this.events };
  }
}

/** Where a family of histories lives: a stream and one subject per history name. */
interface HistoryPlace {
  readonly stream: string;
  readonly subject: (name: string) => string;
  readonly all: string;
}

const AGENT_HISTORIES: HistoryPlace = {
  stream: Streams.History,
  subject: subjects.history,
  all: subjects.allHistories,
};

/**
 * Keyed agents' instances (`<agent>.<key>`) on `spool.keyed.<agent>.<key>` in SPOOL_KEYED: the
 * same append-only contract, in a stream an admin may purge one instance of (erasure).
 */
export function keyedHistoryStore<Event extends { readonly id: string }>(
  connection: SpoolConnection,
  parse: (json: unknown) => { events: Event[] },
): HistoryStore<Event> {
  return historyIn(connection, parse, {
    stream: Streams.Keyed,
    subject: subjects.keyedHistory,
    all: subjects.allKeyed,
  });
}

/**
 * The histories on a connection. `parse` reads one stored commit and says which events a
 * history holds (core's `parseAgentCommit`, `parseCoordinatorCommit`); the default reads any.
 */
export function historyStore(connection: SpoolConnection): HistoryStore;
export function historyStore<Event extends { readonly id: string }>(
  connection: SpoolConnection,
  parse: (json: unknown) => { events: Event[] },
): HistoryStore<Event>;
export function historyStore(
  connection: SpoolConnection,
  parse: (json: unknown) => { events: Event[] } = parseCommit,
): HistoryStore<Event> {
  return historyIn(connection, parse, AGENT_HISTORIES);
}

function historyIn<Event extends { readonly id: string }>(
  connection: SpoolConnection,
  parse: (json: unknown) => { events: Event[] },
  place: HistoryPlace,
): HistoryStore<Event> {
  const { js, jsm, ns } = internals(connection);
  const stream = ns.stream(place.stream);
  /**
   * The version of the parser's schema (`commitSchemaVersion`), computed on first use: each
   * commit this store writes is validated and says so in its `schema` field; only the
   * history's own writer may publish on its subject (permissions.ts).
   */
  let version: string | null | undefined;
  const versionOf = () => {
    version ??= commitSchemaVersion(parse) ?? null;
    return version;
  };

  /**
   * One stored message's events: checked in full unless our own writer checked them under the
   * same schema. A message that is not a valid commit throws with its sequence.
   */
  function eventsOf(agent: string, seq: number, data: Uint8Array): Event[] {
    try {
      const json = JSON.parse(decoder.decode(data)) as { v?: unknown; schema?: unknown; events?: unknown };
      const own = versionOf();
      if (
        own !== null &&
        json.schema === own &&
        json.v === 1 &&
        Array.isArray(json.events) &&
        json.events.length > 0
      )
        return json.events as Event[];
      return parse(json).events;
    } catch (err) {
      throw new Error(
        `history of ${agent}: message ${seq} is not a valid commit (${String(err).slice(0, 300)})`,
      );
    }
  }

  /** The newest message of a history: its sequence and the commit id it was stored under. */
  async function lastMessage(agent: string): Promise<{ seq: number; msgId: string | undefined } | null> {
    const subject = ns.subject(place.subject(agent));
    const last = await retryUnknownOutcome(() =>
      jsm.direct.getMessage(stream, { last_by_subj: subject }).catch((err) => {
        if (isNotFound(err)) return null;
        throw err;
      }),
    );
    return last === null ? null : { seq: last.seq, msgId: last.header?.get('Nats-Msg-Id') || undefined };
  }

  async function lastSeq(agent: string): Promise<number> {
    return (await lastMessage(agent))?.seq ?? 0;
  }

  return {
    async append(agent: string, events: readonly Event[], expectedSeq: number): Promise<AppendResult> {
      const subject = place.subject(agent);
      const own = versionOf();
      if (own !== null) {
        // Validated on write (a bug writing a bad event is refused here, not found on replay),
        // so that readers of the same schema need not check it again.
        try {
          parse({ v: 1, events });
        } catch (err) {
          throw new Error(
            `${subject}: refused to append a commit that does not match the event schema (${String(err).slice(0, 300)})`,
          );
        }
      }
      // `schema`: which schema checked it (older readers ignore the field).
      const commit = own === null ? { v: 1, events } : { v: 1, schema: own, events };
      const payload = encoder.encode(JSON.stringify(commit));
      const msgID = commitId(events);
      try {
        // Same msgID on every try: a retry of a commit that was stored is answered as a duplicate.
        const ack = await retryUnknownOutcome(() =>
          js.publish(ns.subject(subject), payload, {
            msgID,
            expect: { lastSubjectSequence: expectedSeq },
            timeout: PUBLISH_ATTEMPT_MS,
          }),
        );
        return { seq: ack.seq, duplicate: ack.duplicate };
      } catch (err) {
        if (isWrongLastSequence(err)) {
          // Our own commit, stored by an earlier try whose answer was lost, when the server no
          // longer recognises the id (a new stream leader, or past the duplicate window): the
          // server stored that try only after expectedSeq, so if it is the history's newest
          // message, it is ours and nothing came after it.
          const last = await lastMessage(agent).catch(() => null);
          if (last !== null && last.msgId === msgID) return { seq: last.seq, duplicate: true };
          throw new ConcurrencyError(subject, expectedSeq, { cause: err });
        }
        if (isPayloadTooLarge(err)) throw new CommitTooLargeError(subject, payload.length, { cause: err });
        throw err;
      }
    },

    lastSeq,

    async *replay(agent: string, options: ReplayOptions = {}): AsyncIterable<StoredCommit<Event>> {
      const fromSeq = Math.max(1, options.fromSeq ?? 1);
      const target = options.untilSeq ?? (await lastSeq(agent));
      if (target < fromSeq) return;
      const subject = ns.subject(place.subject(agent));
      // An ephemeral pull consumer on the one subject, deleted afterwards so none pile up.
      const info = await jsm.consumers.add(stream, {
        // Named, so the server sees the filter in the request subject and a role's permissions
        // can allow replaying its own history only ($JS.API.CONSUMER.CREATE.<stream>.*.<subject>).
        name: `replay_${randomBytes(8).toString('hex')}`,
        filter_subject: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: fromSeq,
        ack_policy: 'none' as never,
        inactive_threshold: 60_000_000_000,
        mem_storage: true,
      });
      const consumer = await js.consumers.get(stream, info.name);
      // Pulled ahead (a new pull when 3/4 of the buffer is used) rather than one fetch at a
      // time: the server sends while commits are folded, with no round trip between batches.
      // A consumer gone under it (a broker restart loses a memory consumer) ends it with an error
      // rather than waiting for the consumer to come back, as it never would.
      const messages = await consumer.consume({
        max_messages: REPLAY_BATCH,
        expires: 5_000,
        abort_on_missing_resource: true,
      });
      let seq = fromSeq - 1;
      // Nothing arriving for a while, yet the subject had messages up to target: the server is
      // gone or lagging, or the history was purged (a keyed instance erased) under the replay.
      let stalled: { error: unknown } | 'ended' | undefined;
      let seen = seq;
      // While the caller holds a commit, no progress is ours to explain.
      let yielded = false;
      const watchdog = setInterval(() => {
        if (seq !== seen || yielded) {
          seen = seq;
          return;
        }
        lastSeq(agent).then(
          (last) => {
            if (last <= seq) {
              stalled = 'ended';
              void messages.close();
            }
          },
          (error: unknown) => {
            stalled = { error };
            void messages.close();
          },
        );
      }, STALL_CHECK_MS);
      watchdog.unref();
      try {
        for await (const m of messages) {
          // Past the target (the subject's first commit may lie beyond it, in the shared stream): done.
          if (m.seq > target) return;
          seq = m.seq;
          const commit = new ReplayedCommit(seq, eventsOf(agent, seq, m.data), m);
          yielded = true;
          yield commit;
          yielded = false;
          if (seq >= target) return;
        }
        if (stalled === 'ended') return;
        if (typeof stalled === 'object') throw stalled.error;
        throw new Error(`history of ${agent}: replay stopped after message ${seq}, before ${target}`);
      } finally {
        clearInterval(watchdog);
        void messages.close().catch(() => undefined);
        // Not waited for: the replayed state is ready now, and the consumer's inactivity
        // threshold removes it should this delete be lost.
        void consumer.delete().catch(() => undefined);
      }
    },

    async commitAt(agent: string, seq: number): Promise<StoredCommit<Event> | undefined> {
      const m = await retryUnknownOutcome(() =>
        jsm.direct.getMessage(stream, { seq }).catch((err) => {
          if (isNotFound(err)) return null;
          throw err;
        }),
      );
      // The history stream holds every agent's subject: a sequence of another agent is not this one's.
      if (m === null || m.subject !== ns.subject(place.subject(agent))) return undefined;
      return { seq: m.seq, time: m.time.toISOString(), events: eventsOf(agent, m.seq, m.data) };
    },

    async agents(): Promise<string[]> {
      const info = await jsm.streams.info(stream, { subjects_filter: ns.subject(place.all) });
      const prefix = place.all.slice(0, -1);
      return Object.keys(info.state.subjects ?? {})
        .map((s) => ns.logical(s).slice(prefix.length))
        .sort();
    },
  };
}

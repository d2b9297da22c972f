import { CommitTooLargeError, ConcurrencyError } from '@spool/core/internal';
import type { HistoryPort } from './journal.ts';

interface StoredCommit<Event> {
  readonly name: string;
  readonly seq: number;
  readonly events: readonly Event[];
  readonly id: string;
}

/** An in-memory history store with JetStream's rules, for unit tests of actors without NATS. */
export interface MemoryHistory<Event> extends HistoryPort<Event> {
  /** One history's commits, oldest first. */
  commits(name: string): { readonly seq: number; readonly events: readonly Event[] }[];
  /** Appends made so far (every history), including refused ones. */
  readonly appends: number;
  /** Holds every append until `release()` (an append in flight, to queue commands behind). */
  hold(): void;
  release(): void;
  /** Appends as another writer would: no expected sequence. */
  appendAsOther(name: string, events: readonly Event[]): number;
}

export interface MemoryHistoryOptions<Event> {
  /** Larger commits are refused with CommitTooLargeError (NATS's max_payload). */
  readonly maxCommitBytes?: number;
  /** An event's id: a commit whose ids were stored before is a duplicate (the Nats-Msg-Id window). */
  readonly idOf?: (event: Event) => string;
}

export function memoryHistory<Event>(options: MemoryHistoryOptions<Event> = {}): MemoryHistory<Event> {
  const stored: StoredCommit<Event>[] = [];
  let seq = 0;
  let appends = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const lastSeq = (name: string) => stored.findLast((c) => c.name === name)?.seq ?? 0;
  const idOf = (events: readonly Event[]) =>
    options.idOf === undefined ? `#${seq + 1}` : events.map(options.idOf).join('|');
  const store = (name: string, events: readonly Event[], id: string) => {
    seq += 1;
    stored.push({ name, seq, events: structuredClone(events), id });
    return seq;
  };

  return {
    get appends() {
      return appends;
    },
    async append(name, events, expectedSeq) {
      appends += 1;
      await gate?.promise;
      const bytes = JSON.stringify({ v: 1, events }).length;
      if (options.maxCommitBytes !== undefined && bytes > options.maxCommitBytes)
        throw new CommitTooLargeError(`history.${name}`, bytes);
      const id = idOf(events);
      const duplicate = stored.find((c) => c.name === name && c.id === id);
      if (duplicate !== undefined) return { seq: duplicate.seq, duplicate: true };
      if (lastSeq(name) !== expectedSeq) throw new ConcurrencyError(`history.${name}`, expectedSeq);
      return { seq: store(name, events, id), duplicate: false };
    },
    async lastSeq(name) {
      return lastSeq(name);
    },
    async *replay(name, replayOptions = {}) {
      const from = replayOptions.fromSeq ?? 1;
      const until = replayOptions.untilSeq ?? Number.POSITIVE_INFINITY;
      for (const commit of stored.filter((c) => c.name === name && c.seq >= from && c.seq <= until))
        yield { seq: commit.seq, events: structuredClone(commit.events) };
    },
    async commitAt(name, at) {
      const commit = stored.find((c) => c.name === name && c.seq === at);
      return commit === undefined ? undefined : { seq: commit.seq, events: structuredClone(commit.events) };
    },
    commits: (name) => stored.filter((c) => c.name === name).map(({ seq, events }) => ({ seq, events })),
    hold() {
      let open: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
    appendAsOther: (name, events) => store(name, events, `other:${seq + 1}`),
  };
}

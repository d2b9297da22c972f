import { ensureError } from '@spool/core/internal';
import type { Logger } from 'pino';
import { applyCommit, type Decider, type SnapshotCodec } from './decider.ts';
import type { HistoryPort } from './journal.ts';

/** Where snapshots live (the jetstream package's `snapshotStore` fits). */
export interface SnapshotPort {
  /** The newest snapshot; throws when one exists but cannot be read. */
  load(
    name: string,
  ): Promise<{ readonly seq: number; readonly data: unknown; readonly takenAt: string } | undefined>;
  save(name: string, seq: number, data: unknown): Promise<unknown>;
}

/** What replay needs of an actor's logic: its fold, and its snapshot codec if it has one. */
export interface ReplayLogic<State extends { seq: number }, Event> {
  readonly decider: Pick<Decider<State, never, Event, unknown>, 'initialState' | 'evolve'>;
  readonly snapshots?: SnapshotCodec<State> | undefined;
}

export interface Restored<State> {
  readonly state: State;
  /** History sequence of the snapshot used, 0 when the whole history was replayed. */
  readonly fromSnapshot: number;
  /** Commits folded after the snapshot (or from the start), and the events they held. */
  readonly replayed: number;
  readonly events: number;
}

/**
 * Rebuilds an actor's state: the newest usable snapshot, then the history after it. A
 * snapshot that is missing, unreadable, of another state version or ahead of the history
 * is never trusted: it is reported and the whole history is replayed instead.
 *
 * The snapshot and the history's last sequence are read at once (one round trip, not two),
 * and the replay stops at that sequence without asking for it again: activating a keyed
 * agent's instance is mostly this, thousands of times.
 */
export async function restore<State extends { seq: number }, Event>(
  name: string,
  logic: ReplayLogic<State, Event>,
  store: Pick<HistoryPort<Event>, 'replay' | 'lastSeq'>,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
  /** The level of the "snapshot loaded" line (keyed instances log their lifecycle at debug). */
  level: 'info' | 'debug' = 'info',
): Promise<Restored<State>> {
  const codec = logic.snapshots;
  const [stored, last] = await Promise.all([
    snapshots === undefined || codec === undefined
      ? undefined
      : snapshots.load(name).catch((err: unknown) => ({ unreadable: ensureError(err).message })),
    store.lastSeq(name),
  ]);
  const state =
    (codec === undefined ? undefined : usableSnapshot(name, codec, stored, last, logger, level)) ??
    logic.decider.initialState(name);
  const fromSeq = state.seq;
  let replayed = 0;
  let events = 0;
  if (last > fromSeq)
    for await (const commit of store.replay(name, { fromSeq: fromSeq + 1, untilSeq: last })) {
      applyCommit(logic.decider, state, commit);
      replayed += 1;
      events += commit.events.length;
    }
  return { state, fromSnapshot: fromSeq, replayed, events };
}

type Loaded = Awaited<ReturnType<SnapshotPort['load']>> | { readonly unreadable: string };

function usableSnapshot<State extends { seq: number }>(
  name: string,
  codec: SnapshotCodec<State>,
  stored: Loaded,
  last: number,
  logger: Logger,
  level: 'info' | 'debug',
): State | undefined {
  const ignore = (why: string) => {
    logger.warn(`snapshot ignored: ${why}; replaying the whole history`);
    return undefined;
  };
  if (stored === undefined) return undefined;
  if ('unreadable' in stored) return ignore(stored.unreadable);
  const decoded = codec.decode(stored.data, name);
  if ('problem' in decoded) return ignore(decoded.problem);
  if (decoded.state.seq !== stored.seq) {
    return ignore(`it says sequence ${decoded.state.seq} but was stored as ${stored.seq}`);
  }
  if (stored.seq > last) {
    return ignore(`it was taken at sequence ${stored.seq}, past the end of the history (${last})`);
  }
  logger[level]({ snapshotSeq: stored.seq, takenAt: stored.takenAt }, 'snapshot loaded');
  return decoded.state;
}

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
 */
export async function restore<State extends { seq: number }, Event>(
  name: string,
  logic: ReplayLogic<State, Event>,
  store: Pick<HistoryPort<Event>, 'replay' | 'lastSeq'>,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
): Promise<Restored<State>> {
  const state =
    (await usableSnapshot(name, logic, store, snapshots, logger)) ?? logic.decider.initialState(name);
  const fromSeq = state.seq;
  let replayed = 0;
  let events = 0;
  for await (const commit of store.replay(name, { fromSeq: fromSeq + 1 })) {
    applyCommit(logic.decider, state, commit);
    replayed += 1;
    events += commit.events.length;
  }
  return { state, fromSnapshot: fromSeq, replayed, events };
}

async function usableSnapshot<State extends { seq: number }, Event>(
  name: string,
  logic: Pick<ReplayLogic<State, Event>, 'snapshots'>,
  store: Pick<HistoryPort<Event>, 'lastSeq'>,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
): Promise<State | undefined> {
  const codec = logic.snapshots;
  if (snapshots === undefined || codec === undefined) return undefined;
  const ignore = (why: string) => {
    logger.warn(`snapshot ignored: ${why}; replaying the whole history`);
    return undefined;
  };
  let stored: Awaited<ReturnType<SnapshotPort['load']>>;
  try {
    stored = await snapshots.load(name);
  } catch (err) {
    return ignore(ensureError(err).message);
  }
  if (stored === undefined) return undefined;
  const decoded = codec.decode(stored.data, name);
  if ('problem' in decoded) return ignore(decoded.problem);
  if (decoded.state.seq !== stored.seq) {
    return ignore(`it says sequence ${decoded.state.seq} but was stored as ${stored.seq}`);
  }
  const last = await store.lastSeq(name);
  if (stored.seq > last) {
    return ignore(`it was taken at sequence ${stored.seq}, past the end of the history (${last})`);
  }
  logger.info({ snapshotSeq: stored.seq, takenAt: stored.takenAt }, 'snapshot loaded');
  return decoded.state;
}

import { type AgentState, applyCommit, ensureError, fromSnapshot, initialState } from '@spool/core';
import type { HistoryStore } from '@spool/jetstream';
import type { Logger } from 'pino';

/** Where snapshots live (the jetstream package's `snapshotStore` fits). */
export interface SnapshotPort {
  /** The newest snapshot; throws when one exists but cannot be read. */
  load(
    agent: string,
  ): Promise<{ readonly seq: number; readonly data: unknown; readonly takenAt: string } | undefined>;
  save(agent: string, seq: number, data: unknown): Promise<unknown>;
}

export interface Restored {
  readonly state: AgentState;
  /** History sequence of the snapshot used, 0 when the whole history was replayed. */
  readonly fromSnapshot: number;
  /** Commits folded after the snapshot (or from the start), and the events they held. */
  readonly replayed: number;
  readonly events: number;
}

/**
 * Rebuilds the agent's state: the newest usable snapshot, then the history after it. A
 * snapshot that is missing, unreadable, of another state version or ahead of the history
 * is never trusted: it is reported and the whole history is replayed instead.
 */
export async function restoreState(
  agent: string,
  store: HistoryStore,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
): Promise<Restored> {
  const state = (await usableSnapshot(agent, store, snapshots, logger)) ?? initialState(agent);
  const fromSeq = state.seq;
  let replayed = 0;
  let events = 0;
  for await (const commit of store.replay(agent, { fromSeq: fromSeq + 1 })) {
    applyCommit(state, commit);
    replayed += 1;
    events += commit.events.length;
  }
  return { state, fromSnapshot: fromSeq, replayed, events };
}

async function usableSnapshot(
  agent: string,
  store: HistoryStore,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
): Promise<AgentState | undefined> {
  if (snapshots === undefined) return undefined;
  const ignore = (why: string) => {
    logger.warn(`snapshot ignored: ${why}; replaying the whole history`);
    return undefined;
  };
  let stored: Awaited<ReturnType<SnapshotPort['load']>>;
  try {
    stored = await snapshots.load(agent);
  } catch (err) {
    return ignore(ensureError(err).message);
  }
  if (stored === undefined) return undefined;
  const restored = fromSnapshot(stored.data, agent);
  if ('problem' in restored) return ignore(restored.problem);
  if (restored.state.seq !== stored.seq) {
    return ignore(`it says sequence ${restored.state.seq} but was stored as ${stored.seq}`);
  }
  const last = await store.lastSeq(agent);
  if (stored.seq > last) {
    return ignore(`it was taken at sequence ${stored.seq}, past the end of the history (${last})`);
  }
  logger.info({ snapshotSeq: stored.seq, takenAt: stored.takenAt }, 'snapshot loaded');
  return restored.state;
}

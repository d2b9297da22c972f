import { type Restored, restore, type SnapshotPort } from '@spool/actor';
import type { AgentEvent, AgentState } from '@spool/core/internal';
import type { HistoryStore } from '@spool/jetstream';
import type { Logger } from 'pino';
import { agentReplay } from './agent-logic.ts';

/**
 * Rebuilds an agent's state as a new term does: the newest usable snapshot, then the history
 * after it (the benchmark times it on its own).
 */
export function restoreState(
  agent: string,
  store: HistoryStore<AgentEvent>,
  snapshots: SnapshotPort | undefined,
  logger: Logger,
): Promise<Restored<AgentState>> {
  return restore(agent, agentReplay, store, snapshots, logger);
}

import type { DeadLetterEntry } from '@spool/core';
import { deadLettersOf, instanceName, parseAgentCommit } from '@spool/core/internal';
import { keyedFailures, keyedHistoryStore, type SpoolConnection, snapshotStore } from '@spool/jetstream';
import { restoreState } from '@spool/runtime';
import type { Logger } from 'pino';

/**
 * The dead letters of keyed agents' instances, which the coordinator does not fold (there may
 * be thousands of instances; it only counts them). The candidates are the tasks whose latest
 * result is `failed` (keyedFailures: one small message per task, no history read); only the
 * instances holding one are then restored, from their snapshot plus the tail of their history
 * as an activation does, and their `dead` map says which failures are still in the view (a
 * retried or dropped task is not). So the cost follows the number of tasks and of instances
 * with a failure, not the size of every instance's history.
 */
export async function keyedDeadLetters(
  connection: SpoolConnection,
  logger: Logger,
  agent?: string,
): Promise<DeadLetterEntry[]> {
  const failures = await keyedFailures(connection, agent);
  const instances = new Map<string, { agent: string; key: string }>();
  for (const f of failures) instances.set(instanceName(f.agent, f.key), { agent: f.agent, key: f.key });
  if (instances.size === 0) return [];
  const store = keyedHistoryStore(connection, parseAgentCommit);
  const snapshots = await snapshotStore(connection);
  // "snapshot loaded" lines are for agents' restarts, not for an operator's listing.
  const quiet = logger.child({}, { level: 'warn' });
  const entries: DeadLetterEntry[] = [];
  for (const [name, { agent: keyedAgent, key }] of instances) {
    const { state } = await restoreState(name, store, snapshots, quiet);
    entries.push(...deadLettersOf(state, keyedAgent, key));
  }
  return entries;
}

/** The coordinator's dead-letter view and the keyed instances' together, oldest failure first. */
export function mergeDeadLetters(...lists: DeadLetterEntry[][]): DeadLetterEntry[] {
  return lists.flat().sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
}

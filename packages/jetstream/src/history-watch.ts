import { agentOfHistorySubject, parseCommit, type StoredCommit, Streams, subjects } from '@spool/core';
import { watchStream } from './stream-watch.ts';
import type { ConnectionLogger, HistoryWatch, SpoolConnection } from './types.ts';

/**
 * Every commit of every agent's history (`spool.history.>`), from the start, then live.
 * An invalid commit is skipped with a warning.
 */
export function watchHistories(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
): Promise<HistoryWatch> {
  return watchStream<{ agent: string; commit: StoredCommit }>(
    connection,
    {
      stream: Streams.History,
      filter: subjects.allHistories,
      what: 'history commit',
      parse: (subject, seq, time, data) => {
        const agent = agentOfHistorySubject(subject);
        if (agent === undefined) return undefined;
        return { agent, commit: { seq, time: time.toISOString(), events: parseCommit(data).events } };
      },
    },
    logger,
  );
}

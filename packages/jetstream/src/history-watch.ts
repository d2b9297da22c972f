import {
  agentOfHistorySubject,
  parseCommit,
  type StoredCommit,
  Streams,
  subjects,
} from '@spool/core/internal';
import { watchStream } from './stream-watch.ts';
import type { ConnectionLogger, HistoryFollow, HistoryWatch, SpoolConnection } from './types.ts';

/**
 * Every commit of every agent's history (`spool.history.>`), from the start, then live.
 * An invalid commit is skipped with a warning.
 */
export function watchHistories(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
  options: { after?: number } = {},
): Promise<HistoryWatch> {
  return watchStream<{ agent: string; commit: StoredCommit }>(
    connection,
    {
      stream: Streams.History,
      filter: subjects.allHistories,
      what: 'history commit',
      ...(options.after === undefined ? {} : { after: options.after }),
      parse: (subject, seq, time, data) => {
        const agent = agentOfHistorySubject(subject);
        if (agent === undefined) return undefined;
        return { agent, commit: { seq, time: time.toISOString(), events: parseCommit(data).events } };
      },
    },
    logger,
  );
}

/**
 * One agent's history commits (`spool.history.<agent>`) from stream sequence `fromSeq` on,
 * live (for `spool run --wait`'s progress: take `lastSeq + 1` before acting, so nothing after
 * is missed and nothing before is shown). An invalid commit is skipped with a warning. Never
 * ends by itself: call `stop()`.
 */
export function followHistory(
  connection: SpoolConnection,
  agent: string,
  fromSeq: number,
  logger?: ConnectionLogger,
): Promise<HistoryFollow> {
  return watchStream<StoredCommit>(
    connection,
    {
      stream: Streams.History,
      filter: subjects.history(agent),
      what: 'history commit',
      from: fromSeq,
      parse: (_subject, seq, time, data) => ({
        seq,
        time: time.toISOString(),
        events: parseCommit(data).events,
      }),
    },
    logger,
  );
}

import { Streams, subjects, type TaskResult, TaskResultSchema } from '@spool/core/internal';
import { watchStream } from './stream-watch.ts';
import type { ConnectionLogger, ResultsWatch, SpoolConnection } from './types.ts';

/**
 * Every task result of every agent (`spool.results.>`), from the start, then live; with
 * `from: 'now'`, only those published from now on (a reader that looks up the older results
 * it needs by task id, instead of reading a stream that only grows). A result that does not
 * match the schema (someone else published on the subject) is skipped with a warning.
 */
export function watchResults(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
  options: { from?: 'start' | 'now'; after?: number } = {},
): Promise<ResultsWatch> {
  return watchStream<{ seq: number; result: TaskResult }>(
    connection,
    {
      stream: Streams.Results,
      filter: subjects.allResults,
      what: 'result',
      parse: (_subject, seq, _time, data) => ({ seq, result: TaskResultSchema.parse(data) }),
      ...(options.from === 'now' ? { from: 'now' as const } : {}),
      ...(options.after === undefined ? {} : { after: options.after }),
    },
    logger,
  );
}

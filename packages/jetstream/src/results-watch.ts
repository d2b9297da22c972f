import { Streams, subjects, type TaskResult, TaskResultSchema } from '@spool/core';
import { internals } from './internal.ts';
import { watchStream } from './stream-watch.ts';
import type { ConnectionLogger, ResultsWatch, SpoolConnection } from './types.ts';

/**
 * Every task result of every agent (`spool.results.>`), from the start, then live; with
 * `from: 'now'`, only those published from now on (a reader that looks up the older results
 * it needs by task id, instead of reading a stream that only grows). A result that does not
 * match the schema (someone else published on the subject) is skipped with a warning.
 */
export async function watchResults(
  connection: SpoolConnection,
  logger?: ConnectionLogger,
  options: { from?: 'start' | 'now' } = {},
): Promise<ResultsWatch> {
  const fromSeq =
    options.from === 'now'
      ? (await internals(connection).jsm.streams.info(Streams.Results)).state.last_seq + 1
      : undefined;
  return watchStream<{ seq: number; result: TaskResult }>(
    connection,
    {
      stream: Streams.Results,
      filter: subjects.allResults,
      what: 'result',
      parse: (_subject, seq, _time, data) => ({ seq, result: TaskResultSchema.parse(data) }),
      ...(fromSeq === undefined ? {} : { fromSeq }),
    },
    logger,
  );
}

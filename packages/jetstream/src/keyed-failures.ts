import { randomBytes } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import { Streams, subjects } from '@spool/core/internal';
import { isNotFound } from './errors.ts';
import { decoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/** A keyed instance's task whose current result says `failed`. */
export interface KeyedFailure {
  readonly agent: string;
  readonly key: string;
  readonly taskId: string;
}

/** Messages per pull: big batches are the fast path, as for a replay. */
const BATCH = 5_000;

/**
 * The keyed instances' tasks whose latest result is `failed` (of one keyed agent, or of all):
 * the candidates for the dead-letter view, read without any instance's history.
 *
 * Why the results and not SPOOL_KEYED: a dead letter is a failed task whose result is
 * published, and a retry publishes a new result on the same subject, so the last message of
 * each `spool.results.<agent>.<key>.<taskId>` (one per task, read with DeliverLastPerSubject)
 * says whether a task is failed now. That is one small message per task, where a scan of
 * SPOOL_KEYED reads every event of every instance (3 commits a task at least, replies
 * included). A dropped task keeps its failed result: the caller confirms each candidate
 * instance in its history (its `dead` map), which only instances with a failure need.
 * Keyed results have three tokens after `spool.results.` (a plain agent's have two: task ids
 * and names hold no dot), so one filter selects them.
 */
export async function keyedFailures(connection: SpoolConnection, agent?: string): Promise<KeyedFailure[]> {
  const { js, jsm, ns } = internals(connection);
  const stream = ns.stream(Streams.Results);
  const filter = ns.subject(subjects.result(`${agent ?? '*'}.*`, '*'));
  const info = await jsm.consumers
    .add(stream, {
      name: `keyed_failures_${randomBytes(8).toString('hex')}`,
      filter_subject: filter,
      deliver_policy: DeliverPolicy.LastPerSubject,
      ack_policy: 'none' as never,
      inactive_threshold: 60_000_000_000,
      mem_storage: true,
    })
    .catch((err) => {
      if (isNotFound(err)) return undefined; // no results stream yet: nothing failed
      throw err;
    });
  if (info === undefined) return [];
  const consumer = await js.consumers.get(stream, info.name);
  const failed: KeyedFailure[] = [];
  try {
    let remaining = info.num_pending;
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(BATCH, remaining), expires: 5_000 });
      let got = 0;
      for await (const m of batch) {
        got += 1;
        remaining = m.info.pending;
        const failure = failureOf(ns.logical(m.subject), m.data);
        if (failure !== undefined) failed.push(failure);
        if (remaining === 0) break;
      }
      if (got === 0) break; // the server stopped answering: what was read is what there is
    }
  } finally {
    void consumer.delete().catch(() => undefined);
  }
  return failed;
}

/** The task of one keyed result message, when that result says `failed`. */
function failureOf(subject: string, data: Uint8Array): KeyedFailure | undefined {
  const [, , agent, key, taskId] = subject.split('.');
  if (agent === undefined || key === undefined || taskId === undefined) return undefined;
  // Most results completed: only one that says "failed" somewhere is parsed.
  const text = decoder.decode(data);
  if (!text.includes('"failed"')) return undefined;
  try {
    const { status } = JSON.parse(text) as { status?: unknown };
    return status === 'failed' ? { agent, key, taskId } : undefined;
  } catch {
    return undefined; // not a result: nothing the dead-letter view can show
  }
}

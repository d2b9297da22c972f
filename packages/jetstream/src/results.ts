import { instanceName, Streams, subjects, type TaskResult, TaskResultSchema } from '@spool/core/internal';
import { isNotFound, isWrongLastSequence, PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { PublishResultOutcome, Results, SpoolConnection } from './types.ts';

/**
 * Results on `spool.results.<agent>.<taskId>`. Published with expected last subject
 * sequence 0: the subject must be empty, so a task id can never get two result messages,
 * even after the dedup window.
 */
export function results(connection: SpoolConnection): Results {
  const { nc, js, jsm, onReconnect, ns } = internals(connection);
  const stream = ns.stream(Streams.Results);

  /**
   * The newest message on the task's own result subject (a direct get, which an agent's
   * permissions allow for its own results only), or null: "no message" is the only "no".
   */
  const stored = (where: string, taskId: string) =>
    retryUnknownOutcome(() =>
      jsm.direct
        .getMessage(stream, { last_by_subj: ns.subject(subjects.result(where, taskId)) })
        .catch((err) => {
          if (isNotFound(err)) return null;
          throw err;
        }),
    );

  async function get(agent: string, taskId: string): Promise<TaskResult | undefined> {
    const message = await stored(agent, taskId);
    return message === null ? undefined : TaskResultSchema.parse(JSON.parse(decoder.decode(message.data)));
  }

  return {
    // Whether one is stored, without parsing it.
    published: async (where: string, taskId: string): Promise<boolean> =>
      (await stored(where, taskId)) !== null,

    async publish(result: TaskResult, previousSeq = 0): Promise<PublishResultOutcome> {
      // A keyed instance's results are under its key: `spool.results.<agent>.<key>.<taskId>`.
      const where = result.key === undefined ? result.agent : instanceName(result.agent, result.key);
      const subject = ns.subject(subjects.result(where, result.taskId));
      const msgID = `result:${where}:${result.taskId}${previousSeq === 0 ? '' : `:after-${previousSeq}`}`;
      try {
        const ack = await retryUnknownOutcome(() =>
          js.publish(subject, encoder.encode(JSON.stringify(result)), {
            msgID,
            expect: { lastSubjectSequence: previousSeq },
            timeout: PUBLISH_ATTEMPT_MS,
          }),
        );
        return { seq: ack.seq, alreadyPublished: ack.duplicate };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        const existing = await jsm.direct.getMessage(stream, { last_by_subj: subject });
        return { seq: existing?.seq ?? 0, alreadyPublished: true };
      }
    },

    get,

    async wait(agent: string, taskId: string, signal?: AbortSignal): Promise<TaskResult> {
      signal?.throwIfAborted();
      // Subscribe first, then look: a result published in between is seen by one or the other.
      const sub = nc.subscribe(ns.subject(subjects.result(agent, taskId)), { max: 1 });
      let stopLooking: () => void = () => undefined;
      const onAbort = () => sub.unsubscribe();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const live = (async () => {
          for await (const m of sub) return TaskResultSchema.parse(JSON.parse(decoder.decode(m.data)));
          signal?.throwIfAborted();
          throw new Error(`stopped waiting for the result of ${taskId}`);
        })();
        // Handled here because it may end (abort, unsubscribe) while `get` is still running.
        live.catch(() => undefined);
        const stored = await get(agent, taskId);
        if (stored !== undefined) {
          sub.unsubscribe();
          return stored;
        }
        // A result published while the connection was down never reaches the subscription:
        // look again after each reconnect.
        const missed = new Promise<TaskResult>((resolve) => {
          stopLooking = onReconnect(() => {
            get(agent, taskId).then(
              (found) => found && resolve(found),
              () => undefined,
            );
          });
        });
        return await Promise.race([live, missed]);
      } finally {
        stopLooking();
        sub.unsubscribe();
        signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}

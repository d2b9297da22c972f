import { subjects } from '@spool/core/internal';
import { decoder, encoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/** One piece of a task's reply text, as it streams from the model. */
export interface TextChunk {
  readonly step: number;
  readonly text: string;
}

/**
 * A task's reply text as it streams, on core NATS (`spool.stream.<agent>.<taskId>`): for
 * watching live only. It is not stored and may be missed; the journaled reply is the record.
 */
export function liveText(connection: SpoolConnection) {
  const { nc, ns } = internals(connection);
  return {
    publish(agent: string, taskId: string, chunk: TextChunk): void {
      if (!nc.isClosed())
        nc.publish(ns.subject(subjects.liveText(agent, taskId)), encoder.encode(JSON.stringify(chunk)));
    },
    /** Calls `onChunk` for each piece until the returned function is called. */
    follow(agent: string, taskId: string, onChunk: (chunk: TextChunk) => void): () => void {
      const sub = nc.subscribe(ns.subject(subjects.liveText(agent, taskId)), {
        callback: (err, msg) => {
          if (err) return;
          try {
            const chunk = JSON.parse(decoder.decode(msg.data)) as TextChunk;
            if (typeof chunk.text === 'string' && typeof chunk.step === 'number') onChunk(chunk);
          } catch {
            // not ours: ignore
          }
        },
      });
      return () => sub.unsubscribe();
    },
    /**
     * As `follow`, resolving once the server has the subscription (a round trip later): text
     * published after that reaches `onChunk`, so a watcher can say it is live.
     */
    async followConfirmed(
      agent: string,
      taskId: string,
      onChunk: (chunk: TextChunk) => void,
    ): Promise<() => void> {
      const stop = this.follow(agent, taskId, onChunk);
      try {
        await nc.flush();
      } catch (err) {
        stop();
        throw err;
      }
      return stop;
    },
  };
}

export type LiveText = ReturnType<typeof liveText>;

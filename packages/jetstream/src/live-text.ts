import { createInbox, Empty, type NatsConnection } from '@nats-io/transport-node';
import { subjects } from '@spool/core/internal';
import { decoder, encoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/** One piece of a task's reply text, as it streams from the model. */
export interface TextChunk {
  readonly step: number;
  readonly text: string;
}

/**
 * How long `listening` waits for a follower to answer before taking silence as "someone is
 * there" (a subscriber that does not answer probes, e.g. an older Spool's): the server's
 * no-responders status comes at once when nobody is subscribed at all.
 */
const PROBE_MS = 250;

/**
 * A task's reply text as it streams, on core NATS (`spool.stream.<agent>.<taskId>`): for
 * watching live only. It is not stored and may be missed; the journaled reply is the record.
 * Streaming costs the agent (an SSE parse per delta and a publish per piece), so it streams a
 * reply only when `listening` says someone follows the task: followers answer its probe, a
 * request on the same subject (core NATS has no subscriber count, but answers a request nobody
 * is subscribed to with a no-responders status at once).
 */
export function liveText(connection: SpoolConnection) {
  const { nc, ns } = internals(connection);
  let probes: ProbeReplies | undefined;
  return {
    publish(agent: string, taskId: string, chunk: TextChunk): void {
      if (!nc.isClosed())
        nc.publish(ns.subject(subjects.liveText(agent, taskId)), encoder.encode(JSON.stringify(chunk)));
    },
    /**
     * Whether anyone follows the task now: false when nobody is subscribed to its live text;
     * true when a follower answers, or when a subscriber stays silent (one that cannot answer
     * is still watching). Probes go out as plain publishes with a reply subject under one
     * wildcard subscription: `nc.request` would build two errors with stacks for every "no
     * responders", the common answer.
     */
    listening(agent: string, taskId: string): Promise<boolean> {
      if (nc.isClosed()) return Promise.resolve(false);
      probes ??= probeReplies(nc);
      const inbox = probes;
      const token = String(inbox.next++);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          inbox.waiting.delete(token);
          resolve(true);
        }, PROBE_MS);
        inbox.waiting.set(token, (answered) => {
          clearTimeout(timer);
          resolve(answered);
        });
        nc.publish(ns.subject(subjects.liveText(agent, taskId)), Empty, { reply: `${inbox.base}.${token}` });
      });
    },
    /** Calls `onChunk` for each piece until the returned function is called; answers `listening` probes. */
    follow(agent: string, taskId: string, onChunk: (chunk: TextChunk) => void): () => void {
      const sub = nc.subscribe(ns.subject(subjects.liveText(agent, taskId)), {
        callback: (err, msg) => {
          if (err) return;
          // A probe (the only message with a reply subject): "I am watching".
          if (msg.reply) {
            msg.respond();
            return;
          }
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

/** Answers to probes: one subscription under the connection's reply prefix, a waiter per token. */
interface ProbeReplies {
  readonly base: string;
  readonly waiting: Map<string, (answered: boolean) => void>;
  next: number;
}

function probeReplies(nc: NatsConnection): ProbeReplies {
  const prefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
  const base = createInbox(prefix);
  const replies: ProbeReplies = { base, waiting: new Map(), next: 0 };
  nc.subscribe(`${base}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const token = msg.subject.slice(base.length + 1);
      const settle = replies.waiting.get(token);
      if (settle === undefined) return;
      replies.waiting.delete(token);
      // The server's "no responders" (status 503, no data): nobody is subscribed.
      settle(!(msg.headers?.code === 503 && msg.data.length === 0));
    },
  });
  return replies;
}

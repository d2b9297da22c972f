import { subjects, type TraceContext } from '@spool/core/internal';
import { decoder, encoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/** An inbox or control message of a keyed agent, handed from the host that pulled it to the key's owner. */
export interface ForwardedMessage {
  /** Not a message: asks the host to passivate this key's instance now (`spool forget`). */
  readonly passivate?: string;
  readonly subject: string;
  readonly data: string;
  readonly seq: number;
  readonly deliveryCount: number;
  /** The W3C trace context the original carried in its headers: the owner's task continues that trace. */
  readonly trace?: TraceContext;
}

/** `ack`: the owner journaled it (ack the original); `nak`: hand it back; undefined: nobody answered. */
export type ForwardOutcome = 'ack' | 'nak' | undefined;

/**
 * Messages between the hosts of a keyed agent: the one durable consumer hands a message for a
 * key to whichever host pulls it, and the key's owner (another live host) takes it over core
 * request/reply, answering once it is journaled (as Orleans forwards a message to the silo of
 * the activation). The original stays unacknowledged meanwhile, so a host that dies loses nothing.
 */
export function keyedForwarding(connection: SpoolConnection) {
  const { nc, ns } = internals(connection);
  return {
    async forward(
      agent: string,
      host: string,
      message: ForwardedMessage,
      timeoutMs: number,
    ): Promise<ForwardOutcome> {
      try {
        const reply = await nc.request(
          ns.subject(subjects.keyedHost(agent, host)),
          encoder.encode(JSON.stringify(message)),
          { timeout: timeoutMs },
        );
        const outcome = (JSON.parse(decoder.decode(reply.data)) as { outcome?: unknown }).outcome;
        return outcome === 'ack' || outcome === 'nak' ? outcome : undefined;
      } catch {
        return undefined; // no responder (the host is gone) or no answer in time
      }
    },

    /** Asks `host` to passivate the instance of `key` (erasure fences it first); true once it did. */
    async passivate(agent: string, host: string, key: string, timeoutMs: number): Promise<boolean> {
      const outcome = await this.forward(
        agent,
        host,
        { passivate: key, subject: '', data: '', seq: 0, deliveryCount: 0 },
        timeoutMs,
      );
      return outcome === 'ack';
    },

    /** Takes messages forwarded to `host` until the returned function is called. */
    serve(agent: string, host: string, take: (message: ForwardedMessage) => Promise<'ack' | 'nak'>) {
      const sub = nc.subscribe(ns.subject(subjects.keyedHost(agent, host)), {
        callback: (err, msg) => {
          if (err) return;
          let message: ForwardedMessage;
          try {
            message = JSON.parse(decoder.decode(msg.data)) as ForwardedMessage;
          } catch {
            return;
          }
          take(message).then(
            (outcome) => msg.respond(encoder.encode(JSON.stringify({ outcome }))),
            () => msg.respond(encoder.encode(JSON.stringify({ outcome: 'nak' }))),
          );
        },
      });
      return () => sub.unsubscribe();
    },
  };
}

export type KeyedForwarding = ReturnType<typeof keyedForwarding>;

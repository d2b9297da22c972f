import { ensureError } from '@spool/core/internal';
import { decoder, internals } from './internal.ts';
import type { Requests, SpoolConnection } from './types.ts';

/** Core NATS request/reply (the coordinator's status API). */
export function requests(connection: SpoolConnection): Requests {
  const { nc, ns } = internals(connection);
  return {
    serve(subject, handler) {
      const sub = nc.subscribe(ns.subject(subject), {
        callback: (err, msg) => {
          if (err) return;
          Promise.resolve()
            .then(() => handler(decoder.decode(msg.data)))
            .then(
              (reply) => msg.respond(reply),
              (e) =>
                msg.respond(JSON.stringify({ error: { code: 'internal', message: ensureError(e).message } })),
            );
        },
      });
      return () => sub.unsubscribe();
    },
    async request(subject, data, timeoutMs) {
      const reply = await nc.request(ns.subject(subject), data, { timeout: timeoutMs });
      return decoder.decode(reply.data);
    },
  };
}

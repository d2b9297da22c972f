import type { Reply, Responder } from './messages-protocol.ts';
import { type MessagesServer, startMessagesServer } from './messages-server.ts';
import { teamResponder } from './offline-team.ts';

/**
 * The model name of everything the offline model produces: its replies carry it, and the
 * CLI runs agents under it when offline, so a journaled reply or a result made offline can
 * never pass for one of Claude's (and has no price).
 */
export const OFFLINE_MODEL = 'offline';

/**
 * The offline model: a Messages API server on loopback, called through the real Anthropic
 * SDK (`baseURL` = its url), that answers with a deterministic, rule-based stand-in for
 * Claude (by default the team of the examples: see offline-team.ts). For demos and
 * scaffolds without an API key; never a substitute for Claude's answers.
 */
export function startOfflineModel(options: { responder?: Responder } = {}): Promise<MessagesServer> {
  const responder = options.responder ?? teamResponder;
  return startMessagesServer({
    model: OFFLINE_MODEL,
    answer: (body, reply) => reply.message(asReply(responder(body))),
  });
}

export function asReply(produced: Reply | string): Reply {
  return typeof produced === 'string' ? { text: produced } : produced;
}

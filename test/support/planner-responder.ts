import type { FakeReply, MessagesBody } from '@spool/testkit';

/** The system prompt of a request, whether sent as a string or as (cached) blocks. */
export const systemOf = (body: MessagesBody) =>
  typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('');

/**
 * A fake model for a planner that delegates once: an agent whose instructions start with
 * "Planner." calls `delegate` (to `writer`, with `childTask`) until it has the result; every
 * other request gets `reply`. `usage` is every answer's (exact counts for metrics).
 */
export function plannerResponder(
  childTask: string,
  reply: string,
  usage?: FakeReply['usage'],
): (body: MessagesBody) => FakeReply {
  return (body) => {
    const last = body.messages?.at(-1)?.content;
    const answered = Array.isArray(last) && last.some((b) => b.type === 'tool_result');
    const extra = usage === undefined ? {} : { usage };
    if (systemOf(body).startsWith('Planner.') && !answered)
      return {
        content: [
          { type: 'tool_use', id: 'tu_1', name: 'delegate', input: { agent: 'writer', task: childTask } },
        ],
        stopReason: 'tool_use',
        ...extra,
      };
    return { text: reply, ...extra };
  };
}

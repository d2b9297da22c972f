import { type MessagesBody, type Reply, textOfContent } from './messages-protocol.ts';

type Message = NonNullable<MessagesBody['messages']>[number];

/** The support example's lookup tool (examples/support): the offline model answers support questions with it. */
export const LOOKUP_ORDER = 'lookup_order';

/** "order 1001", "order #1001" (not any number: an answer's dates have some). */
const ORDER_NUMBER = /\border\s*#?\s*(\d{3,})\b/i;

/**
 * The offline model as a support clerk, for an agent offered `lookup_order`: it looks the
 * order up with the tool, then answers from what the tool returned. A question without an
 * order number is about the one this conversation last named, so the answer shows what the
 * instance remembers (its own customer's earlier exchanges, and no one else's).
 */
export function supportClerk(messages: readonly Message[], taskAt: number): Reply | string {
  const task = textOfContent(messages[taskAt]?.content ?? '');
  const result = messages
    .slice(taskAt + 1)
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .find((b) => b.type === 'tool_result');
  if (result === undefined) {
    const asked = ORDER_NUMBER.exec(task)?.[1];
    const remembered = asked === undefined ? lastOrderNumber(messages.slice(0, taskAt)) : undefined;
    const orderId = asked ?? remembered;
    if (orderId === undefined)
      return 'Happy to help. Which order is it about? Please give me its order number.';
    return {
      content: [
        {
          type: 'text',
          text:
            remembered === undefined
              ? `Let me look up order ${orderId}.`
              : `You asked about order ${orderId} earlier; let me look it up again.`,
        },
        { type: 'tool_use', id: `toolu_offline_lookup_${orderId}`, name: LOOKUP_ORDER, input: { orderId } },
      ],
    };
  }
  const text = textOfContent(result.content as Parameters<typeof textOfContent>[0]);
  if (result.is_error === true) return `I could not look that order up (${text}). Please try again later.`;
  // Not named in this question: the customer's earlier one named it (this instance's memory).
  const remembered = ORDER_NUMBER.exec(task) === null;
  return `${remembered ? 'About the order you asked about earlier: ' : ''}${answer(text)}`;
}

/** The order number this conversation named last (the customer's earlier questions and our answers). */
function lastOrderNumber(earlier: readonly Message[]): string | undefined {
  for (let i = earlier.length - 1; i >= 0; i--) {
    const text = textOfContent(earlier[i]?.content ?? '');
    const all = [...text.matchAll(new RegExp(ORDER_NUMBER.source, 'gi'))];
    const last = all.at(-1)?.[1];
    if (last !== undefined) return last;
  }
  return undefined;
}

/** The tool's JSON (`{found, orderId, item, status, eta}`) in a sentence or two. */
function answer(toolText: string): string {
  let found: { found?: unknown; orderId?: unknown; item?: unknown; status?: unknown; eta?: unknown };
  try {
    found = JSON.parse(toolText) as typeof found;
  } catch {
    return `The lookup said: ${toolText}`;
  }
  if (found.found !== true)
    return `I cannot find order ${String(found.orderId)} on your account. Could you check the number? I can only see your own orders.`;
  const eta = typeof found.eta === 'string' ? ` It should arrive on ${found.eta}.` : '';
  return `Order ${String(found.orderId)} (${String(found.item)}): ${String(found.status)}.${eta}`;
}

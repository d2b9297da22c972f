import { describe, expect, it } from 'vitest';
import type { MessagesBody } from './messages-protocol.ts';
import { teamResponder } from './offline-team.ts';

const tools = [{ name: 'lookup_order', input_schema: { type: 'object' } }];
const system = 'You are a friendly customer support agent for a shop.';
type Message = NonNullable<MessagesBody['messages']>[number];
const ask = (messages: Message[]) => teamResponder({ system, tools, messages } as MessagesBody);
const lookedUp = (question: Message, call: unknown, result: string, earlier: Message[] = []) =>
  ask([
    ...earlier,
    question,
    { role: 'assistant', content: (call as { content: unknown[] }).content } as Message,
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_offline_lookup_1001', content: result }],
    } as Message,
  ]);

describe('offline-support - the offline model as the support example’s clerk', () => {
  it('looks the order named in the question up, then answers from the lookup', () => {
    const question: Message = { role: 'user', content: 'Where is my order 1001?' };
    const call = ask([question]);
    expect(call).toMatchObject({
      content: [{ type: 'text' }, { type: 'tool_use', name: 'lookup_order', input: { orderId: '1001' } }],
    });
    const found = JSON.stringify({
      found: true,
      orderId: '1001',
      item: '2 × widget',
      status: 'shipped',
      eta: '2026-12-02',
    });
    expect(lookedUp(question, call, found)).toBe(
      'Order 1001 (2 × widget): shipped. It should arrive on 2026-12-02.',
    );
    expect(lookedUp(question, call, JSON.stringify({ found: false, orderId: '1001' }))).toMatch(
      /cannot find order 1001 on your account/,
    );
  });

  it('takes the order its conversation named last when the question names none (its memory)', () => {
    const earlier: Message[] = [
      { role: 'user', content: 'Where is my order 1001?' },
      {
        role: 'assistant',
        content: 'Order 1001 (2 × widget): shipped on 2026-11-27. It should arrive on 2026-12-02.',
      },
    ];
    const question: Message = { role: 'user', content: 'And when will it get here?' };
    const call = ask([...earlier, question]);
    // The dates in the earlier answer are not order numbers.
    expect(call).toMatchObject({
      content: [{ type: 'text' }, { type: 'tool_use', input: { orderId: '1001' } }],
    });
    const found = JSON.stringify({ found: true, orderId: '1001', item: '2 × widget', status: 'shipped' });
    expect(lookedUp(question, call, found, earlier)).toMatch(
      /^About the order you asked about earlier: Order 1001/,
    );
    // Nothing to go on: it asks.
    expect(ask([question])).toMatch(/order number/);
  });
});

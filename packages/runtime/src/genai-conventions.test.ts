import { describe, expect, it } from 'vitest';
import { inputMessages, outputMessages, systemInstructions, usageAttributes } from './genai-conventions.ts';

describe('GenAI convention values', () => {
  it("counts cached tokens in gen_ai.usage.input_tokens (Anthropic's input_tokens leaves them out)", () => {
    expect(
      usageAttributes({
        inputTokens: 100,
        outputTokens: 10,
        cacheReadInputTokens: 5,
        cacheCreationInputTokens: 2,
      }),
    ).toEqual({
      'gen_ai.usage.input_tokens': 107,
      'gen_ai.usage.output_tokens': 10,
      'gen_ai.usage.cache_read.input_tokens': 5,
      'gen_ai.usage.cache_creation.input_tokens': 2,
    });
  });

  it('gives messages as role and typed parts: text, tool calls, tool results (the tool role), images, reasoning', () => {
    const messages = JSON.parse(
      inputMessages([
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'use the tool', signature: 's' },
            { type: 'tool_use', id: 'tu_1', name: 'weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'tu_1',
              content: [
                { type: 'text', text: 'rainy' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
              ],
            },
          ],
        },
        { role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] },
      ]),
    );
    expect(messages).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] },
      {
        role: 'assistant',
        parts: [
          { type: 'reasoning', content: 'use the tool' },
          { type: 'tool_call', id: 'tu_1', name: 'weather', arguments: { city: 'Paris' } },
        ],
      },
      {
        role: 'tool',
        parts: [
          {
            type: 'tool_call_response',
            id: 'tu_1',
            response: [
              { type: 'text', content: 'rainy' },
              { type: 'blob', modality: 'image', mime_type: 'image/png', content: 'iVBO' },
            ],
          },
        ],
      },
      // A block the conventions have no part for stays as the API sent it.
      { role: 'user', parts: [{ type: 'document', source: { type: 'text', data: 'x' } }] },
    ]);
  });

  it('gives the reply as one assistant message with its finish reason, and the instructions as a text part', () => {
    const reply = {
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: 'It rains.' }],
      stopReason: 'end_turn',
      usage: { inputTokens: 1, outputTokens: 1, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
    };
    expect(JSON.parse(outputMessages(reply))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'It rains.' }], finish_reason: 'end_turn' },
    ]);
    expect(JSON.parse(systemInstructions('Be brief.'))).toEqual([{ type: 'text', content: 'Be brief.' }]);
  });
});

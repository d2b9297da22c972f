import type { ContentBlock, Message, ModelReply, Usage } from '@spool/core/internal';

/**
 * Attribute values of the OpenTelemetry GenAI semantic conventions that take more than a
 * name: token counts, and prompt and reply text.
 */

/**
 * `gen_ai.usage.*` of a reply or a task. The conventions' input count includes cached
 * tokens; Anthropic's `input_tokens` excludes them, so the Anthropic conventions add the
 * cache reads and writes to it (they are also given on their own).
 */
export function usageAttributes(usage: Usage): Record<string, number> {
  return {
    'gen_ai.usage.input_tokens':
      usage.inputTokens + usage.cacheReadInputTokens + usage.cacheCreationInputTokens,
    'gen_ai.usage.output_tokens': usage.outputTokens,
    'gen_ai.usage.cache_read.input_tokens': usage.cacheReadInputTokens,
    'gen_ai.usage.cache_creation.input_tokens': usage.cacheCreationInputTokens,
  };
}

/**
 * Prompt and reply text in the shape the OpenTelemetry GenAI conventions give
 * `gen_ai.input.messages`, `gen_ai.output.messages` and `gen_ai.system_instructions`
 * (their JSON schemas: messages of `role` and `parts`, each part typed `text`, `tool_call`,
 * `tool_call_response`, `blob`, `reasoning`, or the block as the API sent it), so that a
 * backend that reads the conventions shows them. Only used when content capture is on.
 */

type Part = Readonly<Record<string, unknown>> & { readonly type: string };

interface GenAiMessage {
  readonly role: string;
  readonly parts: readonly Part[];
  readonly finish_reason?: string;
}

/** `gen_ai.system_instructions`: the agent's instructions as one text part. */
export function systemInstructions(system: string): string {
  return JSON.stringify([{ type: 'text', content: system }]);
}

/** `gen_ai.input.messages`: the conversation sent, in order; a user turn of tool results only is the `tool` role's. */
export function inputMessages(messages: readonly Message[]): string {
  return JSON.stringify(
    messages.map((m): GenAiMessage => {
      const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
      const onlyResults = blocks.length > 0 && blocks.every((b) => b.type === 'tool_result');
      return { role: onlyResults ? 'tool' : m.role, parts: blocks.map(partOf) };
    }),
  );
}

/** `gen_ai.output.messages`: the reply as one assistant message, with the API's stop reason. */
export function outputMessages(reply: ModelReply): string {
  const message: GenAiMessage = {
    role: 'assistant',
    parts: reply.content.map(partOf),
    finish_reason: reply.stopReason ?? 'unknown',
  };
  return JSON.stringify([message]);
}

function partOf(block: ContentBlock): Part {
  const b = block as Record<string, unknown> & { type: string };
  switch (b.type) {
    case 'text':
      return { type: 'text', content: b.text };
    case 'tool_use':
      return { type: 'tool_call', id: b.id, name: b.name, arguments: b.input };
    case 'tool_result':
      return {
        type: 'tool_call_response',
        id: b.tool_use_id,
        response: Array.isArray(b.content) ? b.content.map(partOf) : b.content,
        ...(b.is_error === true ? { is_error: true } : {}),
      };
    case 'thinking':
      return { type: 'reasoning', content: b.thinking };
    case 'image': {
      const source = b.source as { type?: string; media_type?: string; data?: string } | undefined;
      return source?.type === 'base64'
        ? { type: 'blob', modality: 'image', mime_type: source.media_type, content: source.data }
        : b;
    }
    default:
      // A block the conventions have no part for (server tools, redacted thinking): kept as the API sent it.
      return b;
  }
}

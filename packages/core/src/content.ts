import { z } from 'zod';

/**
 * A content block of a model reply, journaled as the API returned it. Only `type` is
 * required: block kinds the SDK adds later (thinking, server tools, ...) are kept verbatim
 * so that a replayed conversation is byte-for-byte the one the model saw.
 */
export const ContentBlockSchema = z.looseObject({ type: z.string().min(1) });
export type ContentBlock = z.infer<typeof ContentBlockSchema>;

export const TextBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });

/** The text of a reply: its text blocks joined, other blocks skipped. */
export function textOf(content: readonly ContentBlock[]): string {
  const parts: string[] = [];
  for (const block of content) {
    const text = TextBlockSchema.safeParse(block);
    if (text.success) parts.push(text.data.text);
  }
  return parts.join('');
}

export const StopReason = {
  EndTurn: 'end_turn',
  MaxTokens: 'max_tokens',
  StopSequence: 'stop_sequence',
  ToolUse: 'tool_use',
  PauseTurn: 'pause_turn',
  Refusal: 'refusal',
} as const;

/** Stop reasons are open-ended upstream; unknown ones are kept as strings. */
export const StopReasonSchema = z.string().nullable();

/** The image types the Messages API takes in a `tool_result`. */
export const TOOL_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** An image a tool returned (an MCP server's image block), journaled with its result and shown to the model. */
export const ToolImageSchema = z.object({
  mediaType: z.enum(TOOL_IMAGE_TYPES),
  /** base64 */
  data: z.string().min(1),
});
export type ToolImage = z.infer<typeof ToolImageSchema>;

/** A conversation message as sent to the model. */
export const MessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
});
export type Message = z.infer<typeof MessageSchema>;

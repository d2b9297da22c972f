import { createHash } from 'node:crypto';

/** What the server answers with: text, or blocks as the API would return them. */
export interface Reply {
  readonly text?: string;
  readonly content?: readonly Record<string, unknown>[];
  readonly stopReason?: string;
  readonly usage?: Partial<ApiUsage>;
  /** Response headers sent with it, e.g. the API's `anthropic-ratelimit-*`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** The request body fields the fake reads. */
export interface MessagesBody {
  model?: string;
  max_tokens?: number;
  system?: string | { type: string; text: string; cache_control?: unknown }[];
  messages?: { role: string; content: string | { type: string; text?: string; [k: string]: unknown }[] }[];
  tools?: unknown[];
  stream?: boolean;
}

export type Responder = (body: MessagesBody) => Reply | string;

/** Rough token count, as the API's would be for English text: ~4 characters a token. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The text of a message's content, blocks joined. */
export function textOfContent(content: string | readonly { text?: unknown }[]): string {
  if (typeof content === 'string') return content;
  return content.map((b) => (typeof b.text === 'string' ? b.text : '')).join('');
}

/** The text of the last user message of a Messages request (a task's own input); '' when none. */
export function lastUserText(body: unknown): string {
  const messages = (body as MessagesBody | undefined)?.messages;
  const last = Array.isArray(messages) ? messages.filter((m) => m.role === 'user').at(-1) : undefined;
  if (last === undefined || (typeof last.content !== 'string' && !Array.isArray(last.content))) return '';
  return textOfContent(last.content);
}

/**
 * Usage for a request: a system prompt (and tools) marked with cache_control is written to
 * the cache the first time its prefix is seen and read from it afterwards, as the API does.
 */
export function usageFor(body: MessagesBody, cache: Set<string>, outputText: string): ApiUsage {
  const total = estimateTokens({ s: body.system, m: body.messages, t: body.tools });
  const cacheable = Array.isArray(body.system) && body.system.some((b) => b.cache_control !== undefined);
  let creation = 0;
  let read = 0;
  if (cacheable) {
    const prefix = estimateTokens({ s: body.system, t: body.tools });
    const key = createHash('sha256')
      .update(JSON.stringify([body.model, body.system, body.tools]))
      .digest('hex');
    if (cache.has(key)) read = prefix;
    else {
      creation = prefix;
      cache.add(key);
    }
  }
  return {
    input_tokens: Math.max(1, total - creation - read),
    output_tokens: estimateTokens(outputText),
    cache_creation_input_tokens: creation,
    cache_read_input_tokens: read,
  };
}

/** A full Message object for a reply. */
export function messageFor(body: MessagesBody, reply: Reply, cache: Set<string>, id: string) {
  const content = reply.content ?? [{ type: 'text', text: reply.text ?? '' }];
  const text = content
    .map((b) => (typeof b.text === 'string' ? b.text : JSON.stringify(b.input ?? '')))
    .join('');
  const hasToolUse = content.some((b) => b.type === 'tool_use');
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: body.model ?? 'claude-fake',
    content,
    stop_reason: reply.stopReason ?? (hasToolUse ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: { ...usageFor(body, cache, text), ...reply.usage },
  };
}

/** The SSE event sequence of a streamed message, each with its `event:` line. */
export function sseEventsFor(message: ReturnType<typeof messageFor>): string[] {
  const events: string[] = [];
  const send = (type: string, data: object) =>
    events.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('message_start', {
    message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } },
  });
  send('ping', {});
  message.content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      for (const part of chunks(JSON.stringify(block.input ?? {}))) {
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } });
      }
    } else if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const part of chunks(String(block.text ?? ''))) {
        send('content_block_delta', { index, delta: { type: 'text_delta', text: part } });
      }
    } else {
      send('content_block_start', { index, content_block: block });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens },
  });
  send('message_stop', {});
  return events;
}

function chunks(text: string): string[] {
  if (text.length === 0) return [''];
  const size = Math.max(1, Math.ceil(text.length / 3));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

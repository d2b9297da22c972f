import type { Message, ModelReply, ToolDefinition } from '@spool/core/internal';

/** One model call: the system prompt always comes from the agent spec, never from history. */
export interface ModelRequest {
  readonly model: string;
  /** The agent's instructions; sent as a system block marked for prompt caching. */
  readonly system: string;
  readonly messages: readonly Message[];
  readonly maxTokens: number;
  /** Tools the model may call; sent with the system prompt as the cached prefix. */
  readonly tools?: readonly ToolDefinition[];
}

/**
 * The model port. `respond` returns the full reply (content blocks as the API sent them,
 * stop reason, usage including cache tokens, request id). Failures are thrown as core's
 * RetryableError (429, 529, 5xx, connection, timeout; with `retryAfterMs` when the server
 * said) or TerminalError (400, 401, 403, 404, and anything else that will not get better).
 */
export interface ModelClient {
  /**
   * `onText` gets the reply's text as it streams in (for live display; the reply itself is what
   * counts); `onHeaders` the response's headers (the API's `anthropic-ratelimit-*`).
   */
  respond(
    request: ModelRequest,
    signal?: AbortSignal,
    onText?: (delta: string) => void,
    onHeaders?: (headers: Headers) => void,
  ): Promise<ModelReply>;
  /** The request's input tokens as the API counts them (`messages.countTokens`). */
  countTokens(request: ModelRequest, signal?: AbortSignal): Promise<number>;
}

export interface AnthropicModelOptions {
  /** Default: ANTHROPIC_API_KEY, as the SDK reads it. */
  readonly apiKey?: string;
  /** Default: ANTHROPIC_BASE_URL, as the SDK reads it. */
  readonly baseURL?: string;
  /** SDK-level retries before an error reaches the runtime (default 2). */
  readonly maxRetries?: number;
  /** Wait for response headers, ms (default 600 000 as in the SDK). */
  readonly timeoutMs?: number;
}

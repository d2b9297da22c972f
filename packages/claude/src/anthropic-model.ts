import Anthropic from '@anthropic-ai/sdk';
import {
  type ContentBlock,
  ErrorCode,
  type ModelReply,
  TerminalError,
  type ToolDefinition,
} from '@spool/core/internal';
import { mapSdkError } from './errors.ts';
import { plainFetch } from './plain-fetch.ts';
import type { AnthropicModelOptions, ModelClient, ModelRequest } from './types.ts';

/**
 * The model port on the Anthropic SDK. The key and base URL are read as the SDK reads
 * them (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) unless given. The agent's instructions go
 * as a system block marked for prompt caching on every call.
 */
export function anthropicModel(options: AnthropicModelOptions = {}): ModelClient {
  const apiKey = options.apiKey ?? process.env.ANTHROPIC_API_KEY;
  let client: Anthropic | undefined;
  const getClient = (): Anthropic => {
    if (apiKey === undefined || apiKey.trim() === '') {
      throw new TerminalError(ErrorCode.AuthenticationFailed, 'no Claude API key: set ANTHROPIC_API_KEY');
    }
    client ??= new Anthropic({
      apiKey,
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      maxRetries: options.maxRetries ?? 2,
      // Whole calls over node:http (streamed ones still through the built-in fetch).
      fetch: plainFetch,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
    return client;
  };

  const systemOf = (request: ModelRequest) => [
    { type: 'text' as const, text: request.system, cache_control: { type: 'ephemeral' as const } },
  ];
  const toolsOf = (request: ModelRequest) =>
    request.tools === undefined || request.tools.length === 0 ? {} : { tools: cachedTools(request.tools) };

  return {
    async respond(
      request: ModelRequest,
      signal?: AbortSignal,
      onText?: (delta: string) => void,
      onHeaders?: (headers: Headers) => void,
    ): Promise<ModelReply> {
      const sdk = getClient();
      const params = {
        model: request.model,
        max_tokens: request.maxTokens,
        system: systemOf(request),
        messages: request.messages as Anthropic.MessageParam[],
        ...toolsOf(request),
      };
      try {
        if (onText === undefined) {
          // Nobody watches the text: one plain call, far cheaper than parsing a stream of
          // deltas. Its response comes whole, so the SDK's timeout (which covers the wait for
          // headers) must span the reply: given explicitly, as the SDK requires for a large
          // max_tokens; the caller's signal (modelTimeoutMs) is the real bound.
          const { data, response, request_id } = await sdk.messages
            .create(
              { ...params, stream: false },
              {
                timeout: options.timeoutMs ?? NON_STREAMING_TIMEOUT_MS,
                ...(signal === undefined ? {} : { signal }),
              },
            )
            .withResponse();
          if (onHeaders !== undefined) onHeaders(response.headers);
          return replyOf(data, request_id);
        }
        // Streamed: text shows as it arrives, and the final message is assembled by the SDK
        // exactly as a non-streaming call returns it.
        const stream = sdk.messages.stream(params, signal === undefined ? {} : { signal });
        stream.on('text', (delta) => onText(delta));
        const message = await stream.finalMessage();
        const headers = stream.response?.headers;
        if (onHeaders !== undefined && headers !== undefined) onHeaders(headers);
        return replyOf(message, stream.request_id);
      } catch (err) {
        if (signal?.aborted || err instanceof Anthropic.APIUserAbortError) throw err;
        throw mapSdkError(err);
      }
    },

    async countTokens(request: ModelRequest, signal?: AbortSignal): Promise<number> {
      const sdk = getClient();
      try {
        const counted = await sdk.messages.countTokens(
          {
            model: request.model,
            system: systemOf(request),
            messages: request.messages as Anthropic.MessageParam[],
            ...toolsOf(request),
          },
          signal === undefined ? {} : { signal },
        );
        return counted.input_tokens;
      } catch (err) {
        if (signal?.aborted || err instanceof Anthropic.APIUserAbortError) throw err;
        throw mapSdkError(err);
      }
    },
  };
}

/**
 * A non-streaming call's SDK timeout: longer than any reply takes (the SDK's own estimate
 * for 128k output tokens is an hour); the agent's modelTimeoutMs aborts it sooner.
 */
const NON_STREAMING_TIMEOUT_MS = 60 * 60 * 1000;

/** The SDK's message as a journaled reply. */
function replyOf(message: Anthropic.Message, requestId: string | null | undefined): ModelReply {
  const usage = message.usage;
  return {
    model: message.model,
    content: message.content.map((block) => ({ ...block }) as ContentBlock),
    stopReason: message.stop_reason,
    usage: {
      inputTokens: usage.input_tokens ?? 0,
      outputTokens: usage.output_tokens ?? 0,
      cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
      cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
    },
    ...(requestId ? { requestId } : {}),
  };
}

/**
 * The tool definitions, the last one marked for prompt caching: the cache prefix is tools,
 * then system, so one breakpoint after the tools and one after the system cover both.
 */
function cachedTools(tools: readonly ToolDefinition[]): Anthropic.Tool[] {
  return tools.map((tool, i) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.input_schema as Anthropic.Tool.InputSchema,
    ...(i === tools.length - 1 ? { cache_control: { type: 'ephemeral' as const } } : {}),
  }));
}

import Anthropic from '@anthropic-ai/sdk';
import {
  type ContentBlock,
  ErrorCode,
  type ModelReply,
  TerminalError,
  type ToolDefinition,
} from '@spool/core/internal';
import { mapSdkError } from './errors.ts';
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
      try {
        // Streamed: text shows as it arrives, long replies need no special timeout, and the
        // final message is assembled by the SDK exactly as a non-streaming call returns it.
        const stream = sdk.messages.stream(
          {
            model: request.model,
            max_tokens: request.maxTokens,
            system: systemOf(request),
            messages: request.messages as Anthropic.MessageParam[],
            ...toolsOf(request),
          },
          signal === undefined ? {} : { signal },
        );
        if (onText !== undefined) stream.on('text', (delta) => onText(delta));
        const message = await stream.finalMessage();
        const headers = stream.response?.headers;
        if (onHeaders !== undefined && headers !== undefined) onHeaders(headers);
        const usage = message.usage;
        const requestId = stream.request_id ?? undefined;
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

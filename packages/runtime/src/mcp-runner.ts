import { ensureError } from '@spool/core/internal';
import { McpError, McpErrorCode } from '@spool/mcp';
import type { McpToolEntry } from './mcp-tools.ts';
import type { ToolOutcome } from './tool-runner.ts';

/** Longest tool output sent back to the model (as for defineTool tools). */
const MAX_OUTPUT_CHARS = 100_000;

/** An MCP call's outcome; `lost`: the server died during the call, which may have taken effect. */
export type McpOutcome = ToolOutcome | { readonly lost: true; readonly reason: string };

/**
 * Runs one MCP tool call. Never throws: a server that is down (`tool_unavailable`), a call past
 * its `timeoutMs` and a protocol error all become an error result the model reads. A call whose
 * server died under it is run again once (the server is restarted) if the tool is idempotent;
 * otherwise it comes back as `lost`, for an operator to decide, as an interrupted
 * non-idempotent `defineTool` call does.
 */
export async function runMcpTool(
  entry: McpToolEntry,
  call: { readonly input: unknown; readonly key: string },
  signal: AbortSignal,
): Promise<McpOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await entry.connection.call(entry.tool, call.input, {
        timeoutMs: entry.timeoutMs,
        signal,
        idempotencyKey: call.key,
      });
      return {
        isError: result.isError,
        content: clip(result.content),
        ...(result.images.length === 0 ? {} : { images: result.images }),
      };
    } catch (err) {
      if (signal.aborted)
        return { isError: true, content: 'abandoned: the task was cancelled or the agent stopped' };
      if (err instanceof McpError && err.code === McpErrorCode.ConnectionLost) {
        if (entry.idempotent && attempt === 1) continue;
        if (!entry.idempotent) return { lost: true, reason: err.message };
      }
      if (err instanceof McpError) return { isError: true, content: err.message };
      return { isError: true, content: clip(`${entry.name} failed: ${ensureError(err).message}`) };
    }
  }
}

function clip(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  return `${text.slice(0, MAX_OUTPUT_CHARS)}\n[output cut at ${MAX_OUTPUT_CHARS} of ${text.length} characters]`;
}

import { ensureError, type Tool, type ToolContext, type ToolImage } from '@spool/core/internal';

/** Longest tool output sent back to the model; the rest is cut with a note saying so. */
const MAX_OUTPUT_CHARS = 100_000;

export interface ToolOutcome {
  readonly content: string;
  readonly isError: boolean;
  /** Images for the model (an MCP tool's), journaled with the text. */
  readonly images?: readonly ToolImage[];
}

/**
 * Runs one tool call. Never throws: an unknown tool, input that does not match the tool's
 * schema, or a handler that fails all become an error result the model reads and can
 * correct, never a crashed task.
 */
export async function runTool(
  tools: readonly Tool[],
  call: { readonly name: string; readonly input: unknown; readonly key: string },
  context: Omit<ToolContext, 'key'>,
): Promise<ToolOutcome> {
  const tool = tools.find((t) => t.name === call.name);
  if (tool === undefined) {
    const names = tools.map((t) => t.name).join(', ') || 'none';
    return { isError: true, content: `unknown tool "${call.name}"; the tools are: ${names}` };
  }
  const input = tool.input.safeParse(call.input);
  if (!input.success) {
    const problems = input.error.issues
      .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
      .join('; ');
    return {
      isError: true,
      content: `invalid input for ${tool.name}: ${problems}; call it again with input that matches its schema`,
    };
  }
  try {
    // A handler that ignores the signal is not waited for once it aborts (stop, cancel): the
    // call is abandoned here and runs again, with the same key, if the task goes on.
    const output = await Promise.race([
      Promise.resolve(tool.handler(input.data, { key: call.key, ...context })),
      aborted(context.signal),
    ]);
    return { isError: false, content: clip(asText(output)) };
  } catch (err) {
    if (context.signal.aborted)
      return { isError: true, content: 'abandoned: the task was cancelled or the agent stopped' };
    return { isError: true, content: clip(`${tool.name} failed: ${ensureError(err).message}`) };
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function asText(output: unknown): string {
  if (output === undefined) return '';
  if (typeof output === 'string') return output;
  return JSON.stringify(output) ?? String(output);
}

function clip(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  return `${text.slice(0, MAX_OUTPUT_CHARS)}\n[output cut at ${MAX_OUTPUT_CHARS} of ${text.length} characters]`;
}

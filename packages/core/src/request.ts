import type { AgentSpec } from './config.ts';
import type { Message, ToolImage } from './content.ts';
import type { AgentState, Exchange, TaskState } from './state.ts';

type MemoryBounds = Pick<AgentSpec['memory'], 'exchanges' | 'maxChars'>;

/**
 * The conversation sent for a task's next model call, built from replayed state only: the
 * summary of compacted memory, the memory window fixed when the task started, then the
 * task's input, then its journaled steps (each tool_use answered by its tool_result). The
 * system prompt is not here: it comes from the spec on every call, never from history.
 */
export function buildMessages(state: AgentState, task: TaskState, memory: MemoryBounds): Message[] {
  const messages: Message[] = [];
  const summary = state.memorySummary;
  if (summary !== undefined && summary.upTo > 0 && task.memoryUpTo > 0) {
    messages.push(
      { role: 'user', content: `A summary of our earlier work:\n${summary.text}` },
      { role: 'assistant', content: 'Understood; I will use it.' },
    );
  }
  for (const exchange of memoryWindow(state.memory, task.memoryUpTo, memory)) {
    messages.push({ role: 'user', content: exchange.input }, { role: 'assistant', content: exchange.output });
  }
  messages.push({ role: 'user', content: task.input });
  for (const step of task.steps) {
    messages.push({ role: 'assistant', content: [...step.content] });
    // Each tool_use is answered by its tool_result in the next user message, in the same order.
    if (step.tools.length > 0 && step.tools.every((call) => call.result !== undefined)) {
      messages.push({
        role: 'user',
        content: step.tools.map((call) => ({
          type: 'tool_result',
          tool_use_id: call.toolUseId,
          content: toolResultContent(call.result),
          ...(call.result?.isError ? { is_error: true } : {}),
        })),
      });
    }
  }
  return messages;
}

/** The newest exchanges numbered below `upTo`, within the count and character bounds. */
export function memoryWindow(all: readonly Exchange[], upTo: number, bounds: MemoryBounds): Exchange[] {
  const picked: Exchange[] = [];
  let chars = 0;
  for (let i = all.length - 1; i >= 0 && picked.length < bounds.exchanges; i--) {
    const exchange = all[i];
    if (exchange === undefined || exchange.n >= upTo) continue;
    chars += exchange.input.length + exchange.output.length;
    if (chars > bounds.maxChars) break;
    picked.push(exchange);
  }
  return picked.reverse();
}

/**
 * What to summarize when a task's request would not fit: the exchanges it sees, except the
 * newest `keepRecent`, folded with the previous summary. Whole exchanges only, so a
 * question is never separated from its answer (tool calls stay inside their task).
 */
export function compactionPlan(
  state: AgentState,
  task: TaskState,
  memory: AgentSpec['memory'],
): { upTo: number; transcript: string } | undefined {
  const seen = state.memory.filter((exchange) => exchange.n < task.memoryUpTo);
  const older = seen.slice(0, Math.max(0, seen.length - memory.keepRecent));
  const last = older.at(-1);
  if (last === undefined) return undefined;
  const parts = state.memorySummary === undefined ? [] : [`Summary so far:\n${state.memorySummary.text}`];
  for (const exchange of older) parts.push(`User: ${exchange.input}\nAssistant: ${exchange.output}`);
  return { upTo: last.n + 1, transcript: parts.join('\n\n') };
}

/** A tool's output as a `tool_result`'s content: its text, and its images as image blocks after it. */
function toolResultContent(
  result: { readonly content: string; readonly images?: readonly ToolImage[] } | undefined,
): string | Record<string, unknown>[] {
  const images = result?.images ?? [];
  if (images.length === 0) return result?.content ?? '';
  return [
    // The API refuses an empty text block.
    ...(result?.content ? [{ type: 'text', text: result.content }] : []),
    ...images.map((image) => ({
      type: 'image',
      source: { type: 'base64', media_type: image.mediaType, data: image.data },
    })),
  ];
}

import type { AgentSpec } from './config.ts';
import type { Message } from './content.ts';
import type { AgentState, Exchange, TaskState } from './state.ts';

/**
 * The conversation sent for a task's next model call, built from replayed state only:
 * the memory window fixed when the task started (so a resumed task sends the same
 * request), then the task's input, then its journaled steps. The system prompt is not
 * here: it comes from the spec on every call, never from history.
 */
export function buildMessages(state: AgentState, task: TaskState, memory: AgentSpec['memory']): Message[] {
  const messages: Message[] = [];
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
          content: call.result?.content ?? '',
          ...(call.result?.isError ? { is_error: true } : {}),
        })),
      });
    }
  }
  return messages;
}

/** The newest exchanges numbered below `upTo`, within the count and character bounds. */
export function memoryWindow(
  all: readonly Exchange[],
  upTo: number,
  bounds: AgentSpec['memory'],
): Exchange[] {
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

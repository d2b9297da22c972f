import type { ModelClient, ModelRequest } from '@spool/claude';
import {
  type AgentSpec,
  type AgentState,
  compactionPlan,
  estimateInputTokens,
  type ModelReply,
  type TaskState,
  textOf,
} from '@spool/core/internal';
import type { CallOutcome } from './model-call.ts';

/** The instructions of the summarizing call: its own system prompt, never the agent's. */
const SUMMARIZER =
  "You compress an agent's earlier conversation into a summary it will read instead of the conversation. Keep every fact, number, dataset, decision and open question; drop pleasantries. Write plain text, at most 400 words.";

export type CompactionOutcome =
  | { readonly kind: 'fits'; readonly tokens?: number }
  | { readonly kind: 'nothing-to-compact'; readonly tokens: number }
  | { readonly kind: 'failed'; readonly tokens: number; readonly reason: string }
  | {
      readonly kind: 'summarized';
      readonly tokens: number;
      readonly upTo: number;
      readonly summary: string;
      readonly reply: ModelReply;
    };

/**
 * Checks whether the next request fits under `memory.compactAt` of the context window and,
 * when it does not, summarizes the older memory with one model call. A cheap estimate (4
 * characters a token) skips the exact count (`messages.countTokens`) while the request is
 * far below the limit. The caller journals the summary before using it, and makes the
 * summarizing call through `summarize` (so that it is traced and counted as compaction).
 */
export async function compactIfNeeded(
  model: ModelClient,
  summarize: (request: ModelRequest) => Promise<CallOutcome>,
  spec: AgentSpec,
  state: AgentState,
  task: TaskState,
  request: ModelRequest,
  stop: AbortSignal,
): Promise<CompactionOutcome> {
  const { contextWindow, compactAt } = spec.memory;
  const limit = contextWindow * compactAt;
  if (compactAt === 0 || estimateInputTokens(request) < limit / 2) return { kind: 'fits' };
  const tokens = await model.countTokens(request, stop);
  if (tokens <= limit) return { kind: 'fits', tokens };
  const plan = compactionPlan(state, task, spec.memory);
  if (plan === undefined) return { kind: 'nothing-to-compact', tokens };
  const summaryRequest = {
    model: spec.model,
    system: SUMMARIZER,
    messages: [{ role: 'user' as const, content: plan.transcript }],
    maxTokens: Math.min(spec.maxTokens, 2_048),
  };
  const outcome = await summarize(summaryRequest);
  if (!outcome.ok)
    return { kind: 'failed', tokens, reason: 'error' in outcome ? outcome.error.message : 'stopped' };
  return {
    kind: 'summarized',
    tokens,
    upTo: plan.upTo,
    summary: textOf(outcome.reply.content),
    reply: outcome.reply,
  };
}

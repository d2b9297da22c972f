import type { ModelRequest } from '@spool/claude';
import { costOf, type ModelOperation } from '@spool/core/internal';
import { endModelSpan, startModelSpan } from './call-spans.ts';
import { type AgentContext, observedName } from './context.ts';
import { type CallOutcome, callModelOnce } from './model-call.ts';

/**
 * One model call of a task, whatever it is for (the task's step, or summarizing its memory),
 * seen as every call is: a `chat` span under the task's span, and the metrics (outcome,
 * duration, tokens, cost) labelled with the operation, so compaction's spend is counted too.
 */
export async function observedModelCall(
  ctx: AgentContext,
  where: { readonly taskId: string; readonly step: number; readonly operation: ModelOperation },
  request: ModelRequest,
  stop: AbortSignal,
  onText?: (delta: string) => void,
  onHeaders?: (headers: Headers) => void,
): Promise<CallOutcome> {
  const called = performance.now();
  const span = startModelSpan(ctx.spans.context(where.taskId), request, where, ctx.traceContent);
  const outcome = await callModelOnce(ctx.model, request, ctx.spec.modelTimeoutMs, stop, onText, onHeaders);
  endModelSpan(span, outcome, ctx.traceContent);
  observeCall(ctx, where.operation, outcome, (performance.now() - called) / 1000);
  return outcome;
}

/** Reports one model call for metrics: its outcome and duration, and an answered call's tokens and cost. */
function observeCall(
  ctx: AgentContext,
  operation: ModelOperation,
  outcome: CallOutcome,
  seconds: number,
): void {
  if ('abandoned' in outcome) return;
  const agent = observedName(ctx);
  const model = ctx.spec.model;
  if (!outcome.ok) {
    ctx.observer.modelCalled({ agent, model, operation, outcome: outcome.error.code, seconds });
    return;
  }
  const { usage } = outcome.reply;
  const costUsd = ctx.price === undefined ? undefined : costOf(usage, ctx.price);
  ctx.observer.modelCalled({ agent, model, operation, outcome: 'ok', seconds, usage, costUsd });
}

import type { ModelRequest } from '@spool/claude';
import {
  buildMessages,
  ensureError,
  estimateInputTokens,
  type TaskState,
  type Usage,
} from '@spool/core/internal';
import type { Logger } from 'pino';
import { type CompactionOutcome, compactIfNeeded } from './compaction.ts';
import type { AgentContext } from './context.ts';
import { liveReply } from './live-reply.ts';
import type { CallOutcome } from './model-call.ts';
import { observedModelCall } from './observed-call.ts';
import { awaitRateLimit } from './rate-step.ts';
import { clearSpend, type SpendClearance } from './spend-check.ts';

/**
 * A `call-model` effect: compacts memory when the request would not fit, calls the model once,
 * and journals the reply (`RecordReply`) or the failure with the time of the next call
 * (`RecordModelFailure`) before anything uses it.
 */
export async function modelStep(ctx: AgentContext, taskId: string, step: number, log: Logger): Promise<void> {
  const { spec, term } = ctx;
  const task = term.state.active.get(taskId);
  if (task === undefined) return;
  const requestFor = (current: TaskState) => ({
    model: spec.model,
    system: spec.instructions,
    messages: buildMessages(term.state, current, spec.memory),
    maxTokens: spec.maxTokens,
    tools: ctx.tools,
  });
  const stop = ctx.stopSignal(taskId);
  let request = requestFor(task);
  // The summarizing call is traced and counted as compaction, and waits for the shared rate limit.
  const summarize = async (r: ModelRequest): Promise<CallOutcome> => {
    const call = { inputTokens: estimateInputTokens(r), maxTokens: r.maxTokens, step };
    const turn = await awaitRateLimit(ctx, call, stop, log);
    if (turn === undefined) return { ok: false, abandoned: true };
    const where = { taskId, step, operation: 'compaction' } as const;
    const outcome = await observedModelCall(ctx, where, r, stop, undefined, turn.onHeaders);
    await turn.done(
      outcome.ok ? outcome.reply.usage.outputTokens : undefined,
      'error' in outcome ? outcome.error : undefined,
    );
    return outcome;
  };
  const compaction = await compactIfNeeded(ctx.model, summarize, spec, term.state, task, request, stop).catch(
    (err): CompactionOutcome => ({ kind: 'failed', tokens: 0, reason: ensureError(err).message }),
  );
  if (stop.aborted) return;
  if (compaction.kind === 'summarized') {
    // Journaled before it is used: a replay rebuilds the same memory without calling the model.
    const { summary, upTo, tokens, reply } = compaction;
    await term.commit({ type: 'RecordCompaction', summary, upTo, tokens, reply, at: ctx.now() });
    log.info(
      { upTo, tokens, window: spec.memory.contextWindow },
      'memory compacted: older exchanges summarized',
    );
    request = requestFor(term.state.active.get(taskId) ?? task);
  } else if (compaction.kind === 'failed' || compaction.kind === 'nothing-to-compact') {
    const why = compaction.kind === 'failed' ? compaction.reason : 'no older memory left to summarize';
    log.warn(
      { tokens: compaction.tokens, window: spec.memory.contextWindow },
      `memory not compacted: ${why}`,
    );
  }
  // Could this call pass a spending limit? Refused (and journaled) before it is paid for.
  const current = term.state.active.get(taskId) ?? task;
  const clearance = await clearSpend(ctx, current, step, request, stop, log);
  if (clearance.kind === 'no-call') return;
  request = { ...request, maxTokens: clearance.maxTokens };
  // The fleet's shared rate limit: wait for capacity (no call is made for a task stopped meanwhile).
  const rateCall = { inputTokens: clearance.inputTokens, maxTokens: request.maxTokens, step };
  const rate = await awaitRateLimit(ctx, rateCall, stop, log);
  if (rate === undefined) {
    await settleSpend(clearance, undefined, log);
    return;
  }
  log.info({ step, messages: request.messages.length }, 'calling the model');
  const onText = await liveReply(ctx, taskId, step);
  const where = { taskId, step, operation: 'task' } as const;
  const outcome = await observedModelCall(ctx, where, request, stop, onText, rate.onHeaders);
  await rate.done(
    outcome.ok ? outcome.reply.usage.outputTokens : undefined,
    'error' in outcome ? outcome.error : undefined,
  );
  await settleSpend(clearance, outcome.ok ? outcome.reply.usage : undefined, log);
  if (outcome.ok) {
    // Journaled before anything uses it: after a crash this reply is read back, never requested again.
    const { reply } = outcome;
    const journaled = await term.commit({
      type: 'RecordReply',
      taskId,
      step,
      reply,
      toolsEnabled: ctx.tools.length > 0,
      maxTurns: spec.maxTurns,
      ...(spec.delegation === undefined
        ? {}
        : {
            delegation: {
              agents: spec.delegation.agents,
              maxDepth: spec.delegation.maxDepth,
              // Results (and so the chain) are the pool's, whichever replica runs the task.
              self: ctx.pool?.name ?? ctx.name,
            },
          }),
      ...(spec.budget.maxToolCalls === undefined ? {} : { maxToolCalls: spec.budget.maxToolCalls }),
      ...(spec.timers === undefined
        ? {}
        : { timers: { maxWaitMs: spec.timers.maxWaitMs, taskDeadlineMs: spec.taskDeadlineMs } }),
      at: ctx.now(),
    });
    log.info({ step, stopReason: reply.stopReason, usage: reply.usage }, 'model reply journaled');
    for (const event of journaled)
      if (event.type === 'timer.set')
        log.info(
          { step, toolUseId: event.data.toolUseId, until: event.data.until, reason: event.data.reason },
          'timer set; the task waits without a slot',
        );
    return;
  }
  if ('abandoned' in outcome) return;
  // The failure is journaled before the wait, so the backoff and the attempt count survive a
  // restart. The retry policy (core's retry-policy.ts) decides the wait in `decide`; the random
  // draw for its jitter is made here and journaled with it.
  const { error } = outcome;
  const at = term.clock.now();
  const events = await term.commit({
    type: 'RecordModelFailure',
    taskId,
    step,
    error: { code: error.code, message: error.message },
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    retry: spec.retry,
    draw: Math.random(),
    at: at.toISOString(),
  });
  const failed = events.find((e) => e.type === 'model.failed');
  const call = failed?.type === 'model.failed' ? failed.data.call : task.failedCalls + 1;
  const retryAt = failed?.type === 'model.failed' ? failed.data.retryAt : undefined;
  const fields = { step, call, maxAttempts: spec.retry.maxAttempts, code: error.code, err: error.message };
  if (events.some((e) => e.type === 'task.failed')) log.warn(fields, 'model call failed; failing the task');
  else
    log.warn(
      { ...fields, ...(retryAt === undefined ? {} : { delayMs: Date.parse(retryAt) - at.getTime() }) },
      'model call failed; retrying after the backoff',
    );
}

/** The call's real cost into the shared spend; a failure here only leaves the hold to expire. */
async function settleSpend(
  clearance: Extract<SpendClearance, { kind: 'call' }>,
  usage: Usage | undefined,
  log: Logger,
): Promise<void> {
  await clearance
    .settle(usage)
    .catch((err) =>
      log.warn(
        { err: ensureError(err).message },
        'could not settle the call in the shared spend; its hold expires',
      ),
    );
}

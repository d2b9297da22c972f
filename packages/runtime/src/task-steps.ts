import type { Effect } from '@spool/core/internal';
import type { Logger } from 'pino';
import { type AgentContext, observedName } from './context.ts';
import { cancelOpenDelegations, delegationContext } from './delegation.ts';

type EffectOf<T extends Effect['type']> = Extract<Effect, { type: T }>;

/** `start-task`: a queued task gets a slot; journaled with the spec it runs under. */
export async function startTask(
  ctx: AgentContext,
  effect: EffectOf<'start-task'>,
  log: Logger,
): Promise<void> {
  await ctx.term.commit({ type: 'StartTask', taskId: effect.taskId, specHash: ctx.specHash, at: ctx.now() });
  log.info({ attempt: ctx.term.state.active.get(effect.taskId)?.attempt }, 'task started');
}

/** `fail-task`: a deadline or a budget ended the task; what runs for it is abandoned. */
export async function failTask(ctx: AgentContext, effect: EffectOf<'fail-task'>, log: Logger): Promise<void> {
  ctx.abortTask(effect.taskId, effect.error.message);
  await ctx.term.commit({ type: 'FailTask', taskId: effect.taskId, error: effect.error, at: ctx.now() });
  log.warn({ code: effect.error.code }, effect.error.message);
}

/**
 * `publish-result`: a finished task's result goes out (deduplicated, after the previous
 * attempt's), is journaled as published, and only then are its inbox messages acked. Open
 * sub-tasks of a task that ended without their results are cancelled first.
 */
export async function publishResult(
  ctx: AgentContext,
  effect: EffectOf<'publish-result'>,
  log: Logger,
): Promise<void> {
  const { term } = ctx;
  const ended = term.state.active.get(effect.taskId);
  if (ended !== undefined) await cancelOpenDelegations(delegationContext(ctx, log), ended);
  const { pool, keyed } = ctx;
  // A pool's results are the pool's (`spool.results.<pool>.<taskId>`), naming the replica; a
  // keyed instance's are its agent's, under its key (`spool.results.<agent>.<key>.<taskId>`).
  const result = pool
    ? { ...effect.result, agent: pool.name, replica: ctx.name }
    : keyed
      ? { ...effect.result, agent: keyed.agent, key: keyed.key }
      : effect.result;
  const outcome = await ctx.results.publish(result, effect.previousResultSeq);
  await term.commit({ type: 'MarkPublished', taskId: effect.taskId, resultSeq: outcome.seq, at: ctx.now() });
  ctx.forgetTask(effect.taskId);
  await Promise.all(ctx.held.release(effect.taskId).map((m) => m.ack()));
  pool?.finished(effect.taskId);
  const { status, usage, error } = effect.result;
  ctx.observer.taskPublished(observedName(ctx), status);
  ctx.spans.published(effect.taskId, effect.result);
  const summary = { status, usage, ...(error ? { code: error.code } : {}), resultSeq: outcome.seq };
  if (status === 'completed') log.info(summary, 'task completed; result published');
  else log.warn(summary, `task ${status}; result published`);
}

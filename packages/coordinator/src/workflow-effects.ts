import type { CoordinatorEffect, ScheduleEffect } from '@spool/core/internal';
import { sendControl, submitTask, taskOwner } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';

/**
 * Runs one effect of core's `nextCoordinator`, then journals its outcome: a step task sent,
 * a cancel sent, a task timed out, a run's result published.
 */
export async function runWorkflowEffect(
  ctx: WorkflowContext,
  effect: Exclude<CoordinatorEffect, ScheduleEffect>,
): Promise<void> {
  const { connection, term } = ctx;
  const log = term.logger.child({
    workflowId: effect.workflowId,
    ...('taskId' in effect ? { taskId: effect.taskId } : {}),
  });
  switch (effect.type) {
    case 'send-task': {
      // Journaled (dispatched) before this publish; a crash before MarkSent sends it again with
      // the same id, which the inbox's dedup window and the agent's task-id idempotency absorb.
      const sent = await submitTask(
        connection,
        effect.agent,
        { id: effect.taskId, input: effect.input, meta: effect.meta },
        { trace: ctx.spans.taskTrace(effect.taskId) },
      );
      await term.commit({ type: 'MarkSent', taskId: effect.taskId, inboxSeq: sent.seq, at: ctx.now() });
      log.info({ agent: effect.agent, inboxSeq: sent.seq, duplicate: sent.duplicate }, 'step task sent');
      return;
    }
    case 'cancel-task': {
      // A pool's task is cancelled at the replica that claimed it (the pool name otherwise).
      const owner = await taskOwner(connection, effect.agent, effect.taskId);
      await sendControl(
        connection,
        owner,
        { type: 'cancel', taskId: effect.taskId, reason: effect.reason.slice(0, 1_000) },
        `cancel:${effect.taskId}`,
      );
      await term.commit({ type: 'MarkCancelSent', taskId: effect.taskId, at: ctx.now() });
      log.info({ agent: owner, reason: effect.reason }, 'step task cancel sent');
      return;
    }
    case 'time-out': {
      await term.commit({ type: 'TimeOut', taskId: effect.taskId, at: ctx.now() });
      log.warn('step task timed out; cancelling it');
      return;
    }
    case 'publish-result': {
      const outcome = await ctx.results.publish(effect.result);
      await term.commit({
        type: 'MarkPublished',
        workflowId: effect.workflowId,
        resultSeq: outcome.seq,
        at: ctx.now(),
      });
      const { status, error } = effect.result;
      const name = ctx.term.state.workflows.get(effect.workflowId)?.workflow;
      // A rejected start may name anything: only the config's workflows become labels.
      ctx.observer.workflowFinished(name !== undefined && name in ctx.workflows ? name : 'unknown', status);
      const fields = { status, resultSeq: outcome.seq, ...(error ? { code: error.code } : {}) };
      if (status === 'completed') log.info(fields, 'workflow result published');
      else log.warn(fields, `workflow ${status}; result published${error ? `: ${error.message}` : ''}`);
      return;
    }
    default: {
      const unknown: never = effect;
      throw new Error(`unknown coordinator effect ${JSON.stringify(unknown)}`);
    }
  }
}

import { holdsSlot } from '@spool/core/internal';
import type { AgentContext } from './context.ts';

/** Journals a change of spec since the agent last worked (no drift goes unrecorded). */
export async function recordSpec(ctx: AgentContext): Promise<void> {
  const { term } = ctx;
  const previous = term.state.specHash;
  const events = await term.commit({ type: 'RecordSpec', specHash: ctx.specHash, at: ctx.now() });
  if (events.length > 0)
    term.logger.warn(
      { from: previous, to: ctx.specHash },
      'agent spec changed since its last task; recorded in the history',
    );
}

/**
 * Tasks still running when this writer took over were interrupted (their writer crashed,
 * was killed, or stopped before they finished): journal it, so a task that keeps taking
 * its writer down ends as a crash loop instead of being resumed forever.
 */
export async function markInterrupted(ctx: AgentContext): Promise<void> {
  const { term, spec } = ctx;
  const { logger } = term;
  for (const task of [...term.state.active.values()]) {
    // A task parked on delegations was only waiting: it cannot have taken its writer down.
    if (task.phase !== 'running' || !holdsSlot(task)) continue;
    const at = ctx.now();
    const events = await term.commit({
      type: 'ResumeTask',
      taskId: task.taskId,
      maxInterruptions: spec.maxInterruptions,
      at,
    });
    if (events.some((e) => e.type === 'task.failed')) {
      logger.error({ taskId: task.taskId, interruptions: task.interruptions }, 'task failed as a crash loop');
      continue;
    }
    // A non-idempotent tool that was running may or may not have taken effect: ask, do not guess.
    for (const call of task.steps.at(-1)?.tools ?? []) {
      if (call.result !== undefined || (call.starts ?? 0) === 0 || call.approval?.state === 'approved')
        continue;
      await term.commit({
        type: 'RequestApproval',
        taskId: task.taskId,
        step: task.steps.length - 1,
        toolUseId: call.toolUseId,
        reason: `the agent stopped while ${call.name} (not idempotent) was running, so it may have taken effect; approve to run it again, deny to tell the model it failed`,
        at,
      });
      logger.warn(
        { taskId: task.taskId, tool: call.name, key: call.key },
        'interrupted non-idempotent tool call waits for an operator',
      );
    }
  }
}

import {
  type AgentEvent,
  type Command,
  type DelegationEffect,
  delegationOutcome,
  ensureError,
  type TaskResult,
  type TaskState,
  type TraceContext,
} from '@spool/core/internal';
import type { Results } from '@spool/jetstream';
import type { Logger } from 'pino';
import { type AgentContext, observedName, type SubmitPort } from './context.ts';

/**
 * The runtime side of delegation: publishing a sub-task, waiting for its result, cancelling
 * the sub-tasks of a parent that ended without them. Every step is journaled by the caller's
 * `commit`, so a restart picks up exactly where this left off (see core's `delegation.ts`).
 */

export interface DelegationContext {
  readonly submit: SubmitPort | undefined;
  readonly results: Pick<Results, 'wait'>;
  readonly commit: (command: Command) => Promise<AgentEvent[]>;
  readonly now: () => string;
  readonly log: Logger;
  /** The trace context a sub-task of this task continues. */
  readonly trace: (taskId: string) => TraceContext | undefined;
  /** Reports a `delegate` call's outcome once its sub-task's result is journaled (metrics). */
  readonly delegated: (outcome: 'ok' | 'error') => void;
}

/** The delegation steps' view of the agent's term. */
export function delegationContext(ctx: AgentContext, log: Logger): DelegationContext {
  return {
    submit: ctx.submit,
    results: ctx.results,
    commit: (command) => ctx.term.commit(command),
    now: () => ctx.now(),
    log,
    trace: (taskId) => ctx.spans.propagate(taskId),
    delegated: (outcome) => ctx.observer.toolCalled(observedName(ctx), 'delegate', outcome),
  };
}

type Send = Extract<DelegationEffect, { type: 'send-delegation' }>;
type Await = Extract<DelegationEffect, { type: 'await-delegation' }>;

/** Publishes the sub-task (its id is deterministic: a re-send is the same task), then journals it as sent. */
export async function sendDelegation(ctx: DelegationContext, effect: Send): Promise<void> {
  const where = { taskId: effect.taskId, step: effect.step, toolUseId: effect.toolUseId };
  if (ctx.submit === undefined) {
    // Only an embedding that wires no submit port gets here; the model is told, the task goes on.
    await ctx.commit({
      type: 'RecordToolResult',
      ...where,
      content: 'delegation is not available: this agent runs without a way to send tasks to other agents',
      isError: true,
      at: ctx.now(),
    });
    ctx.log.error({ toolUseId: effect.toolUseId }, 'delegate called, but the agent has no submit port');
    return;
  }
  const outcome = await ctx.submit.task(
    effect.agent,
    { id: effect.childTaskId, input: effect.input, meta: effect.meta },
    ctx.trace(effect.taskId),
  );
  const sent = await ctx.commit({
    type: 'MarkDelegationSent',
    ...where,
    inboxSeq: outcome.seq,
    at: ctx.now(),
  });
  const fields = {
    step: effect.step,
    toolUseId: effect.toolUseId,
    child: { agent: effect.agent, taskId: effect.childTaskId },
    inboxSeq: outcome.seq,
    duplicate: outcome.duplicate,
  };
  if (sent.length > 0) ctx.log.info(fields, 'sub-task delegated; waiting for its result');
  else ctx.log.info(fields, 'sub-task sent after its parent ended; the cancel sent at the end applies to it');
}

/**
 * Waits for the sub-task's result (found at once when it is already stored) and journals it
 * as the call's result. Returns quietly when `signal` aborts (the agent stops, the task is
 * cancelled): nothing is journaled, and the next writer waits again.
 */
export async function awaitDelegation(
  ctx: DelegationContext,
  effect: Await,
  signal: AbortSignal,
): Promise<void> {
  let result: TaskResult;
  try {
    result = await ctx.results.wait(effect.agent, effect.childTaskId, signal);
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  if (signal.aborted) return;
  const { content, isError } = delegationOutcome(result);
  await ctx.commit({
    type: 'RecordToolResult',
    taskId: effect.taskId,
    step: effect.step,
    toolUseId: effect.toolUseId,
    content,
    isError,
    at: ctx.now(),
  });
  ctx.delegated(isError ? 'error' : 'ok');
  const fields = {
    step: effect.step,
    toolUseId: effect.toolUseId,
    child: { agent: effect.agent, taskId: effect.childTaskId, status: result.status },
  };
  if (isError)
    ctx.log.warn({ ...fields, err: content.slice(0, 300) }, 'sub-task did not complete; the model is told');
  else ctx.log.info(fields, 'sub-task result journaled');
}

/**
 * A parent that ended without the results of its sub-tasks (cancelled, failed, past its
 * deadline) cancels them: nobody waits for them any more. Each cancel is named after the
 * sub-task, so doing this again (a retried publication, a restart) sends nothing new.
 * Sub-tasks not journaled as sent are cancelled too: a publication may be in flight (or done
 * before a crash), and an agent keeps a cancel that comes first until its task arrives.
 */
export async function cancelOpenDelegations(ctx: DelegationContext, task: TaskState): Promise<void> {
  if (task.phase === 'completed' || ctx.submit === undefined) return;
  const open = (task.steps.at(-1)?.tools ?? []).filter(
    (call) => call.result === undefined && call.delegation !== undefined,
  );
  for (const call of open) {
    const child = call.delegation;
    if (child === undefined) continue;
    const reason = `the parent task ${task.taskId} of ${child.chain.at(-1) ?? 'its agent'} ended ${task.phase}`;
    try {
      await ctx.submit.control(
        child.agent,
        { type: 'cancel', taskId: child.childTaskId, reason },
        `parent-ended:${child.childTaskId}`,
      );
      ctx.log.info({ child: { agent: child.agent, taskId: child.childTaskId } }, 'open sub-task cancelled');
    } catch (err) {
      // Best effort: the parent's own result must not wait on it. The child then just finishes.
      ctx.log.warn(
        { child: { agent: child.agent, taskId: child.childTaskId }, err: ensureError(err).message },
        'could not cancel an open sub-task',
      );
    }
  }
}

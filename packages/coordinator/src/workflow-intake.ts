import {
  COORDINATOR,
  ensureError,
  IO_RETRY_MS,
  parseControlMessage,
  parseScheduleControl,
} from '@spool/core/internal';
import type { Inbox, InboxMessage } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';
import { obeyScheduleCommand } from './schedule-control.ts';
import { parseWorkflowStart } from './start-message.ts';

/**
 * Pulls one consumer and handles each message in order: workflow starts (journaled as started
 * or rejected before the ack) or cancels. A message not journaled is handed back for a retry.
 */
export async function pumpWorkflowInput(ctx: WorkflowContext, what: 'inbox' | 'control'): Promise<void> {
  const { term } = ctx;
  const consumer: Inbox = what === 'inbox' ? ctx.inbox : ctx.control;
  const handle = what === 'inbox' ? acceptStart : obeyCancel;
  const signal = term.intake;
  while (!signal.aborted) {
    let messages: InboxMessage[];
    try {
      messages = await consumer.fetch(16, ctx.fetchExpiresMs, signal);
    } catch (err) {
      if (signal.aborted) break;
      term.logger.warn({ err: ensureError(err).message }, `coordinator ${what} pull failed; retrying`);
      await term.clock.sleep(IO_RETRY_MS, signal).catch(() => undefined);
      continue;
    }
    for (const message of messages) {
      if (signal.aborted) {
        message.nak();
        continue;
      }
      await handle(ctx, message).catch((err) => {
        message.nak(IO_RETRY_MS);
        if (!signal.aborted)
          term.logger.warn(
            { [what === 'inbox' ? 'inboxSeq' : 'controlSeq']: message.seq, err: ensureError(err).message },
            `${what === 'inbox' ? 'workflow start' : 'control message'} not journaled; retried`,
          );
      });
    }
  }
}

/** A start on `spool.inbox.coordinator`: journaled as started, or rejected (with a `rejected` result). */
async function acceptStart(ctx: WorkflowContext, message: InboxMessage): Promise<void> {
  const { term, workflows } = ctx;
  const { logger } = term;
  const parsed = parseWorkflowStart(message.data, message.seq);
  const at = ctx.now();
  if (parsed.ok) {
    const { id, workflow, input } = parsed.start;
    // A run the state has let go of (published long ago) is known by its result.
    if (!term.state.workflows.has(id) && (await ctx.results.get(COORDINATOR, id)) !== undefined) {
      logger.info(
        { workflowId: id, inboxSeq: message.seq },
        'workflow id already ran; start message dropped as a duplicate',
      );
      return;
    }
    const definition = Object.hasOwn(workflows, workflow) ? workflows[workflow] : undefined;
    const events = await term.commit({
      type: 'StartWorkflow',
      workflowId: id,
      workflow,
      input,
      ...(definition === undefined ? {} : { definition }),
      inboxSeq: message.seq,
      ...(message.trace === undefined ? {} : { trace: message.trace }),
      at,
    });
    const log = logger.child({ workflowId: id, workflow, inboxSeq: message.seq });
    if (events.length === 0) log.info('workflow id already known; start message dropped as a duplicate');
    else if (definition === undefined)
      log.warn(
        `workflow start rejected: no workflow "${workflow}" in the config (${Object.keys(workflows).join(', ') || 'none defined'})`,
      );
    else log.info('workflow started');
  } else {
    const events = await term.commit({
      type: 'RejectWorkflow',
      workflowId: parsed.workflowId,
      ...(parsed.workflow === '' ? {} : { workflow: parsed.workflow }),
      error: parsed.error,
      inboxSeq: message.seq,
      at,
    });
    logger.warn(
      {
        workflowId: parsed.workflowId,
        inboxSeq: message.seq,
        code: parsed.error.code,
        journaled: events.length > 0,
      },
      `workflow start rejected: ${parsed.error.message}`,
    );
  }
  await message.ack();
  term.reconcile();
}

/**
 * Cancels (`{type: "cancel", taskId: <workflowId>}`) and schedule commands (`{type: "schedule", …}`);
 * anything else is refused in the log.
 */
async function obeyCancel(ctx: WorkflowContext, message: InboxMessage): Promise<void> {
  const { term } = ctx;
  const schedule = parseScheduleControl(message.data);
  if (schedule !== undefined) return obeyScheduleCommand(ctx, message, schedule);
  const parsed = parseControlMessage(message.data);
  if (!parsed.ok || parsed.message.type !== 'cancel') {
    const problem = parsed.ok
      ? `the coordinator only takes {"type": "cancel", "taskId": "<workflow id>"} or {"type": "schedule", …} (got "${parsed.message.type}")`
      : parsed.problem;
    term.logger.warn({ controlSeq: message.seq }, `control message refused: ${problem}`);
    await message.ack();
    return;
  }
  const { taskId: workflowId, reason } = parsed.message;
  const events = await term.commit({
    type: 'CancelWorkflow',
    workflowId,
    reason: reason ?? 'cancelled by an operator',
    at: ctx.now(),
  });
  await message.ack();
  const log = term.logger.child({ workflowId, controlSeq: message.seq });
  if (events.length === 0) log.info('cancel: nothing to do (no such workflow running)');
  else log.info('workflow cancelled; its running tasks are being cancelled');
  term.reconcile();
}

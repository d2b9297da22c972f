import type { ScheduleEffect, ScheduleEvent } from '@spool/core/internal';
import { submitTask } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';

/**
 * Runs one schedule effect of core's `nextCoordinator`: a fire decided and journaled
 * (FireSchedule), or a fire's task published and then journaled as sent. The fire is in the
 * history before its task is published, and the task id is the fire's, so a coordinator
 * killed between the two publishes the same task again, which the inbox's dedup window and
 * the agent's task-id idempotency absorb.
 */
export async function runScheduleEffect(ctx: WorkflowContext, effect: ScheduleEffect): Promise<void> {
  const { connection, term } = ctx;
  switch (effect.type) {
    case 'fire-schedule': {
      const events = await term.commit({
        type: 'FireSchedule',
        schedule: effect.schedule,
        workflows: ctx.workflows,
        at: ctx.now(),
      });
      logScheduleEvents(ctx, events as ScheduleEvent[]);
      return;
    }
    case 'send-fire': {
      const sent = await submitTask(connection, effect.agent, {
        id: effect.fireId,
        input: effect.input,
        meta: effect.meta,
      });
      await term.commit({
        type: 'MarkFireSent',
        schedule: effect.schedule,
        fireId: effect.fireId,
        inboxSeq: sent.seq,
        at: ctx.now(),
      });
      term.logger.info(
        {
          schedule: effect.schedule,
          taskId: effect.fireId,
          agent: effect.agent,
          inboxSeq: sent.seq,
          duplicate: sent.duplicate,
        },
        'scheduled task sent',
      );
      return;
    }
    default: {
      const unknown: never = effect;
      throw new Error(`unknown schedule effect ${JSON.stringify(unknown)}`);
    }
  }
}

/** One log line per fire, skip or buffered time (workflow events of a fire log themselves). */
export function logScheduleEvents(
  ctx: WorkflowContext,
  events: readonly { type: string; data: unknown }[],
): void {
  const log = ctx.term.logger;
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    const fields = { schedule: data.schedule };
    switch (event.type) {
      case 'schedule.fired':
        log.info(
          {
            ...fields,
            taskId: data.fireId,
            scheduledAt: data.scheduledAt,
            kind: data.kind,
            firedAt: data.at,
          },
          `schedule fired (${String(data.kind)})`,
        );
        break;
      case 'schedule.skipped': {
        const line = `schedule skipped ${String(data.count)} time(s) from ${String(data.from)} to ${String(data.to)} (${String(data.reason)})`;
        if (data.reason === 'catch_up') log.info({ ...fields, reason: data.reason }, line);
        else
          log.warn(
            { ...fields, reason: data.reason },
            `${line}: fires are piling up behind one that has not finished`,
          );
        break;
      }
      case 'schedule.buffered':
        log.warn(
          { ...fields, scheduledAt: data.scheduledAt },
          'schedule fire buffered: the previous fire has not finished',
        );
        break;
      case 'schedule.changed':
        log.info(
          { ...fields, created: data.created },
          data.created ? 'schedule created' : 'schedule changed; it applies from the next fire',
        );
        break;
      case 'schedule.removed':
        log.info(fields, 'schedule removed from the config; it fires no more');
        break;
      case 'schedule.paused':
        log.info({ ...fields, reason: data.reason }, 'schedule paused');
        break;
      case 'schedule.resumed':
        log.info(fields, 'schedule resumed');
        break;
      default:
        break;
    }
  }
}

import { backfillTimes, type ScheduleControl } from '@spool/core/internal';
import type { InboxMessage } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';
import { logScheduleEvents } from './schedule-effects.ts';

/**
 * An operator's schedule command from `spool.control.coordinator`: journaled (once, by the
 * message's stream sequence) before it is acknowledged. One that cannot apply (no such
 * schedule, a backfill range with no or too many times) is refused in the log and acknowledged;
 * `spool schedule` checks the same before it sends.
 */
export async function obeyScheduleCommand(
  ctx: WorkflowContext,
  message: InboxMessage,
  parsed: { ok: true; message: ScheduleControl } | { ok: false; problem: string },
): Promise<void> {
  const { term } = ctx;
  const log = term.logger.child({ controlSeq: message.seq });
  if (!parsed.ok) {
    log.warn(`control message refused: ${parsed.problem}`);
    await message.ack();
    return;
  }
  const command = parsed.message;
  const schedule = term.state.schedules.get(command.schedule);
  const refuse = async (why: string) => {
    log.warn(
      { schedule: command.schedule, action: command.action },
      `schedule ${command.action} refused: ${why}`,
    );
    await message.ack();
  };
  if (schedule === undefined || schedule.removed) {
    const names = [...term.state.schedules.values()].filter((s) => !s.removed).map((s) => s.name);
    return refuse(`no schedule "${command.schedule}" (schedules: ${names.join(', ') || 'none'})`);
  }
  if (command.action === 'backfill') {
    const times = backfillTimes(schedule, command.from, command.to);
    if (!times.ok) return refuse(times.problem);
  }
  const events = await term.commit({
    type: 'ControlSchedule',
    schedule: command.schedule,
    action: command.action,
    controlSeq: message.seq,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
    ...(command.from === undefined ? {} : { from: command.from }),
    ...(command.to === undefined ? {} : { to: command.to }),
    workflows: ctx.workflows,
    at: ctx.now(),
  });
  await message.ack();
  if (events.length === 0)
    log.info(
      { schedule: command.schedule, action: command.action },
      `schedule ${command.action}: nothing to do`,
    );
  logScheduleEvents(ctx, events);
  term.reconcile();
}

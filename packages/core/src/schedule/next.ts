import type { SchedulesState } from './evolve.ts';
import { dueAt, hasWork } from './plan.ts';
import { openFires } from './state.ts';

/** What the coordinator must do for its schedules next, as data (see workflow/next.ts). */
export type ScheduleEffect =
  /** Something is due (a time, or a buffered fire whose predecessor ended): decide FireSchedule. */
  | { type: 'fire-schedule'; schedule: string }
  /** Publish the fire's task on `spool.inbox.<agent>` with msg id = fireId, then MarkFireSent. */
  | {
      type: 'send-fire';
      schedule: string;
      fireId: string;
      agent: string;
      input: string;
      meta: { schedule: { name: string; scheduledAt: string; kind: string } };
    };

export function nextSchedules(
  state: SchedulesState,
  now: Date,
): { effects: ScheduleEffect[]; wakeAt?: number } {
  const effects: ScheduleEffect[] = [];
  const nowMs = now.getTime();
  let wakeAt: number | undefined;
  for (const schedule of state.schedules.values()) {
    for (const fire of openFires(schedule))
      if (!fire.sent && fire.agent !== undefined)
        effects.push({
          type: 'send-fire',
          schedule: schedule.name,
          fireId: fire.fireId,
          agent: fire.agent,
          input: fire.input,
          meta: { schedule: { name: schedule.name, scheduledAt: fire.scheduledAt, kind: fire.kind } },
        });
    if (hasWork(schedule, nowMs)) effects.push({ type: 'fire-schedule', schedule: schedule.name });
    else {
      const due = dueAt(schedule);
      if (due !== undefined) wakeAt = Math.min(wakeAt ?? due, due);
    }
  }
  return wakeAt === undefined ? { effects } : { effects, wakeAt };
}

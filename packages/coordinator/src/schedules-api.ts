import {
  type CoordinatorState,
  type ScheduleStatus,
  schedulesView,
  scheduleView,
} from '@spool/core/internal';

/** The answer to a `spool.api.schedules` request: every schedule's view (`spool schedule list`). */
export function answerSchedules(state: CoordinatorState): string {
  return JSON.stringify({ schedules: schedulesView(state), controlSeq: state.scheduleControlSeq });
}

/** The schedules part of a status report: each one's next fire and last fire, soonest first. */
export function scheduleStatus(state: CoordinatorState): { schedules: ScheduleStatus[] } {
  const schedules = [...state.schedules.values()]
    .filter((schedule) => !schedule.removed)
    .map((schedule): ScheduleStatus => {
      const view = scheduleView(schedule);
      return {
        name: view.name,
        target: view.agent ?? `workflow ${view.workflow ?? ''}`,
        paused: view.paused,
        ...(view.nextFireAt === undefined ? {} : { nextFireAt: view.nextFireAt }),
        ...(view.lastFire === undefined
          ? {}
          : {
              lastFire: {
                fireId: view.lastFire.fireId,
                status: view.lastFire.status,
                firedAt: view.lastFire.firedAt,
              },
            }),
        open: view.open.length,
        ...(view.warning === undefined ? {} : { warning: view.warning }),
      };
    });
  schedules.sort((a, b) => (a.nextFireAt ?? '~').localeCompare(b.nextFireAt ?? '~'));
  return { schedules };
}

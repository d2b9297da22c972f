import type { TaskError } from '../result.ts';
import type { SchedulesState } from './evolve.ts';
import { dueAt } from './plan.ts';
import { openFires, type ScheduleSkip, type ScheduleState } from './state.ts';
import { nextTimeAfter } from './times.ts';

export interface ScheduleFireView {
  fireId: string;
  scheduledAt: string;
  firedAt: string;
  kind: string;
  status: string;
  finishedAt?: string;
  error?: TaskError;
}

/** A schedule as `spool schedule list` and `spool status` show it (JSON-able). */
export interface ScheduleView {
  name: string;
  agent?: string;
  workflow?: string;
  every?: number;
  cron?: string;
  timezone?: string;
  overlap: string;
  catchUp: string;
  maxCatchUp: number;
  jitterMs: number;
  paused: boolean;
  pausedReason?: string;
  removed: boolean;
  /** The next nominal time, and when it fires (its jitter included). */
  nextScheduledAt?: string;
  nextFireAt?: string;
  lastFire?: ScheduleFireView;
  open: ScheduleFireView[];
  buffered?: string;
  lastSkip?: ScheduleSkip;
  fired: number;
  skipped: number;
  /** Fires pile up behind a fire that does not end: said in the list and the logs. */
  warning?: string;
}

export function scheduleView(schedule: ScheduleState): ScheduleView {
  const { spec } = schedule;
  const open = openFires(schedule);
  const last = schedule.fires.at(-1);
  const next = schedule.paused || schedule.removed ? undefined : nextTimeAfter(spec, schedule.cursor);
  const due = dueAt(schedule);
  const warning = pileUp(schedule);
  return {
    name: schedule.name,
    ...(spec.agent === undefined ? {} : { agent: spec.agent }),
    ...(spec.workflow === undefined ? {} : { workflow: spec.workflow }),
    ...(spec.everyMs === undefined ? {} : { every: spec.everyMs }),
    ...(spec.cron === undefined ? {} : { cron: spec.cron }),
    ...(spec.timezone === undefined ? {} : { timezone: spec.timezone }),
    overlap: spec.overlap,
    catchUp: spec.catchUp,
    maxCatchUp: spec.maxCatchUp,
    jitterMs: spec.jitterMs,
    paused: schedule.paused,
    ...(schedule.pausedReason === undefined ? {} : { pausedReason: schedule.pausedReason }),
    removed: schedule.removed,
    ...(next === undefined ? {} : { nextScheduledAt: new Date(next).toISOString() }),
    ...(due === undefined ? {} : { nextFireAt: new Date(due).toISOString() }),
    ...(last === undefined ? {} : { lastFire: fireView(last) }),
    open: open.map(fireView),
    ...(schedule.buffered === undefined ? {} : { buffered: new Date(schedule.buffered).toISOString() }),
    ...(schedule.lastSkip === undefined ? {} : { lastSkip: schedule.lastSkip }),
    fired: schedule.fired,
    skipped: schedule.skipped,
    ...(warning === undefined ? {} : { warning }),
  };
}

export function schedulesView(state: SchedulesState): ScheduleView[] {
  return [...state.schedules.values()].map(scheduleView).sort((a, b) => a.name.localeCompare(b.name));
}

/** A schedule whose fires are held back behind an open one (buffered or skipped for overlap). */
export function pileUp(schedule: ScheduleState): string | undefined {
  const open = openFires(schedule);
  const oldest = open[0];
  if (oldest === undefined) return undefined;
  const skip = schedule.lastSkip;
  const heldBack =
    schedule.buffered !== undefined ||
    (skip !== undefined && skip.reason !== 'catch_up' && skip.at >= oldest.firedAt);
  if (!heldBack) return undefined;
  return `fires are piling up: ${oldest.fireId} (fired ${oldest.firedAt}) has not finished${schedule.buffered === undefined ? '' : '; one fire is buffered'}${skip === undefined || skip.reason === 'catch_up' ? '' : `; later times are dropped (${skip.reason})`}`;
}

function fireView(fire: ScheduleState['fires'][number]): ScheduleFireView {
  return {
    fireId: fire.fireId,
    scheduledAt: fire.scheduledAt,
    firedAt: fire.firedAt,
    kind: fire.kind,
    status: fire.status,
    ...(fire.finishedAt === undefined ? {} : { finishedAt: fire.finishedAt }),
    ...(fire.error === undefined ? {} : { error: fire.error }),
  };
}

import type { FireKind, SkipReason } from './events.ts';
import { openFires, type ScheduleState } from './state.ts';
import { countBetween, jitterOf, nextTimeAfter, periodOf, timesBetween } from './times.ts';

/**
 * What a schedule owes at `now`, as a plan of nominal times to fire, buffer or skip. Pure: the
 * coordinator journals the plan (schedule/decide.ts), and the same state and time give the
 * same plan, so a plan cut short by a crash is made again and completed, never doubled.
 *
 * Catch-up: a time is on time while at most ON_TIME_MS (or half a period, when shorter) has
 * passed since it came due; later, it was missed (the coordinator was down, or paused its
 * work), and `catchUp` decides: `all` fires each missed time (the newest `maxCatchUp`),
 * `once` fires the newest one for the whole gap, `skip` fires none.
 * Overlap: while an earlier fire of the schedule is open, `skip` drops the time, `allow` fires
 * it anyway (up to MAX_OPEN_FIRES open at once), `buffer_one` holds one time back until the
 * open fire ends and drops the rest.
 */

export const ON_TIME_MS = 10_000;
/** Open fires of one schedule at most under `overlap: "allow"`: a stuck agent does not pile up fires without bound. */
export const MAX_OPEN_FIRES = 100;

export type PlanStep =
  | { kind: 'fire'; time: number; fireKind: FireKind }
  | { kind: 'buffer'; time: number }
  | { kind: 'skip'; from: number; to: number; count: number; reason: SkipReason };

/** When the schedule's next time comes due (its jitter included), or undefined: paused, removed, or none left. */
export function dueAt(schedule: ScheduleState): number | undefined {
  if (schedule.paused || schedule.removed) return undefined;
  const time = nextTimeAfter(schedule.spec, schedule.cursor);
  return time === undefined ? undefined : time + jitterOf(schedule.name, schedule.spec, time);
}

/** Whether the schedule has anything to do at `now` (so `next` asks for a FireSchedules). */
export function hasWork(schedule: ScheduleState, now: number): boolean {
  if (schedule.paused || schedule.removed) return false;
  if (schedule.buffered !== undefined && openFires(schedule).length === 0) return true;
  const due = dueAt(schedule);
  return due !== undefined && due <= now;
}

export function planSchedule(schedule: ScheduleState, now: number): PlanStep[] {
  if (schedule.paused || schedule.removed) return [];
  const { spec, name } = schedule;
  const steps: PlanStep[] = [];
  let open = openFires(schedule).length;
  let buffered = schedule.buffered;
  if (buffered !== undefined && open === 0) {
    steps.push({ kind: 'fire', time: buffered, fireKind: 'buffered' });
    buffered = undefined;
    open += 1;
  }
  // The times come due in order; one whose jitter still runs ends the list (it is next turn's).
  const bound = Math.max(spec.maxCatchUp, 1);
  const candidates = timesBetween(spec, schedule.cursor, now, bound);
  const due: number[] = [];
  for (const time of candidates) {
    if (time + jitterOf(name, spec, time) > now) break;
    due.push(time);
  }
  const newest = due.at(-1);
  if (newest === undefined) return steps;
  // Times older than the bound of `timesBetween` were dropped: they are skipped with the rest.
  const first = due[0] as number;
  const older = countBetween(spec, schedule.cursor, first - 1);
  const lateBy = now - (newest + jitterOf(name, spec, newest));
  const onTime = lateBy <= Math.min(ON_TIME_MS, periodOf(spec, newest) / 2);
  let toFire: number[];
  let skippedOfDue: number[];
  if (spec.catchUp === 'all') {
    toFire = due;
    skippedOfDue = [];
  } else if (spec.catchUp === 'once' || onTime) {
    toFire = [newest];
    skippedOfDue = due.slice(0, -1);
  } else {
    toFire = [];
    skippedOfDue = due;
  }
  const caughtUp = skippedOfDue.length + older;
  if (caughtUp > 0) {
    const from = older > 0 ? (nextTimeAfter(spec, schedule.cursor) as number) : first;
    const to = skippedOfDue.at(-1) ?? first - 1;
    steps.push({ kind: 'skip', from, to: Math.max(to, from), count: caughtUp, reason: 'catch_up' });
  }
  for (const time of toFire) {
    const fireKind: FireKind = time === newest && onTime ? 'scheduled' : 'catch-up';
    if (open === 0 || (spec.overlap === 'allow' && open < MAX_OPEN_FIRES)) {
      steps.push({ kind: 'fire', time, fireKind });
      open += 1;
    } else if (spec.overlap === 'buffer_one' && buffered === undefined) {
      steps.push({ kind: 'buffer', time });
      buffered = time;
    } else {
      const reason: SkipReason =
        spec.overlap === 'allow'
          ? 'too_many_open'
          : spec.overlap === 'buffer_one'
            ? 'buffer_full'
            : 'overlap';
      steps.push({ kind: 'skip', from: time, to: time, count: 1, reason });
    }
  }
  return steps;
}

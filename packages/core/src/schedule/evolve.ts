import type { TaskError } from '../result.ts';
import type { ScheduleEvent } from './events.ts';
import { LAST_OUTPUT_CHARS, type SchedulesState, trimFires } from './state.ts';

export type { SchedulesState } from './state.ts';

/** Folds one schedule event. Pure and total: unknown schedules and repeats change nothing. */
export function evolveSchedules(state: SchedulesState, event: ScheduleEvent): void {
  const d = event.data;
  const schedule = state.schedules.get(d.schedule);
  if ('controlSeq' in d && d.controlSeq !== undefined)
    state.scheduleControlSeq = Math.max(state.scheduleControlSeq, d.controlSeq);
  switch (event.type) {
    case 'schedule.changed': {
      const { spec, at } = event.data;
      if (schedule === undefined) {
        state.schedules.set(d.schedule, {
          name: d.schedule,
          spec,
          cursor: Date.parse(at),
          paused: spec.paused,
          removed: false,
          fires: [],
          fired: 0,
          skipped: 0,
        });
        return;
      }
      // The config's `paused` wins only when it changed; otherwise an operator's pause stands.
      if (spec.paused !== schedule.spec.paused) schedule.paused = spec.paused;
      // Back in the config after a removal: it starts again from now, owing nothing.
      if (schedule.removed) schedule.cursor = Math.max(schedule.cursor, Date.parse(at));
      schedule.removed = false;
      schedule.spec = spec;
      return;
    }
    case 'schedule.removed':
      if (schedule !== undefined) {
        schedule.removed = true;
        schedule.buffered = undefined;
      }
      return;
    case 'schedule.fired': {
      const e = event.data;
      if (schedule === undefined || schedule.fires.some((fire) => fire.fireId === e.fireId)) return;
      schedule.fires.push({
        fireId: e.fireId,
        scheduledAt: e.scheduledAt,
        firedAt: e.at,
        kind: e.kind,
        ...(e.agent === undefined ? {} : { agent: e.agent }),
        ...(e.workflow === undefined ? {} : { workflow: e.workflow }),
        input: e.input,
        // A workflow run is started in the same commit: nothing is left to send.
        sent: e.workflow !== undefined,
        status: 'running',
      });
      schedule.fired += 1;
      state.fires.set(e.fireId, d.schedule);
      const time = Date.parse(e.scheduledAt);
      if (e.kind === 'buffered' && schedule.buffered === time) schedule.buffered = undefined;
      if (e.kind === 'scheduled' || e.kind === 'catch-up') schedule.cursor = Math.max(schedule.cursor, time);
      return;
    }
    case 'schedule.skipped': {
      if (schedule === undefined) return;
      const e = event.data;
      schedule.cursor = Math.max(schedule.cursor, Date.parse(e.to));
      schedule.skipped += e.count;
      schedule.lastSkip = { from: e.from, to: e.to, count: e.count, reason: e.reason, at: e.at };
      return;
    }
    case 'schedule.buffered': {
      if (schedule === undefined) return;
      const time = Date.parse(event.data.scheduledAt);
      schedule.buffered = time;
      schedule.cursor = Math.max(schedule.cursor, time);
      return;
    }
    case 'schedule.task_sent': {
      const fire = schedule?.fires.find((f) => f.fireId === event.data.fireId);
      if (fire !== undefined) fire.sent = true;
      return;
    }
    case 'schedule.fire_finished': {
      const e = event.data;
      finishFire(state, e.fireId, e.status, e.output, e.error, e.at);
      return;
    }
    case 'schedule.paused':
      if (schedule !== undefined) {
        schedule.paused = true;
        schedule.pausedReason = event.data.reason;
      }
      return;
    case 'schedule.resumed':
      if (schedule?.paused) {
        schedule.paused = false;
        schedule.pausedReason = undefined;
        // Times that passed while paused are not owed: it goes on from the resume.
        schedule.cursor = Math.max(schedule.cursor, Date.parse(event.data.at));
      }
      return;
    default:
      unknownScheduleEvent(event);
  }
}

/** Every schedule event is handled above (a new one forgotten here is a compile error). */
function unknownScheduleEvent(_event: never): void {}

/**
 * An open fire ended: its task's result (`schedule.fire_finished`) or its workflow run's end
 * (`workflow.finished`, folded here too, so a run's end needs no second event).
 */
export function finishFire(
  state: SchedulesState,
  fireId: string,
  status: 'completed' | 'failed' | 'cancelled',
  output: string | undefined,
  error: TaskError | undefined,
  at: string,
): void {
  const name = state.fires.get(fireId);
  const schedule = name === undefined ? undefined : state.schedules.get(name);
  const fire = schedule?.fires.find((f) => f.fireId === fireId);
  if (schedule === undefined || fire === undefined || fire.status !== 'running') return;
  fire.status = status;
  fire.finishedAt = at;
  if (error !== undefined) fire.error = error;
  if (status === 'completed' && output !== undefined)
    schedule.lastOutput = output.slice(0, LAST_OUTPUT_CHARS);
  state.fires.delete(fireId);
  trimFires(schedule);
}

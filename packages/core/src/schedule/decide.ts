import type { WorkflowDef } from '../workflow/definition.ts';
import type { ScheduleSpec } from './definition.ts';
import { type FireKind, scheduleEventIds as ids, type ScheduleEvent } from './events.ts';
import { planSchedule } from './plan.ts';
import type { ScheduleState, SchedulesState } from './state.ts';
import { fireId, timesBetween, triggerId } from './times.ts';

export type { ScheduleEvent } from './events.ts';

/** Backfills fire at most this many times in one command (`spool schedule backfill`). */
export const MAX_BACKFILL = 100;
/** Plan steps journaled in one commit: a long catch-up goes on in the next (the plan is made again). */
const STEPS_PER_COMMIT = 50;

/** What the coordinator asks of the schedules; `decideSchedules` answers with events. */
export type ScheduleCommand =
  /** The config's schedules, at every start: new, changed and removed ones are journaled. */
  | { type: 'ConfigureSchedules'; schedules: Readonly<Record<string, ScheduleSpec>>; at: string }
  /** Fire (or buffer, or skip) what the schedule owes now. */
  | {
      type: 'FireSchedule';
      schedule: string;
      /** The config's workflows, for a schedule that starts runs. */
      workflows?: Readonly<Record<string, WorkflowDef>> | undefined;
      at: string;
    }
  | { type: 'MarkFireSent'; schedule: string; fireId: string; inboxSeq: number; at: string }
  /** An operator's command from `spool.control.coordinator`, journaled once (by its stream sequence). */
  | {
      type: 'ControlSchedule';
      schedule: string;
      action: 'pause' | 'resume' | 'trigger' | 'backfill';
      controlSeq: number;
      reason?: string | undefined;
      from?: string | undefined;
      to?: string | undefined;
      workflows?: Readonly<Record<string, WorkflowDef>> | undefined;
      at: string;
    };

/** Starts a workflow run for a fire (the workflow decider's StartWorkflow), in the fire's commit. */
export type StartRun<E> = (runId: string, workflow: string, input: string) => E[];

/**
 * Decides the events of a schedule command from the state alone, like the workflows'
 * decide: the same state and command give the same events, and one that no longer applies
 * gives none. Events of workflow runs a fire starts come from `startRun`.
 */
export function decideSchedules<E extends { id: string }>(
  state: SchedulesState & { seq: number },
  command: ScheduleCommand,
  startRun: StartRun<E>,
): (ScheduleEvent | E)[] {
  const { at } = command;
  switch (command.type) {
    case 'ConfigureSchedules': {
      const events: ScheduleEvent[] = [];
      for (const [name, spec] of Object.entries(command.schedules)) {
        const known = state.schedules.get(name);
        if (known !== undefined && !known.removed && sameSpec(known.spec, spec)) continue;
        events.push({
          id: ids.changed(name, state.seq),
          type: 'schedule.changed',
          v: 1,
          data: { schedule: name, spec: { ...spec }, created: known === undefined, at },
        });
      }
      for (const [name, known] of state.schedules)
        if (!known.removed && !Object.hasOwn(command.schedules, name))
          events.push({
            id: ids.removed(name, state.seq),
            type: 'schedule.removed',
            v: 1,
            data: { schedule: name, at },
          });
      return events;
    }
    case 'FireSchedule': {
      const schedule = state.schedules.get(command.schedule);
      if (schedule === undefined) return [];
      const events: (ScheduleEvent | E)[] = [];
      for (const step of planSchedule(schedule, Date.parse(at)).slice(0, STEPS_PER_COMMIT)) {
        if (step.kind === 'fire') events.push(...fire(schedule, step.time, step.fireKind, at, startRun));
        else if (step.kind === 'buffer')
          events.push({
            id: ids.buffered(schedule.name, iso(step.time)),
            type: 'schedule.buffered',
            v: 1,
            data: { schedule: schedule.name, scheduledAt: iso(step.time), at },
          });
        else
          events.push({
            id: ids.skipped(schedule.name, iso(step.to), step.reason),
            type: 'schedule.skipped',
            v: 1,
            data: {
              schedule: schedule.name,
              from: iso(step.from),
              to: iso(step.to),
              count: step.count,
              reason: step.reason,
              at,
            },
          });
      }
      return events;
    }
    case 'MarkFireSent': {
      const fire = state.schedules.get(command.schedule)?.fires.find((f) => f.fireId === command.fireId);
      if (fire === undefined || fire.sent) return [];
      return [
        {
          id: ids.sent(command.fireId),
          type: 'schedule.task_sent',
          v: 1,
          data: { schedule: command.schedule, fireId: command.fireId, inboxSeq: command.inboxSeq, at },
        },
      ];
    }
    case 'ControlSchedule': {
      const schedule = state.schedules.get(command.schedule);
      if (schedule === undefined || schedule.removed || command.controlSeq <= state.scheduleControlSeq)
        return [];
      const { controlSeq } = command;
      const name = schedule.name;
      switch (command.action) {
        case 'pause':
          if (schedule.paused) return [];
          return [
            {
              id: ids.control(name, 'paused', controlSeq),
              type: 'schedule.paused',
              v: 1,
              data: {
                schedule: name,
                ...(command.reason === undefined ? {} : { reason: command.reason }),
                controlSeq,
                at,
              },
            },
          ];
        case 'resume':
          if (!schedule.paused) return [];
          return [
            {
              id: ids.control(name, 'resumed', controlSeq),
              type: 'schedule.resumed',
              v: 1,
              data: { schedule: name, controlSeq, at },
            },
          ];
        case 'trigger': {
          // An operator asked for it: it fires whatever the overlap policy says, under its own id.
          const time = Math.floor(Date.parse(at) / 1_000) * 1_000;
          return fire(schedule, time, 'trigger', at, startRun, triggerId(name, time, controlSeq), controlSeq);
        }
        case 'backfill': {
          const times = backfillTimes(schedule, command.from, command.to);
          if (!times.ok) return [];
          return times.times.flatMap((time) =>
            fire(schedule, time, 'backfill', at, startRun, fireId(name, time), controlSeq),
          );
        }
        default:
          return [];
      }
    }
    default: {
      const unknown: never = command;
      throw new Error(`unhandled schedule command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The nominal times a backfill from..to (inclusive) fires, or why it cannot. */
export function backfillTimes(
  schedule: Pick<ScheduleState, 'spec'>,
  from: string | undefined,
  to: string | undefined,
): { ok: true; times: number[] } | { ok: false; problem: string } {
  const start = Date.parse(from ?? '');
  const end = Date.parse(to ?? '');
  if (Number.isNaN(start) || Number.isNaN(end))
    return { ok: false, problem: 'give --from and --to as ISO times, e.g. 2026-11-29T00:00:00Z' };
  if (end < start) return { ok: false, problem: '--to is before --from' };
  const times = timesBetween(schedule.spec, start - 1, end, MAX_BACKFILL + 1);
  if (times.length > MAX_BACKFILL)
    return {
      ok: false,
      problem: `more than ${MAX_BACKFILL} fire times lie between --from and --to: backfill a shorter range at a time`,
    };
  if (times.length === 0)
    return { ok: false, problem: 'no fire time of the schedule lies between --from and --to' };
  return { ok: true, times };
}

function fire<E>(
  schedule: ScheduleState,
  time: number,
  kind: FireKind,
  at: string,
  startRun: StartRun<E>,
  id = fireId(schedule.name, time),
  controlSeq?: number,
): (ScheduleEvent | E)[] {
  const scheduledAt = iso(time);
  if (schedule.fires.some((f) => f.fireId === id)) {
    if (kind === 'trigger' || kind === 'backfill') return [];
    // A backfill fired this time already: the cursor still moves past it.
    const data = {
      schedule: schedule.name,
      from: scheduledAt,
      to: scheduledAt,
      count: 1,
      reason: 'already_fired' as const,
      at,
    };
    return [
      { id: ids.skipped(schedule.name, scheduledAt, data.reason), type: 'schedule.skipped', v: 1, data },
    ];
  }
  const { spec } = schedule;
  const input = renderScheduleInput(spec.input, {
    scheduledAt,
    lastOutput: schedule.lastOutput ?? '',
    schedule: schedule.name,
  });
  const fired: ScheduleEvent = {
    id: ids.fired(id),
    type: 'schedule.fired',
    v: 1,
    data: {
      schedule: schedule.name,
      fireId: id,
      scheduledAt,
      kind,
      ...(spec.agent === undefined ? {} : { agent: spec.agent }),
      ...(spec.workflow === undefined ? {} : { workflow: spec.workflow }),
      input,
      ...(controlSeq === undefined ? {} : { controlSeq }),
      at,
    },
  };
  return spec.workflow === undefined ? [fired] : [fired, ...startRun(id, spec.workflow, input)];
}

/** A schedule's input template: `{{scheduledAt}}`, `{{lastOutput}}`, `{{schedule}}`, in one pass. */
export function renderScheduleInput(
  template: string,
  values: { scheduledAt: string; lastOutput: string; schedule: string },
): string {
  return template.replace(
    /\{\{\s*(scheduledAt|lastOutput|schedule)\s*\}\}/g,
    (_, name: keyof typeof values) => values[name],
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sameSpec(a: ScheduleSpec, b: ScheduleSpec): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(spec: ScheduleSpec): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(spec)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

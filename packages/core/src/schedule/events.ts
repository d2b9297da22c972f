import { z } from 'zod';
import { eventV1, iso } from '../event-schema.ts';
import { TaskErrorSchema } from '../result.ts';
import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from './definition.ts';

/**
 * The schedules' events, journaled on `spool.history.coordinator` beside the workflows'. A
 * fire is journaled (`schedule.fired`, which moves the schedule's cursor past its time) before
 * its task is published, so a coordinator killed anywhere neither fires a time twice nor
 * forgets one it owes.
 */

const seq = z.number().int().nonnegative();

export const ScheduleSpecSchema = z.object({
  agent: z.string().optional(),
  workflow: z.string().optional(),
  input: z.string(),
  everyMs: z.number().int().positive().optional(),
  cron: z.string().optional(),
  timezone: z.string().optional(),
  jitterMs: z.number().int().nonnegative(),
  overlap: z.enum(OVERLAP_POLICIES),
  catchUp: z.enum(CATCH_UP_POLICIES),
  maxCatchUp: z.number().int().positive(),
  paused: z.boolean(),
});

/** A schedule of the config, new or changed: it fires by this spec from its next time on. */
export const ScheduleChangedV1 = eventV1(
  'schedule.changed',
  z.object({ schedule: z.string(), spec: ScheduleSpecSchema, created: z.boolean(), at: iso }),
);

/** A schedule no longer in the config: it fires no more (its open fires finish). */
export const ScheduleRemovedV1 = eventV1('schedule.removed', z.object({ schedule: z.string(), at: iso }));

export const FIRE_KINDS = ['scheduled', 'catch-up', 'buffered', 'trigger', 'backfill'] as const;
export type FireKind = (typeof FIRE_KINDS)[number];

/** One fire: its task (or workflow run) `fireId` is decided here, and sent after this is journaled. */
export const ScheduleFiredV1 = eventV1(
  'schedule.fired',
  z.object({
    schedule: z.string(),
    fireId: z.string(),
    /** The nominal time (ISO); the moment it fired is `at`. */
    scheduledAt: iso,
    kind: z.enum(FIRE_KINDS),
    agent: z.string().optional(),
    workflow: z.string().optional(),
    input: z.string(),
    /** The operator command it answers (trigger, backfill). */
    controlSeq: seq.optional(),
    at: iso,
  }),
);

/** `already_fired`: a backfill or trigger already fired that time under its id. */
export const SKIP_REASONS = ['catch_up', 'overlap', 'buffer_full', 'too_many_open', 'already_fired'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Nominal times not fired, and why: `count` of them from `from` to `to` (the cursor moves to `to`). */
export const ScheduleSkippedV1 = eventV1(
  'schedule.skipped',
  z.object({
    schedule: z.string(),
    from: iso,
    to: iso,
    count: z.number().int().positive(),
    reason: z.enum(SKIP_REASONS),
    at: iso,
  }),
);

/** A time held back while the previous fire runs (`overlap: "buffer_one"`); it fires when that one ends. */
export const ScheduleBufferedV1 = eventV1(
  'schedule.buffered',
  z.object({ schedule: z.string(), scheduledAt: iso, at: iso }),
);

export const ScheduleTaskSentV1 = eventV1(
  'schedule.task_sent',
  z.object({ schedule: z.string(), fireId: z.string(), inboxSeq: seq, at: iso }),
);

export const ScheduleFireFinishedV1 = eventV1(
  'schedule.fire_finished',
  z.object({
    schedule: z.string(),
    fireId: z.string(),
    status: z.enum(['completed', 'failed', 'cancelled']),
    output: z.string().optional(),
    error: TaskErrorSchema.optional(),
    at: iso,
  }),
);

/** An operator paused or resumed the schedule (`spool schedule pause|resume`), or the config did. */
export const SchedulePausedV1 = eventV1(
  'schedule.paused',
  z.object({ schedule: z.string(), reason: z.string().optional(), controlSeq: seq.optional(), at: iso }),
);
export const ScheduleResumedV1 = eventV1(
  'schedule.resumed',
  z.object({ schedule: z.string(), controlSeq: seq.optional(), at: iso }),
);

export const SCHEDULE_EVENTS = [
  ScheduleChangedV1,
  ScheduleRemovedV1,
  ScheduleFiredV1,
  ScheduleSkippedV1,
  ScheduleBufferedV1,
  ScheduleTaskSentV1,
  ScheduleFireFinishedV1,
  SchedulePausedV1,
  ScheduleResumedV1,
] as const;

/** Deterministic ids: the same decision always has the same id. */
export const scheduleEventIds = {
  changed: (schedule: string, seqNo: number) => `coordinator:schedule:${schedule}:changed:${seqNo}`,
  removed: (schedule: string, seqNo: number) => `coordinator:schedule:${schedule}:removed:${seqNo}`,
  fired: (fireId: string) => `coordinator:${fireId}:fired`,
  skipped: (schedule: string, to: string, reason: string) =>
    `coordinator:schedule:${schedule}:skipped:${to}:${reason}`,
  buffered: (schedule: string, scheduledAt: string) =>
    `coordinator:schedule:${schedule}:buffered:${scheduledAt}`,
  sent: (fireId: string) => `coordinator:${fireId}:fire-sent`,
  finished: (fireId: string) => `coordinator:${fireId}:fire-finished`,
  control: (schedule: string, what: string, seqNo: number) =>
    `coordinator:schedule:${schedule}:${what}:${seqNo}`,
};

export type ScheduleEvent = z.infer<(typeof SCHEDULE_EVENTS)[number]>;

import { z } from 'zod';
import { SCHEDULE_NAME_PATTERN } from './definition.ts';

/**
 * An operator's command on a schedule, sent on `spool.control.coordinator` (`spool schedule
 * pause|resume|trigger|backfill`). The coordinator journals it once, by its stream sequence.
 */
export const ScheduleControlSchema = z.strictObject({
  type: z.literal('schedule'),
  action: z.enum(
    ['pause', 'resume', 'trigger', 'backfill'],
    'must be "pause", "resume", "trigger" or "backfill"',
  ),
  schedule: z.string().regex(SCHEDULE_NAME_PATTERN, 'must be a schedule name'),
  reason: z.string().max(1_000).optional(),
  /** Backfill: the first and last nominal times to fire (ISO), inclusive. */
  from: z.string().optional(),
  to: z.string().optional(),
});
export type ScheduleControl = z.infer<typeof ScheduleControlSchema>;

const EXAMPLE =
  'send {"type": "schedule", "action": "pause" | "resume" | "trigger", "schedule": "<name>"} or add "from" and "to" (ISO times) for "backfill"';

/** A schedule command, `undefined` when the message is not about schedules, or why it is unusable. */
export function parseScheduleControl(
  raw: string,
): { ok: true; message: ScheduleControl } | { ok: false; problem: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if ((value as { type?: unknown } | null)?.type !== 'schedule') return undefined;
  const parsed = ScheduleControlSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : 'message';
  return {
    ok: false,
    problem: `invalid schedule command: ${field}: ${issue?.message ?? 'invalid'}; ${EXAMPLE}`,
  };
}

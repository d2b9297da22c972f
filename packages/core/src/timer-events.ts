import { z } from 'zod';
import { eventV1, iso } from './event-schema.ts';

/**
 * Durable timers' history event. Kept apart from `timers.ts` so that `agent-events.ts` can
 * put it in the union without an import cycle.
 */

/** A `wait` call the model made, accepted: the task parks until `until`, journaled with the reply. */
export const TimerSetV1 = eventV1(
  'timer.set',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    /** When the task goes on (ISO). */
    until: iso,
    /** What the model said it waits for, if anything. */
    reason: z.string().optional(),
    at: iso,
  }),
);

export const timerEventIds = {
  set: (agent: string, taskId: string, attempt: number, step: number, toolUseId: string) =>
    `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:timer-set`,
};

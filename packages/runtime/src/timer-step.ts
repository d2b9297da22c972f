import { type TimerEffect, timerOutcome } from '@spool/core/internal';
import type { Logger } from 'pino';
import type { AgentContext } from './context.ts';

/**
 * A durable timer came due (core's `next` asks only once the clock has passed `until`, and the
 * kernel's alarms wake the agent then): the `wait` call's result is journaled, saying how long
 * the task waited, and the next model call goes on. A timer that came due while no process ran
 * the agent fires at once on replay; one journaled twice is recognised (RecordToolResult).
 */
export async function fireTimer(ctx: AgentContext, effect: TimerEffect, log: Logger): Promise<void> {
  const at = ctx.now();
  const events = await ctx.term.commit({
    type: 'RecordToolResult',
    taskId: effect.taskId,
    step: effect.step,
    toolUseId: effect.toolUseId,
    content: timerOutcome(effect, at),
    isError: false,
    at,
  });
  if (events.length > 0)
    log.info(
      {
        step: effect.step,
        toolUseId: effect.toolUseId,
        until: effect.until,
        waitedMs: Date.parse(at) - Date.parse(effect.setAt),
        driftMs: Date.parse(at) - Date.parse(effect.until),
      },
      'timer fired; the task goes on',
    );
}

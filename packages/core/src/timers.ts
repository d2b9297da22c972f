import { z } from 'zod';
import type { AgentEvent } from './agent-events.ts';
import { toolCallRefused } from './agent-event-builders.ts';
import { formatDuration, parseDuration } from './schedule/duration.ts';
import type { TaskState, ToolCall } from './state.ts';
import { timerEventIds } from './timer-events.ts';
import type { ToolDefinition } from './tools.ts';

/**
 * Durable timers: the built-in `wait` tool lets the model continue a task later ("look again
 * in two hours"). The call is journaled with the reply as `timer.set`; the task then parks
 * without a concurrency slot (like a parked delegation) and, at the time, the call's result
 * says how long it waited and the next model call goes on. The wait is in the history, so a
 * restart or a takeover waits on for what is left, and the model is never asked again for the
 * step that set it.
 */

export const WAIT_TOOL = 'wait';
export const DEFAULT_MAX_WAIT_MS = 7 * 86_400_000;

/** An agent's `timers` setting: it gets the `wait` tool, bounded by `maxWait`. */
export const TimersSchema = z
  .strictObject({
    maxWait: z
      .union([z.string(), z.number()])
      .transform((value, ctx) => {
        const parsed = parseDuration(value);
        if (parsed.ok && parsed.ms >= 1_000) return parsed.ms;
        ctx.addIssue({ code: 'custom', message: parsed.ok ? 'must be at least 1s' : parsed.problem });
        return z.NEVER;
      })
      .default(DEFAULT_MAX_WAIT_MS),
  })
  .transform((timers) => ({ maxWaitMs: timers.maxWait }));
export type Timers = z.infer<typeof TimersSchema>;

/** The `wait` tool as the Messages API takes it. */
export function waitTool(timers: Timers): ToolDefinition {
  return {
    name: WAIT_TOOL,
    description: [
      'Pauses this task and continues it later: at `wait_until` (an ISO 8601 time) or after `wait_for` (a duration such as "90s", "15m", "2h").',
      `The wait is durable (it survives restarts) and at most ${formatDuration(timers.maxWaitMs)}. The result says how long you waited; then go on with the task.`,
      'Use it to look again later (a job that is still running, a page that may change), not to slow down.',
    ].join(' '),
    input_schema: {
      type: 'object',
      properties: {
        wait_until: {
          type: 'string',
          description: 'When to continue, ISO 8601 with a time zone, e.g. 2026-11-29T14:00:00Z.',
        },
        wait_for: { type: 'string', description: 'How long to wait, e.g. "90s", "15m", "2h".' },
        reason: { type: 'string', description: 'What you are waiting for (shown to operators).' },
      },
      additionalProperties: false,
    },
  };
}

/** What `RecordReply` needs to judge `wait` calls. */
export interface TimerOptions {
  readonly maxWaitMs: number;
  /** The agent's taskDeadlineMs: a wait past the task's deadline is refused. */
  readonly taskDeadlineMs?: number | undefined;
}

const WaitInputSchema = z.strictObject({
  wait_until: z.string().optional(),
  wait_for: z.union([z.string(), z.number()]).optional(),
  reason: z.string().max(500, 'must be at most 500 characters').optional(),
});

/**
 * For each `wait` call of a reply (journaled as `tool.requested`): `timer.set`, or the call's
 * `tool.completed` as an error the model reads (bad input, too long, past the task's deadline).
 */
export function timerDecisions(
  agent: string,
  task: TaskState,
  step: number,
  calls: readonly { readonly id: string; readonly name: string; readonly input: unknown }[],
  options: TimerOptions,
  at: string,
): AgentEvent[] {
  const now = Date.parse(at);
  return calls
    .filter((call) => call.name === WAIT_TOOL)
    .map((call): AgentEvent => {
      const refuse = (why: string): AgentEvent =>
        toolCallRefused(agent, task, step, call.id, `wait refused: ${why}`, at);
      const input = WaitInputSchema.safeParse(call.input);
      if (!input.success)
        return refuse(
          `invalid input (${input.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}); call it with {"wait_for": "15m"} or {"wait_until": "<ISO time>"}`,
        );
      const { wait_until: untilText, wait_for: forText, reason } = input.data;
      if ((untilText === undefined) === (forText === undefined))
        return refuse(
          'give exactly one of "wait_until" (an ISO time) and "wait_for" (a duration such as "15m")',
        );
      let until: number;
      if (untilText !== undefined) {
        until = Date.parse(untilText);
        if (Number.isNaN(until) || !/\d{4}-\d{2}-\d{2}T/.test(untilText))
          return refuse(`wait_until "${untilText}" is not an ISO 8601 time such as 2026-11-29T14:00:00Z`);
      } else {
        const parsed = parseDuration(forText);
        if (!parsed.ok) return refuse(`wait_for: ${parsed.problem}`);
        until = now + parsed.ms;
      }
      until = Math.max(until, now);
      if (until - now > options.maxWaitMs)
        return refuse(
          `${formatDuration(until - now)} is longer than this agent may wait (${formatDuration(options.maxWaitMs)}, timers.maxWait); wait less, and again if needed`,
        );
      const deadline =
        options.taskDeadlineMs === undefined || task.startedAt === undefined
          ? undefined
          : Date.parse(task.startedAt) + options.taskDeadlineMs;
      if (deadline !== undefined && until > deadline)
        return refuse(
          `the wait would end after the task's deadline (${new Date(deadline).toISOString()}, taskDeadlineMs); wait less or finish now`,
        );
      return {
        id: timerEventIds.set(agent, task.taskId, task.attempt, step, call.id),
        type: 'timer.set',
        v: 1,
        data: {
          taskId: task.taskId,
          step,
          toolUseId: call.id,
          until: new Date(until).toISOString(),
          ...(reason === undefined ? {} : { reason }),
          at,
        },
      };
    });
}

/** What the runtime does for an open timer: at `until`, journal the call's result. */
export interface TimerEffect {
  readonly type: 'fire-timer';
  readonly taskId: string;
  readonly step: number;
  readonly toolUseId: string;
  readonly until: string;
  readonly setAt: string;
}

export function timerEffect(task: TaskState, step: number, call: ToolCall): TimerEffect | undefined {
  const timer = call.timer;
  if (timer === undefined) return undefined;
  return {
    type: 'fire-timer',
    taskId: task.taskId,
    step,
    toolUseId: call.toolUseId,
    until: timer.until,
    setAt: timer.setAt,
  };
}

/** What the model is told when its wait ends. */
export function timerOutcome(effect: Pick<TimerEffect, 'until' | 'setAt'>, at: string): string {
  const waited = Date.parse(at) - Date.parse(effect.setAt);
  return `waited ${formatDuration(waited)} (from ${effect.setAt} until ${at}; asked to wait until ${effect.until}); the task goes on now`;
}

/** The earliest time an open timer of the task ends, if it waits on one. */
export function timerWakeAt(task: TaskState): number | undefined {
  let earliest: number | undefined;
  for (const call of task.steps.at(-1)?.tools ?? [])
    if (call.result === undefined && call.timer !== undefined) {
      const until = Date.parse(call.timer.until);
      earliest = Math.min(earliest ?? until, until);
    }
  return earliest;
}

/** Config-wide check: an agent with timers has no tool of its own named `wait`. */
export function validateTimers(
  config: {
    readonly agents: Record<
      string,
      { readonly timers?: unknown; readonly tools?: readonly { readonly name: string }[] }
    >;
  },
  ctx: z.RefinementCtx,
): void {
  for (const [name, spec] of Object.entries(config.agents ?? {})) {
    if (spec?.timers === undefined) continue;
    const clash = (spec.tools ?? []).findIndex((tool) => tool.name === WAIT_TOOL);
    if (clash >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'tools', clash],
        message: `"${WAIT_TOOL}" is the built-in tool of an agent with timers: rename this tool`,
      });
  }
}

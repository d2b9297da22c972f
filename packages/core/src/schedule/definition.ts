import { Cron } from 'croner';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

/**
 * A schedule as the config gives it: what to start (an agent's task or a workflow run), from
 * which input template, and when (`every` or `cron`), with its overlap and catch-up policies.
 * The coordinator journals it (`schedule.changed`) and fires it (schedule/decide.ts).
 */

/** Schedule names: the start of every fire's task id (`<schedule>@<time>`). */
export const SCHEDULE_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;

export const OVERLAP_POLICIES = ['skip', 'allow', 'buffer_one'] as const;
export const CATCH_UP_POLICIES = ['skip', 'once', 'all'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

/** Fires of one catch-up (`catchUp: "all"`) at most, by default; older missed times are skipped. */
export const DEFAULT_MAX_CATCH_UP = 100;
/** Shortest `every`: fire times are written to the second in task ids. */
export const MIN_EVERY_MS = 1_000;

export const SCHEDULE_FIELDS =
  'agent, workflow, input, every, cron, timezone, jitterMs, overlap, catchUp, maxCatchUp, paused';

/** A schedule as journaled and fired: `every` in ms. */
export interface ScheduleSpec {
  readonly agent?: string | undefined;
  readonly workflow?: string | undefined;
  /** The task input (or the run's input): `{{scheduledAt}}`, `{{lastOutput}}`, `{{schedule}}`. */
  readonly input: string;
  readonly everyMs?: number | undefined;
  readonly cron?: string | undefined;
  readonly timezone?: string | undefined;
  /** Each fire waits a deterministic 0..jitterMs after its time (spreads many schedules out). */
  readonly jitterMs: number;
  readonly overlap: OverlapPolicy;
  readonly catchUp: CatchUpPolicy;
  readonly maxCatchUp: number;
  readonly paused: boolean;
}

/** A zod check of a duration field, keeping the milliseconds. */
const DurationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if (parsed.ok) return parsed.ms;
  ctx.addIssue({ code: 'custom', message: parsed.problem });
  return z.NEVER;
});

/** An IANA time zone this Node knows (its ICU data), e.g. "Europe/Berlin". */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why croner refuses a cron expression, or undefined when it takes it. */
export function cronProblem(expression: string, timezone?: string): string | undefined {
  try {
    new Cron(expression, { timezone, paused: true }).nextRun();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err);
  }
}

export const ScheduleSchema = z
  .strictObject({
    agent: z.string().min(1, 'must name an agent of the config').optional(),
    workflow: z.string().min(1, 'must name a workflow of the config').optional(),
    input: z.string().min(1, 'must be a non-empty template, for example "Check {{scheduledAt}}"'),
    every: DurationSchema.optional(),
    cron: z.string().trim().min(1, 'must be a cron expression such as "*/5 * * * *"').optional(),
    timezone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Berlin" or "UTC"')
      .optional(),
    jitterMs: z.number().int('must be a whole number').min(0, 'must be at least 0').default(0),
    overlap: z.enum(OVERLAP_POLICIES, 'must be "skip", "allow" or "buffer_one"').default('skip'),
    catchUp: z.enum(CATCH_UP_POLICIES, 'must be "skip", "once" or "all"').default('once'),
    maxCatchUp: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(1_000, 'must be at most 1000')
      .default(DEFAULT_MAX_CATCH_UP),
    paused: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if ((s.agent === undefined) === (s.workflow === undefined))
      issue(s.agent === undefined ? 'agent' : 'workflow', 'give exactly one of "agent" and "workflow"');
    if ((s.every === undefined) === (s.cron === undefined))
      issue(s.every === undefined ? 'every' : 'cron', 'give exactly one of "every" and "cron"');
    if (s.every !== undefined) {
      if (s.every < MIN_EVERY_MS) issue('every', `must be at least 1s (${MIN_EVERY_MS} ms)`);
      else if (s.every % 1_000 !== 0) issue('every', 'must be whole seconds (fire times are to the second)');
      if (s.timezone !== undefined) issue('timezone', 'applies to "cron" only ("every" counts in UTC)');
    }
    if (s.cron !== undefined && (s.timezone === undefined || isTimeZone(s.timezone))) {
      const problem = cronProblem(s.cron, s.timezone);
      if (problem !== undefined)
        issue('cron', `${problem} (five fields, or six with seconds first: "*/5 * * * *")`);
    }
  })
  .transform(
    (s): ScheduleSpec => ({
      ...(s.agent === undefined ? {} : { agent: s.agent }),
      ...(s.workflow === undefined ? {} : { workflow: s.workflow }),
      input: s.input,
      ...(s.every === undefined ? {} : { everyMs: s.every }),
      ...(s.cron === undefined ? {} : { cron: s.cron }),
      ...(s.timezone === undefined ? {} : { timezone: s.timezone }),
      jitterMs: s.jitterMs,
      overlap: s.overlap,
      catchUp: s.catchUp,
      maxCatchUp: s.maxCatchUp,
      paused: s.paused,
    }),
  );
export type ScheduleInput = z.input<typeof ScheduleSchema>;

export const ScheduleNameSchema = z
  .string()
  .regex(SCHEDULE_NAME_PATTERN, 'schedule names use 1-32 lower-case letters, digits and dashes');

const TEMPLATE_VARIABLES = ['scheduledAt', 'lastOutput', 'schedule'];

/** Config-wide check (a `.superRefine` of ConfigSchema): each schedule names an agent or workflow of the config. */
export function validateSchedules(
  config: {
    readonly agents: Readonly<Record<string, unknown>>;
    readonly workflows: Readonly<Record<string, unknown>>;
    readonly schedules?: Readonly<Record<string, ScheduleSpec>>;
  },
  ctx: z.RefinementCtx,
): void {
  const agents = Object.keys(config.agents ?? {});
  const workflows = Object.keys(config.workflows ?? {});
  for (const [name, spec] of Object.entries(config.schedules ?? {})) {
    const at = (field: string) => ['schedules', name, field];
    if (spec?.agent !== undefined && !agents.includes(spec.agent))
      ctx.addIssue({
        code: 'custom',
        path: at('agent'),
        message: `unknown agent "${spec.agent}"; agents: ${agents.join(', ')}`,
      });
    if (spec?.workflow !== undefined && !workflows.includes(spec.workflow))
      ctx.addIssue({
        code: 'custom',
        path: at('workflow'),
        message: `unknown workflow "${spec.workflow}"; workflows: ${workflows.join(', ') || 'none defined'}`,
      });
    for (const match of (spec?.input ?? '').matchAll(/\{\{([^{}]*)\}\}/g)) {
      const variable = (match[1] ?? '').trim();
      if (!TEMPLATE_VARIABLES.includes(variable))
        ctx.addIssue({
          code: 'custom',
          path: at('input'),
          message: `unknown template variable {{${variable}}}; a schedule's input may use {{scheduledAt}}, {{lastOutput}}, {{schedule}}`,
        });
    }
  }
}

import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { ScheduleSpec } from './definition.ts';

/**
 * When a schedule fires, as pure functions of its spec: nominal times (`every` counts from the
 * Unix epoch in UTC, so `every: "1m"` fires at each whole minute whoever starts it; `cron` is
 * croner's reading of the expression in its time zone), each fire's deterministic jitter, and
 * the task id a fire gets.
 */

/** The first nominal time strictly after `afterMs` (epoch ms), or undefined when there is none (a cron of a past date). */
export function nextTimeAfter(spec: ScheduleSpec, afterMs: number): number | undefined {
  if (spec.everyMs !== undefined) return (Math.floor(afterMs / spec.everyMs) + 1) * spec.everyMs;
  if (spec.cron === undefined) return undefined;
  // croner counts to the second; a fraction of a second after a time is still after it.
  const from = new Date(Math.floor(afterMs / 1_000) * 1_000);
  const next = cronOf(spec).nextRun(from)?.getTime();
  return next === undefined ? undefined : next > afterMs ? next : nextTimeAfter(spec, next);
}

/** The nominal times in (afterMs, untilMs], oldest first, at most `limit` of them (the newest are kept). */
export function timesBetween(spec: ScheduleSpec, afterMs: number, untilMs: number, limit: number): number[] {
  const times: number[] = [];
  let count = 0;
  for (let t = nextTimeAfter(spec, afterMs); t !== undefined && t <= untilMs; t = nextTimeAfter(spec, t)) {
    times.push(t);
    count += 1;
    if (times.length > limit) times.shift();
    // A cron of every second over a year-long gap: stop walking long after the bound matters.
    if (count > 1_000_000) break;
  }
  return times;
}

/** How many nominal times lie in (afterMs, untilMs] (to say how many a catch-up skipped). */
export function countBetween(spec: ScheduleSpec, afterMs: number, untilMs: number): number {
  if (untilMs <= afterMs) return 0;
  if (spec.everyMs !== undefined)
    return Math.floor(untilMs / spec.everyMs) - Math.floor(afterMs / spec.everyMs);
  return timesBetween(spec, afterMs, untilMs, 1_000_000).length;
}

/**
 * A fire's wait after its nominal time: 0..jitterMs, the same for the same schedule and time
 * on every replay (a hash, not a random draw).
 */
export function jitterOf(name: string, spec: ScheduleSpec, time: number): number {
  if (spec.jitterMs <= 0) return 0;
  const digest = createHash('sha256').update(`${name}@${time}`).digest();
  return digest.readUInt32BE(0) % (spec.jitterMs + 1);
}

/** `20261129T023100Z`: a time to the second in the characters task ids allow (no "."). */
export function timeToken(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
}

/** The task id (or workflow run id) of the fire of `schedule` for `time`: `<schedule>@<YYYYMMDDTHHMMSSZ>`. */
export function fireId(schedule: string, time: number): string {
  return `${schedule}@${timeToken(time)}`;
}

/** The id of a fire an operator asked for (`spool schedule trigger`): its own, apart from nominal fires. */
export function triggerId(schedule: string, time: number, controlSeq: number): string {
  return `${fireId(schedule, time)}+t${controlSeq}`;
}

/** The period between fires when it is fixed (`every`), else the gap between the next two cron times. */
export function periodOf(spec: ScheduleSpec, aroundMs: number): number {
  if (spec.everyMs !== undefined) return spec.everyMs;
  const first = nextTimeAfter(spec, aroundMs);
  const second = first === undefined ? undefined : nextTimeAfter(spec, first);
  return first === undefined || second === undefined ? Number.POSITIVE_INFINITY : second - first;
}

const crons = new Map<string, Cron>();

/** croner's parse of a spec's expression, kept: `next` asks for times at every turn. */
function cronOf(spec: ScheduleSpec): Cron {
  const key = `${spec.timezone ?? ''} ${spec.cron}`;
  let cron = crons.get(key);
  if (cron === undefined) {
    cron = new Cron(spec.cron as string, { timezone: spec.timezone, paused: true });
    if (crons.size > 1_000) crons.clear();
    crons.set(key, cron);
  }
  return cron;
}

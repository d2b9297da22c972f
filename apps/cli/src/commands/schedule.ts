import { randomBytes } from 'node:crypto';
import {
  applyCoordinatorCommit,
  backfillTimes,
  COORDINATOR,
  initialCoordinatorState,
  parseCoordinatorCommit,
  SCHEDULE_NAME_PATTERN,
  type ScheduleControl,
  type ScheduleSpec,
  type ScheduleView,
  schedulesView,
  subjects,
} from '@spool/core/internal';
import { historyStore, requests, type SpoolConnection, sendControl } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { UsageError } from '../usage-error.ts';

interface SchedulesAnswer {
  schedules: ScheduleView[];
  /** The newest schedule command journaled: a sent command has taken effect once this reaches its sequence. */
  controlSeq: number;
}

const ACTIONS = ['list', 'pause', 'resume', 'trigger', 'backfill'] as const;

/**
 * `spool schedule list|pause|resume|trigger|backfill`: the coordinator's schedules, and an
 * operator's commands on them, sent on `spool.control.coordinator` (journaled there, so they
 * survive restarts); the command waits until the coordinator has journaled it and says what it did.
 */
export async function scheduleCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'schedule',
    argv,
    {
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      reason: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
    { required: ['action'], optional: ['name'] },
  );
  const action = positionals[0] as (typeof ACTIONS)[number];
  if (!ACTIONS.includes(action))
    throw new UsageError(
      `spool schedule: unknown action "${action}" (${ACTIONS.join(', ')}); see spool schedule --help`,
    );
  const name = positionals[1];
  if (action === 'list' && name !== undefined)
    throw new UsageError('spool schedule list: takes no name (it lists every schedule)');
  if (action !== 'list' && name === undefined)
    throw new UsageError(`spool schedule ${action}: missing <name>`);
  if (name !== undefined && !SCHEDULE_NAME_PATTERN.test(name))
    throw new UsageError(
      `spool schedule ${action}: "${name}" is not a schedule name (lower-case letters, digits, dashes)`,
    );
  if (action !== 'backfill' && (values.from !== undefined || values.to !== undefined))
    throw new UsageError(`spool schedule ${action}: --from and --to apply to backfill only`);
  if (values.reason !== undefined && action !== 'pause')
    throw new UsageError(`spool schedule ${action}: --reason applies to pause only`);
  const timeoutMs = (positiveInt('schedule', 'timeout', values.timeout) ?? 5) * 1000;
  const json = values.json === true;
  const connection = await openConnection(
    natsTarget({ role: action === 'list' ? 'client' : 'operator' }),
    'spool-schedule',
    logger,
  );
  try {
    if (action === 'list') return await list(connection, timeoutMs, json);
    const answer = await askSchedules(connection, timeoutMs);
    const schedule = answer.schedules.find((s) => s.name === name && !s.removed);
    if (schedule === undefined) {
      const names = answer.schedules.filter((s) => !s.removed).map((s) => s.name);
      console.error(
        `no schedule "${name}" (schedules: ${names.join(', ') || 'none; add one under "schedules" in the config'})`,
      );
      return 1;
    }
    if ((action === 'pause' && schedule.paused) || (action === 'resume' && !schedule.paused)) {
      console.log(
        `schedule ${schedule.name} is already ${schedule.paused ? 'paused' : 'running'}; nothing to do`,
      );
      return 0;
    }
    if (action === 'backfill') {
      const times = backfillTimes({ spec: specOf(schedule) }, values.from, values.to);
      if (!times.ok) throw new UsageError(`spool schedule backfill: ${times.problem}`);
    }
    const message: ScheduleControl = {
      type: 'schedule',
      action,
      schedule: schedule.name,
      ...(values.reason === undefined ? {} : { reason: values.reason }),
      ...(values.from === undefined ? {} : { from: values.from }),
      ...(values.to === undefined ? {} : { to: values.to }),
    };
    const sent = await sendControl(connection, COORDINATOR, message as never, randomBytes(8).toString('hex'));
    const after = await journaled(connection, sent.seq, timeoutMs);
    const view = after?.schedules.find((s) => s.name === schedule.name);
    if (json)
      console.log(
        JSON.stringify({ ...message, controlSeq: sent.seq, journaled: after !== undefined, schedule: view }),
      );
    else if (after === undefined)
      console.log(
        `${action} of schedule ${schedule.name} sent (control message ${sent.seq}); the coordinator has not journaled it yet`,
      );
    else console.log(outcome(action, schedule.name, sent.seq, view));
    return 0;
  } finally {
    await connection.close();
  }
}

async function list(connection: SpoolConnection, timeoutMs: number, json: boolean): Promise<number> {
  const answer = await askSchedules(connection, timeoutMs).catch(async (err) => {
    if (!(err instanceof NoCoordinatorError)) throw err;
    console.error(
      'no coordinator answered: this view is folded from its history (spool.history.coordinator)',
    );
    return fromHistory(connection);
  });
  const shown = answer.schedules.filter((s) => !s.removed);
  if (json) console.log(JSON.stringify(shown));
  else if (shown.length === 0) console.log('no schedules; add one under "schedules" in the config');
  else for (const view of shown) console.log(render(view));
  return 0;
}

function render(view: ScheduleView): string {
  const target = view.agent ?? `workflow ${view.workflow ?? '?'}`;
  const when =
    view.cron === undefined
      ? `every ${view.every ?? '?'} ms`
      : `cron "${view.cron}"${view.timezone === undefined ? '' : ` ${view.timezone}`}`;
  const state = view.paused
    ? `paused${view.pausedReason === undefined ? '' : ` (${view.pausedReason})`}`
    : `next ${view.nextFireAt ?? 'none'}`;
  const last =
    view.lastFire === undefined
      ? 'never fired'
      : `last ${view.lastFire.fireId} ${view.lastFire.status}${view.lastFire.error === undefined ? '' : ` (${view.lastFire.error.code})`}`;
  const lines = [
    `${view.name.padEnd(20)} ${target} ${when}; ${state}; ${last}; ${view.fired} fired, ${view.skipped} skipped; overlap ${view.overlap}, catchUp ${view.catchUp}`,
  ];
  if (view.open.length > 0) lines.push(`  open: ${view.open.map((f) => f.fireId).join(', ')}`);
  if (view.buffered !== undefined) lines.push(`  buffered: ${view.buffered}`);
  if (view.lastSkip !== undefined)
    lines.push(
      `  last skip: ${view.lastSkip.count} time(s) ${view.lastSkip.from} … ${view.lastSkip.to} (${view.lastSkip.reason})`,
    );
  if (view.warning !== undefined) lines.push(`  warning: ${view.warning}`);
  return lines.join('\n');
}

function outcome(action: string, name: string, controlSeq: number, view: ScheduleView | undefined): string {
  switch (action) {
    case 'pause':
      return `schedule ${name} paused; it fires no more until "spool schedule resume ${name}"`;
    case 'resume':
      return `schedule ${name} resumed; next fire ${view?.nextFireAt ?? 'none'} (times passed while paused are not owed)`;
    case 'trigger': {
      const fire = [...(view?.open ?? []), ...(view?.lastFire === undefined ? [] : [view.lastFire])].find(
        (f) => f.fireId.endsWith(`+t${controlSeq}`),
      );
      return `schedule ${name} fired now: task ${fire?.fireId ?? `(+t${controlSeq})`}`;
    }
    default:
      return `schedule ${name} backfilled (control message ${controlSeq}); its fires are in "spool schedule list" and the coordinator's log`;
  }
}

/** The spec a view describes, enough to compute its fire times here (backfill's range check). */
function specOf(view: ScheduleView): ScheduleSpec {
  return {
    input: '',
    ...(view.every === undefined ? {} : { everyMs: view.every }),
    ...(view.cron === undefined ? {} : { cron: view.cron }),
    ...(view.timezone === undefined ? {} : { timezone: view.timezone }),
    jitterMs: view.jitterMs,
    overlap: view.overlap as ScheduleSpec['overlap'],
    catchUp: view.catchUp as ScheduleSpec['catchUp'],
    maxCatchUp: view.maxCatchUp,
    paused: view.paused,
  };
}

/** Polls the schedules until the coordinator has journaled control message `seq` (undefined at the timeout). */
async function journaled(
  connection: SpoolConnection,
  seq: number,
  timeoutMs: number,
): Promise<SchedulesAnswer | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const answer = await askSchedules(connection, Math.max(500, until - Date.now())).catch(() => undefined);
    if (answer !== undefined && answer.controlSeq >= seq) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

class NoCoordinatorError extends Error {}

async function askSchedules(connection: SpoolConnection, timeoutMs: number): Promise<SchedulesAnswer> {
  let reply: string;
  try {
    reply = await requests(connection).request(subjects.schedules, '{}', timeoutMs);
  } catch {
    throw new NoCoordinatorError(
      `no coordinator answered on ${subjects.schedules} within ${Math.round(timeoutMs / 1000)}s: start one with "spool coordinator" or "spool up"`,
    );
  }
  return JSON.parse(reply) as SchedulesAnswer;
}

async function fromHistory(connection: SpoolConnection): Promise<SchedulesAnswer> {
  const state = initialCoordinatorState();
  for await (const commit of historyStore(connection, parseCoordinatorCommit).replay(COORDINATOR))
    applyCoordinatorCommit(state, commit);
  return { schedules: schedulesView(state), controlSeq: state.scheduleControlSeq };
}

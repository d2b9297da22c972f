import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';
import type { TaskResult } from '../result.ts';
import { TASK_ID_PATTERN } from '../subjects.ts';
import { type CoordinatorCommand, decideCoordinator } from '../workflow/decide.ts';
import type { CoordinatorEvent } from '../workflow/events.ts';
import { nextCoordinator } from '../workflow/next.ts';
import { coordinatorFromSnapshot, coordinatorToSnapshot } from '../workflow/snapshot.ts';
import { type CoordinatorState, evolveCoordinator, initialCoordinatorState } from '../workflow/state.ts';
import { type ScheduleInput, ScheduleSchema, type ScheduleSpec } from './definition.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { fireId, nextTimeAfter, timesBetween, timeToken } from './times.ts';
import { scheduleView } from './view.ts';

const spec = (input: ScheduleInput): ScheduleSpec => ScheduleSchema.parse(input);
const T0 = Date.parse('2026-11-29T02:30:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The coordinator's schedules on a clock the test moves: each `at(ms)` runs what `next`
 * asks for at that time (fires, sends) through decide and evolve, as the coordinator would.
 */
class Harness {
  state: CoordinatorState = initialCoordinatorState();
  readonly history: CoordinatorEvent[] = [];
  now = T0;

  constructor(schedules: Record<string, ScheduleInput>) {
    this.commit({
      type: 'ConfigureSchedules',
      schedules: Object.fromEntries(Object.entries(schedules).map(([k, v]) => [k, spec(v)])),
      at: iso(this.now),
    });
  }

  commit(command: CoordinatorCommand): CoordinatorEvent[] {
    const events = decideCoordinator(this.state, command);
    for (const event of events) evolveCoordinator(this.state, event);
    this.state.seq += 1;
    this.history.push(...events);
    return events;
  }

  /** Moves the clock to `ms` and runs the effects due, until nothing more is due. */
  at(ms: number): void {
    this.now = ms;
    for (let i = 0; i < 100; i++) {
      const { effects } = nextCoordinator(this.state, new Date(ms));
      if (effects.length === 0) return;
      for (const effect of effects) {
        if (effect.type === 'fire-schedule')
          this.commit({ type: 'FireSchedule', schedule: effect.schedule, at: iso(ms) });
        else if (effect.type === 'send-fire')
          this.commit({
            type: 'MarkFireSent',
            schedule: effect.schedule,
            fireId: effect.fireId,
            inboxSeq: i,
            at: iso(ms),
          });
        else return;
      }
    }
    throw new Error('effects did not settle');
  }

  /** Walks the clock from now to `until` in steps of `stepMs` (a coordinator that is up). */
  walk(until: number, stepMs = 1_000): void {
    for (let t = this.now + stepMs; t <= until; t += stepMs) this.at(t);
  }

  finish(taskId: string, agent = 'checker', output = `done ${taskId}`): void {
    const result: TaskResult = {
      taskId,
      agent,
      status: 'completed',
      output,
      usage: { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
      steps: 1,
      attempts: 1,
      finishedAt: iso(this.now),
    } as TaskResult;
    this.commit({ type: 'ObserveResult', result, at: iso(this.now) });
  }

  fired(): { fireId: string; scheduledAt: string; kind: string; at: string; input: string }[] {
    return this.history.flatMap((e) => (e.type === 'schedule.fired' ? [e.data] : []));
  }

  skipped() {
    return this.history.flatMap((e) => (e.type === 'schedule.skipped' ? [e.data] : []));
  }
}

describe('fire times', () => {
  it('every counts from the epoch in UTC: "1m" fires at each whole minute', () => {
    const every = spec({ agent: 'a', input: 'x', every: '1m' });
    expect(iso(nextTimeAfter(every, Date.parse('2026-11-29T02:30:20Z')) as number)).toBe(
      '2026-11-29T02:31:00.000Z',
    );
    expect(iso(nextTimeAfter(every, Date.parse('2026-11-29T02:31:00Z')) as number)).toBe(
      '2026-11-29T02:32:00.000Z',
    );
    expect(timesBetween(every, T0, T0 + 5 * 60_000, 100)).toHaveLength(5);
  });

  it('task ids are <schedule>@<YYYYMMDDTHHMMSSZ>, within the characters task ids allow', () => {
    expect(timeToken(Date.parse('2026-11-29T02:31:00.250Z'))).toBe('20261129T023100Z');
    const id = fireId('disk-check-with-a-rather-long-nam', Date.parse('2026-11-29T02:31:00Z'));
    expect(id).toBe('disk-check-with-a-rather-long-nam@20261129T023100Z');
    expect(TASK_ID_PATTERN.test(id)).toBe(true);
    expect(id).not.toContain('.');
  });

  it('cron reads the expression in its time zone, across a DST change (Europe/Berlin)', () => {
    const daily = spec({ agent: 'a', input: 'x', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    // Winter (CET, UTC+1): 02:30 local is 01:30Z.
    expect(iso(nextTimeAfter(daily, Date.parse('2026-01-10T12:00:00Z')) as number)).toBe(
      '2026-01-11T01:30:00.000Z',
    );
    // Spring forward on 2026-03-29: 02:30 does not exist; it fires once, at 03:30 CEST (01:30Z).
    const spring = timesBetween(
      daily,
      Date.parse('2026-03-27T12:00:00Z'),
      Date.parse('2026-03-30T12:00:00Z'),
      10,
    );
    expect(spring.map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    // Fall back on 2026-10-25: 02:30 happens twice; it fires once, on the first.
    const fall = timesBetween(
      daily,
      Date.parse('2026-10-23T12:00:00Z'),
      Date.parse('2026-10-26T12:00:00Z'),
      10,
    );
    expect(fall.map(iso)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('an hourly cron in New York fires once per wall-clock hour: 23 times on the spring-forward day, 24 on the fall-back day', () => {
    const hourly = spec({ agent: 'a', input: 'x', cron: '0 * * * *', timezone: 'America/New_York' });
    // Local midnight to midnight: 2026-03-08 is 23 hours long (02:00 does not exist), 2026-11-01
    // is 25, and 01:00 happens twice: it fires once, as cron does.
    expect(
      timesBetween(
        hourly,
        Date.parse('2026-03-08T05:00:00Z') - 1,
        Date.parse('2026-03-09T04:00:00Z') - 1,
        100,
      ),
    ).toHaveLength(23);
    expect(
      timesBetween(
        hourly,
        Date.parse('2026-11-01T04:00:00Z') - 1,
        Date.parse('2026-11-02T05:00:00Z') - 1,
        100,
      ),
    ).toHaveLength(24);
  });

  it('durations: strings with units, or ms; formatted for people', () => {
    expect(parseDuration('90s')).toEqual({ ok: true, ms: 90_000 });
    expect(parseDuration('1h30m')).toEqual({ ok: true, ms: 5_400_000 });
    expect(parseDuration(2_500)).toEqual({ ok: true, ms: 2_500 });
    expect(parseDuration('soon')).toMatchObject({ ok: false });
    expect(formatDuration(7_503_000)).toBe('2h 5m 3s');
    expect(formatDuration(850)).toBe('850ms');
  });
});

describe('a schedule on a clock', () => {
  it('fires each time once while the coordinator is up, with {{scheduledAt}} and {{lastOutput}}', () => {
    const h = new Harness({
      check: { agent: 'checker', input: 'check at {{scheduledAt}}; before: {{lastOutput}}', every: '10s' },
    });
    h.walk(T0 + 10_000);
    h.finish('check@20261129T023010Z');
    h.walk(T0 + 30_000);
    expect(h.fired().map((f) => [f.fireId, f.kind])).toEqual([
      ['check@20261129T023010Z', 'scheduled'],
      ['check@20261129T023020Z', 'scheduled'],
    ]);
    expect(h.fired()[1]?.input).toBe(
      'check at 2026-11-29T02:30:20.000Z; before: done check@20261129T023010Z',
    );
    // The third time is skipped: the second fire is still open (overlap "skip" by default).
    expect(h.skipped()).toMatchObject([{ reason: 'overlap', from: '2026-11-29T02:30:30.000Z', count: 1 }]);
  });

  it('a fire due is journaled once: deciding it again (a crash before the send) gives nothing new', () => {
    const h = new Harness({ check: { agent: 'checker', input: 'go', every: '10s' } });
    h.now = T0 + 10_000;
    const first = h.commit({ type: 'FireSchedule', schedule: 'check', at: iso(h.now) });
    expect(first).toHaveLength(1);
    expect(h.commit({ type: 'FireSchedule', schedule: 'check', at: iso(h.now + 500) })).toEqual([]);
    // The replayed state still owes the send, under the same id.
    const { effects } = nextCoordinator(h.state, new Date(h.now + 600));
    expect(effects).toEqual([
      expect.objectContaining({ type: 'send-fire', fireId: 'check@20261129T023010Z' }),
    ]);
  });

  const afterGap = (catchUp: 'skip' | 'once' | 'all') => {
    const h = new Harness({
      check: { agent: 'checker', input: 'go', every: '10s', catchUp, overlap: 'allow' },
    });
    h.walk(T0 + 10_000);
    // Down for 67 s: the times :20 … :70 were missed (:70 by 7 s, more than half a period).
    h.at(T0 + 77_000);
    return h;
  };

  it('catchUp "all" fires every missed time, "once" one for the gap, "skip" none', () => {
    const all = afterGap('all');
    expect(all.fired().map((f) => [f.scheduledAt.slice(14, 19), f.kind])).toEqual([
      ['30:10', 'scheduled'],
      ['30:20', 'catch-up'],
      ['30:30', 'catch-up'],
      ['30:40', 'catch-up'],
      ['30:50', 'catch-up'],
      ['31:00', 'catch-up'],
      ['31:10', 'catch-up'],
    ]);
    const once = afterGap('once');
    expect(once.fired().map((f) => [f.scheduledAt.slice(14, 19), f.kind])).toEqual([
      ['30:10', 'scheduled'],
      ['31:10', 'catch-up'],
    ]);
    expect(once.skipped()).toMatchObject([{ reason: 'catch_up', count: 5 }]);
    const skip = afterGap('skip');
    expect(skip.fired().map((f) => f.scheduledAt.slice(14, 19))).toEqual(['30:10']);
    expect(skip.skipped()).toMatchObject([{ reason: 'catch_up', count: 6 }]);
    // … and after the gap each goes on at its next time.
    for (const h of [all, once, skip]) {
      h.at(T0 + 80_000);
      expect(h.fired().at(-1)?.fireId).toBe('check@20261129T023120Z');
    }
  });

  it('catchUp "all" is bounded by maxCatchUp: the newest times fire, older ones are skipped', () => {
    const h = new Harness({
      check: { agent: 'checker', input: 'go', every: '1s', catchUp: 'all', overlap: 'allow', maxCatchUp: 5 },
    });
    h.at(T0 + 60_000);
    expect(h.fired().map((f) => f.scheduledAt.slice(14, 19))).toEqual([
      '30:56',
      '30:57',
      '30:58',
      '30:59',
      '31:00',
    ]);
    expect(h.skipped()).toMatchObject([{ reason: 'catch_up', count: 55, from: '2026-11-29T02:30:01.000Z' }]);
  });

  it('overlap "buffer_one" holds one time back until the open fire ends, drops the rest, and says it piles up', () => {
    const h = new Harness({ check: { agent: 'checker', input: 'go', every: '10s', overlap: 'buffer_one' } });
    h.walk(T0 + 40_000);
    expect(h.fired().map((f) => f.fireId)).toEqual(['check@20261129T023010Z']);
    expect(h.state.schedules.get('check')?.buffered).toBe(T0 + 20_000);
    expect(h.skipped().map((s) => s.reason)).toEqual(['buffer_full', 'buffer_full']);
    expect(scheduleView(h.state.schedules.get('check') as never).warning).toMatch(/piling up/);
    h.finish('check@20261129T023010Z');
    h.at(T0 + 41_000);
    expect(h.fired().at(-1)).toMatchObject({ fireId: 'check@20261129T023020Z', kind: 'buffered' });
  });

  it('pause stops fires and owes nothing for the paused time; trigger fires now; backfill fires missed times once', () => {
    const h = new Harness({ check: { agent: 'checker', input: 'go', every: '10s', overlap: 'allow' } });
    h.walk(T0 + 10_000);
    h.commit({
      type: 'ControlSchedule',
      schedule: 'check',
      action: 'pause',
      reason: 'maintenance',
      controlSeq: 1,
      at: iso(h.now),
    });
    h.walk(T0 + 60_000);
    expect(h.fired()).toHaveLength(1);
    h.commit({
      type: 'ControlSchedule',
      schedule: 'check',
      action: 'resume',
      controlSeq: 2,
      at: iso(T0 + 61_000),
    });
    // A redelivered resume (same control sequence) is recognised.
    expect(
      h.commit({
        type: 'ControlSchedule',
        schedule: 'check',
        action: 'pause',
        controlSeq: 2,
        at: iso(T0 + 61_000),
      }),
    ).toEqual([]);
    h.walk(T0 + 70_000);
    expect(h.fired().map((f) => f.scheduledAt.slice(14, 19))).toEqual(['30:10', '31:10']);
    const trigger = h.commit({
      type: 'ControlSchedule',
      schedule: 'check',
      action: 'trigger',
      controlSeq: 3,
      at: '2026-11-29T02:31:12.345Z',
    });
    expect(trigger).toMatchObject([{ data: { fireId: 'check@20261129T023112Z+t3', kind: 'trigger' } }]);
    const backfill = h.commit({
      type: 'ControlSchedule',
      schedule: 'check',
      action: 'backfill',
      from: '2026-11-29T02:30:20Z',
      to: '2026-11-29T02:30:40Z',
      controlSeq: 4,
      at: iso(h.now),
    });
    expect(backfill.map((e) => (e.data as { fireId: string }).fireId)).toEqual([
      'check@20261129T023020Z',
      'check@20261129T023030Z',
      'check@20261129T023040Z',
    ]);
    expect(new Set(h.fired().map((f) => f.fireId)).size).toBe(h.fired().length);
  });

  it('a config change is journaled once and applies from the next fire; a removed schedule stops', () => {
    const h = new Harness({ check: { agent: 'checker', input: 'go', every: '10s' } });
    h.walk(T0 + 10_000);
    h.finish('check@20261129T023010Z');
    const changed = h.commit({
      type: 'ConfigureSchedules',
      schedules: { check: spec({ agent: 'checker', input: 'go', every: '1m' }) },
      at: iso(h.now),
    });
    expect(changed).toMatchObject([{ type: 'schedule.changed', data: { created: false } }]);
    expect(
      h.commit({
        type: 'ConfigureSchedules',
        schedules: { check: spec({ agent: 'checker', input: 'go', every: '1m' }) },
        at: iso(h.now),
      }),
    ).toEqual([]);
    h.walk(T0 + 60_000);
    expect(h.fired().map((f) => f.scheduledAt.slice(14, 19))).toEqual(['30:10', '31:00']);
    expect(h.commit({ type: 'ConfigureSchedules', schedules: {}, at: iso(h.now) })).toMatchObject([
      { type: 'schedule.removed' },
    ]);
    h.walk(T0 + 200_000, 10_000);
    expect(h.fired()).toHaveLength(2);
  });

  it('jitter delays a fire by the same amount on every replay, never past its bound', () => {
    const h = new Harness({
      check: { agent: 'checker', input: 'go', every: '10s', jitterMs: 3_000, overlap: 'allow' },
    });
    h.walk(T0 + 104_000, 100);
    const delays = h.fired().map((f) => Date.parse(f.at) - Date.parse(f.scheduledAt));
    expect(delays).toHaveLength(10);
    for (const d of delays) expect(d).toBeLessThanOrEqual(3_000 + 100);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('survives a snapshot: the restored state owes exactly what the original does', () => {
    const h = new Harness({ check: { agent: 'checker', input: 'go', every: '10s', overlap: 'buffer_one' } });
    h.walk(T0 + 30_000);
    const restored = coordinatorFromSnapshot(
      JSON.parse(JSON.stringify(coordinatorToSnapshot(h.state))),
      'coordinator',
    );
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state.schedules).toEqual(h.state.schedules);
    expect(nextCoordinator(restored.state, new Date(T0 + 45_000))).toEqual(
      nextCoordinator(h.state, new Date(T0 + 45_000)),
    );
  });

  it('a workflow schedule starts a run named after the fire; its end ends the fire', () => {
    const h = new Harness({
      digest: { workflow: 'report', input: 'report for {{scheduledAt}}', every: '1m' },
    });
    const events = h.commit({
      type: 'FireSchedule',
      schedule: 'digest',
      workflows: {
        report: {
          steps: { write: { agent: 'writer', input: 'Write {{input}}', retries: 0, optional: false } },
        },
      },
      at: iso(T0 + 60_000),
    });
    expect(events.map((e) => e.type)).toEqual([
      'schedule.fired',
      'workflow.started',
      'workflow.step_started',
      'workflow.task_dispatched',
    ]);
    expect(h.state.workflows.get('digest@20261129T023100Z')).toBeDefined();
  });
});

describe('schedule config', () => {
  const config = (schedule: Record<string, unknown>) => () =>
    parseConfig(
      {
        agents: { checker: { instructions: 'x', model: 'claude-sonnet-4-6' } },
        schedules: { check: schedule },
      },
      'spool.config.json',
    );
  it.each([
    [
      { agent: 'checker', input: 'x', cron: '61 * * * *' },
      /^spool\.config\.json: schedules\.check\.cron: Invalid value for minute: 61/,
    ],
    [
      { agent: 'checker', input: 'x', cron: '0 * * * *', timezone: 'Mars/Olympus' },
      /schedules\.check\.timezone: must be an IANA time zone/,
    ],
    [{ agent: 'checker', input: 'x', every: 'soon' }, /schedules\.check\.every: "soon" is not a duration/],
    [{ agent: 'checker', input: 'x', every: '1500ms' }, /schedules\.check\.every: must be whole seconds/],
    [
      { agent: 'ghost', input: 'x', every: '1m' },
      /schedules\.check\.agent: unknown agent "ghost"; agents: checker/,
    ],
    [
      { workflow: 'nope', input: 'x', every: '1m' },
      /schedules\.check\.workflow: unknown workflow "nope"; workflows: none defined/,
    ],
    [{ agent: 'checker', input: 'x' }, /schedules\.check\.every: give exactly one of "every" and "cron"/],
    [
      { agent: 'checker', input: 'x {{output}}', every: '1m' },
      /schedules\.check\.input: unknown template variable \{\{output\}\}/,
    ],
    [
      { agent: 'checker', input: 'x', every: '1m', overlap: 'queue' },
      /schedules\.check\.overlap: must be "skip", "allow" or "buffer_one"/,
    ],
    [
      { agent: 'checker', input: 'x', every: '1m', when: 'now' },
      /schedules\.check: unknown field "when": remove it \(schedule fields are agent, workflow/,
    ],
  ])('refuses %j with one line naming the field', (schedule, message) => {
    expect(config(schedule)).toThrow(message);
    try {
      config(schedule)();
    } catch (err) {
      expect((err as Error).message.split('\n')).toHaveLength(1);
    }
  });
});

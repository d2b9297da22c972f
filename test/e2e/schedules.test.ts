import {
  applyCoordinatorCommit,
  decideCoordinator,
  type HistoryEvent,
  initialCoordinatorState,
  parseCoordinatorCommit,
} from '@spool/core/internal';
import { historyStore } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

const agent = { instructions: 'Check.', model: 'claude-sonnet-4-6', concurrency: 8, leaseTtlMs: 2000 };
const tick = (catchUp: string) => ({
  agent: 'checker',
  input: `${catchUp.toUpperCase()} {{scheduledAt}}`,
  every: '2s',
  catchUp,
  overlap: 'allow',
});
const CONFIG = {
  agents: { checker: agent, slow: agent },
  coordinator: { leaseTtlMs: 1000 },
  schedules: {
    'tick-all': tick('all'),
    'tick-once': tick('once'),
    'tick-skip': tick('skip'),
    // A slow agent: each call takes 2.5 s, the schedule fires every second.
    'slow-skip': {
      agent: 'slow',
      input: 'SLOW skip {{scheduledAt}}',
      every: '1s',
      overlap: 'skip',
      paused: true,
    },
    'slow-buffer': {
      agent: 'slow',
      input: 'SLOW buffer {{scheduledAt}}',
      every: '1s',
      overlap: 'buffer_one',
      paused: true,
    },
    manual: {
      agent: 'checker',
      input: 'MANUAL {{scheduledAt}}',
      cron: '0 0 1 1 *',
      timezone: 'Europe/Berlin',
    },
  },
};

type Fired = { schedule: string; fireId: string; scheduledAt: string; kind: string; at: string };
type Skipped = { schedule: string; from: string; to: string; count: number; reason: string };

describe('schedules - fired by the coordinator process, exactly once across SIGKILLs', () => {
  let world: World;
  let slowWorld: World;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    world = await startWorld({ responder: () => 'ok' });
    slowWorld = await startWorld({ responder: () => 'slow ok', latencyMs: 2_500 });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await world?.close();
    await slowWorld?.close();
  });
  const config = writeConfig(CONFIG);
  const env = (fake = () => world.fake.url) => ({ natsUrl: world.nats.url, anthropicBaseUrl: fake() });
  const start = (args: string[], fake?: () => string) => {
    const p = startCli([...args, '--config', config], env(fake));
    procs.push(p);
    return p;
  };
  const cli = (args: string[]) => runCli(['schedule', ...args], env());
  const coordinatorEvents = async (): Promise<HistoryEvent[]> =>
    (await world.probe.history('coordinator')).flatMap((c) => c.events);
  const fired = async (schedule?: string): Promise<Fired[]> =>
    (await coordinatorEvents())
      .filter((e) => e.type === 'schedule.fired')
      .map((e) => e.data as Fired)
      .filter((f) => schedule === undefined || f.schedule === schedule);
  const skipped = async (schedule: string): Promise<Skipped[]> =>
    (await coordinatorEvents())
      .filter((e) => e.type === 'schedule.skipped')
      .map((e) => e.data as Skipped)
      .filter((s) => s.schedule === schedule);
  const received = async (name: string) =>
    (await world.probe.history(name))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 'task.received')
      .map((e) => (e.data as { taskId: string }).taskId);

  it('SIGKILL while fires are due: each time is fired or skipped exactly once, as its catch-up policy says', async () => {
    start(['agent', 'checker']);
    start(['agent', 'slow'], () => slowWorld.fake.url);
    const first = start(['coordinator']);
    await first.waitForLog('coordinator history replayed');
    await waitFor(
      'two fires of each tick schedule',
      async () => {
        const all = await fired();
        return ['tick-all', 'tick-once', 'tick-skip'].every(
          (s) => all.filter((f) => f.schedule === s).length >= 2,
        );
      },
      30_000,
    );
    const killedAt = Date.now();
    await first.kill('SIGKILL');
    // Down for 7 s: three or four times of each schedule pass with no coordinator.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const second = start(['coordinator']);
    await second.waitForLog('coordinator history replayed');
    const restartedAt = Date.now();
    await waitFor(
      'two fires of each schedule after the restart',
      async () => {
        const all = await fired();
        return ['tick-all', 'tick-once', 'tick-skip'].every(
          (s) => all.filter((f) => f.schedule === s && Date.parse(f.at) > restartedAt).length >= 2,
        );
      },
      30_000,
    );
    await second.kill('SIGTERM');

    const timeline: string[] = [];
    for (const schedule of ['tick-all', 'tick-once', 'tick-skip']) {
      const fires = await fired(schedule);
      const skips = await skipped(schedule);
      // Every fire has its own id, and its task was received once by the agent.
      expect(new Set(fires.map((f) => f.fireId)).size).toBe(fires.length);
      const got = countBy(await received('checker'), (id) => id);
      for (const f of fires) expect(got.get(f.fireId), f.fireId).toBe(1);
      // Every nominal time from the first fire to the last is accounted for once: fired or skipped.
      const firstMs = Date.parse(fires[0]?.scheduledAt ?? '');
      const lastMs = Date.parse(fires.at(-1)?.scheduledAt ?? '');
      const accounted = new Map<number, string>();
      const account = (ms: number, what: string) => {
        expect(accounted.get(ms), `${schedule} ${new Date(ms).toISOString()}`).toBeUndefined();
        accounted.set(ms, what);
      };
      for (const f of fires.filter((f) => f.kind === 'scheduled' || f.kind === 'catch-up'))
        account(Date.parse(f.scheduledAt), f.kind);
      for (const s of skips)
        for (let t = Date.parse(s.from); t <= Date.parse(s.to); t += 2_000) account(t, `skipped ${s.reason}`);
      for (let t = firstMs; t <= lastMs; t += 2_000)
        expect(accounted.has(t), `${schedule} ${new Date(t).toISOString()}`).toBe(true);
      const gap = [...accounted.entries()].filter(([t]) => t > killedAt - 2_000 && t < restartedAt);
      if (schedule === 'tick-all') expect(gap.every(([, what]) => what !== 'skipped catch_up')).toBe(true);
      if (schedule === 'tick-once') {
        expect(fires.filter((f) => f.kind === 'catch-up').length).toBeLessThanOrEqual(1);
        expect(skips.filter((s) => s.reason === 'catch_up').length).toBeGreaterThanOrEqual(1);
      }
      if (schedule === 'tick-skip') {
        expect(fires.filter((f) => f.kind === 'catch-up')).toEqual([]);
        expect(skips.filter((s) => s.reason === 'catch_up').length).toBeGreaterThanOrEqual(1);
      }
      for (const f of fires)
        timeline.push(
          `${schedule.padEnd(10)} scheduled ${f.scheduledAt}  fired ${f.at}  ${f.kind.padEnd(9)} ${f.fireId}`,
        );
      timeline.push(
        ...skips.map(
          (s) => `${schedule.padEnd(10)} skipped ${s.count} from ${s.from} to ${s.to} (${s.reason})`,
        ),
      );
    }
    const drift = (await fired('tick-all'))
      .filter((f) => f.kind === 'scheduled')
      .map((f) => Date.parse(f.at) - Date.parse(f.scheduledAt));
    console.log(
      `killed at ${new Date(killedAt).toISOString()}, restarted at ${new Date(restartedAt).toISOString()}\n${timeline.join('\n')}\non-time fire drift (ms): min ${Math.min(...drift)} median ${drift.sort((a, b) => a - b)[Math.floor(drift.length / 2)]} max ${Math.max(...drift)}`,
    );
  }, 120_000);

  it('SIGKILL between journaling a fire and publishing its task: the next coordinator publishes it once', async () => {
    // What a coordinator killed right after its FireSchedule commit leaves: the fire journaled, no task sent.
    const store = historyStore(world.connection, parseCoordinatorCommit);
    const state = initialCoordinatorState();
    for await (const commit of store.replay('coordinator')) applyCoordinatorCommit(state, commit);
    const events = decideCoordinator(state, {
      type: 'ControlSchedule',
      schedule: 'manual',
      action: 'backfill',
      from: '2026-01-01T00:00:00+01:00',
      to: '2026-01-01T00:00:00+01:00',
      controlSeq: state.scheduleControlSeq + 1,
      at: new Date().toISOString(),
    });
    expect(events).toMatchObject([{ type: 'schedule.fired', data: { fireId: 'manual@20251231T230000Z' } }]);
    await store.append('coordinator', events, state.seq);
    expect(await received('checker')).not.toContain('manual@20251231T230000Z');

    const next = start(['coordinator']);
    await next.waitForLog('scheduled task sent');
    await waitFor('the fire to finish', async () =>
      (await coordinatorEvents()).some(
        (e) =>
          e.type === 'schedule.fire_finished' &&
          (e.data as { fireId: string }).fireId === 'manual@20251231T230000Z',
      ),
    );
    expect((await received('checker')).filter((id) => id === 'manual@20251231T230000Z')).toHaveLength(1);
    expect(
      (await world.probe.results('checker')).filter((r) => r.taskId === 'manual@20251231T230000Z'),
    ).toHaveLength(1);
    // The list says how it went.
    const list = await cli(['list', '--json']);
    expect(list.code).toBe(0);
    const manual = (
      JSON.parse(list.stdout) as { name: string; lastFire?: { fireId: string; status: string } }[]
    ).find((s) => s.name === 'manual');
    expect(manual?.lastFire).toMatchObject({ fireId: 'manual@20251231T230000Z', status: 'completed' });
  }, 60_000);

  it('pause, resume, trigger and backfill go through the control subject and are journaled', async () => {
    const paused = await cli(['pause', 'tick-all', '--reason', 'maintenance']);
    expect(paused.stdout).toContain('schedule tick-all paused');
    const pausedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await fired('tick-all')).filter((f) => Date.parse(f.at) > pausedAt + 200)).toEqual([]);
    const listed = await cli(['list']);
    expect(listed.stdout).toMatch(/tick-all .*paused \(maintenance\)/);
    const resumed = await cli(['resume', 'tick-all']);
    expect(resumed.stdout).toContain('schedule tick-all resumed');
    await waitFor('a fire after the resume', async () =>
      (await fired('tick-all')).some((f) => Date.parse(f.at) > pausedAt + 4_500),
    );
    const trigger = await cli(['trigger', 'manual']);
    expect(trigger.code).toBe(0);
    const triggered = /task (manual@\d{8}T\d{6}Z\+t\d+)/.exec(trigger.stdout)?.[1];
    expect(triggered, trigger.stdout).toBeDefined();
    await waitFor('the triggered task to be received', async () =>
      (await received('checker')).includes(triggered ?? ''),
    );
    const backfill = await cli([
      'backfill',
      'manual',
      '--from',
      '2023-06-01T00:00:00Z',
      '--to',
      '2025-06-01T00:00:00Z',
    ]);
    expect(backfill.code, backfill.stderr).toBe(0);
    const ids = ['manual@20231231T230000Z', 'manual@20241231T230000Z'];
    await waitFor('the backfilled tasks to be received', async () => {
      const got = await received('checker');
      return ids.every((id) => got.includes(id));
    });
    // Backfilled again: the times already fired are not run again.
    await cli(['backfill', 'manual', '--from', '2024-12-31T23:00:00Z', '--to', '2024-12-31T23:00:00Z']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await received('checker')).filter((id) => id === ids[1])).toHaveLength(1);
    const bad = await cli([
      'backfill',
      'manual',
      '--from',
      '2000-01-01T00:00:00Z',
      '--to',
      '2200-01-01T00:00:00Z',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/more than 100 fire times/);
    const unknown = await cli(['pause', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /no schedule "nope" \(schedules: manual, slow-buffer, slow-skip, tick-all, tick-once, tick-skip\)/,
    );
    const status = await runCli(['status'], env());
    expect(status.stdout).toMatch(/schedules \(next fires\):[\s\S]*tick-all +→ checker: next 20/);
  }, 90_000);

  it('overlap with a slow agent: "skip" never runs two at once, "buffer_one" holds one back and says fires pile up', async () => {
    for (const name of ['tick-all', 'tick-once', 'tick-skip']) await cli(['pause', name]);
    const since = Date.now();
    await cli(['resume', 'slow-skip']);
    await cli(['resume', 'slow-buffer']);
    let warned: { warning?: string; buffered?: string } | undefined;
    await waitFor(
      'fires of the slow schedules to pile up and go on',
      async () => {
        const list = await cli(['list', '--json']);
        const view = (
          JSON.parse(list.stdout) as { name: string; warning?: string; buffered?: string }[]
        ).find((v) => v.name === 'slow-buffer');
        if (view?.warning !== undefined) warned = view;
        const buffered = (await fired('slow-buffer')).filter((f) => f.kind === 'buffered');
        return warned !== undefined && buffered.length >= 2;
      },
      40_000,
    );
    await cli(['pause', 'slow-skip']);
    await cli(['pause', 'slow-buffer']);
    const results = new Map((await world.probe.results('slow')).map((r) => [r.taskId, r]));
    for (const schedule of ['slow-skip', 'slow-buffer']) {
      const fires = (await fired(schedule)).filter((f) => Date.parse(f.at) >= since - 1_000);
      // Never two open at once: each fire comes after the previous one's result.
      for (let i = 1; i < fires.length; i++) {
        const previous = results.get(fires[i - 1]?.fireId ?? '');
        expect(previous, fires[i - 1]?.fireId).toBeDefined();
        expect(Date.parse(fires[i]?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(previous?.finishedAt ?? ''));
      }
      const reasons = (await skipped(schedule)).map((s) => s.reason);
      expect(reasons).toContain(schedule === 'slow-skip' ? 'overlap' : 'buffer_full');
    }
    expect(warned?.warning).toMatch(
      /fires are piling up: slow-buffer@\d{8}T\d{6}Z .* has not finished; one fire is buffered/,
    );
    expect(warned?.buffered).toMatch(/^20/);
  }, 90_000);
});

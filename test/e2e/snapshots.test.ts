import { jetstream } from '@nats-io/jetstream';
import {
  applyCommit,
  initialState,
  parseAgentCommit,
  STATE_VERSION,
  subjects,
  toSnapshot,
} from '@spool/core/internal';
import { historyStore, results, snapshotStore, submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, capturingLogger, runAgentInProcess, startWorld, type World } from '../support/world.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => world?.close());

const spec = analystSpec({ snapshotEvery: 10, concurrency: 4 });

/** Runs `count` tasks through the agent and stops it once every result is out. */
async function fillHistory(agent: string, count: number, from = 0): Promise<void> {
  const handle = await runAgentInProcess(world, agent, spec);
  const sink = results(world.connection);
  const waits = [];
  for (let i = from; i < from + count; i++) {
    waits.push(sink.wait(agent, `t-${i}`, AbortSignal.timeout(30_000)));
    await submitTask(world.connection, agent, { id: `t-${i}`, input: `task ${i}` });
  }
  await Promise.all(waits);
  await waitFor(
    'a snapshot',
    async () => (await (await snapshotStore(world.connection)).load(agent)) !== undefined,
  );
  await handle.stop();
}

/** The state folded from the whole history, as the reference. */
async function fromScratch(agent: string) {
  const state = initialState(agent);
  for await (const commit of historyStore(world.connection, parseAgentCommit).replay(agent))
    applyCommit(state, commit);
  return toSnapshot(state);
}

/** Starts the agent again and returns what it logged about its recovery, and its state. */
async function restart(agent: string) {
  const capture = capturingLogger();
  const handle = await runAgentInProcess(world, agent, spec, { logger: capture.logger });
  const state = handle.state();
  const snapshot = state === undefined ? undefined : toSnapshot(state);
  await handle.stop();
  const replayed = capture.records.find((r) => r.msg === 'history replayed');
  return { messages: capture.messages, replayed, snapshot };
}

describe('snapshots', () => {
  it('are taken every snapshotEvery events, and recovery replays only the tail after the newest', async () => {
    await fillHistory('snappy', 12);
    const saved = await (await snapshotStore(world.connection)).load('snappy');
    expect(saved?.seq).toBeGreaterThan(0);

    const { replayed, snapshot } = await restart('snappy');
    expect(replayed?.fromSnapshot).toBe(saved?.seq);
    const commits = (await world.probe.history('snappy')).length;
    expect(Number(replayed?.replayedCommits)).toBeLessThan(commits);
    // The state from snapshot + tail is the state from the whole history.
    expect(snapshot).toEqual(await fromScratch('snappy'));
  });

  it('ignore a corrupted snapshot with a warning and replay the whole history', async () => {
    await fillHistory('corrupted', 12);
    // Overwrite the manifest with bytes that are not a manifest, as a broken writer might.
    await world.probe.nc.request('$KV.spool_snapshots.corrupted', 'garbage').catch(() => undefined);
    await waitFor('the manifest to be overwritten', async () => {
      const loaded = await (await snapshotStore(world.connection))
        .load('corrupted')
        .catch(() => 'unreadable');
      return loaded === 'unreadable';
    });
    const { messages, replayed, snapshot } = await restart('corrupted');
    expect(messages.find((m) => m.startsWith('snapshot ignored'))).toMatch(
      /snapshot ignored: snapshot of corrupted is unreadable: manifest .* is not JSON; replaying the whole history/,
    );
    expect(replayed?.fromSnapshot).toBe(0);
    expect(snapshot).toEqual(await fromScratch('corrupted'));
  });

  it('ignore a snapshot of another state version, or one past the end of the history', async () => {
    await fillHistory('versioned', 12);
    const store = await snapshotStore(world.connection);
    const good = await store.load('versioned');
    const data = good?.data as ReturnType<typeof toSnapshot>;

    await store.save('versioned', data.seq, { ...data, stateVersion: STATE_VERSION - 2 });
    const older = await restart('versioned');
    expect(older.messages.find((m) => m.startsWith('snapshot ignored'))).toContain(
      `written by state version ${STATE_VERSION - 2}`,
    );
    expect(older.snapshot).toEqual(await fromScratch('versioned'));

    // Version 9 (every finished id in `done`) is still read, into today's shape.
    const { recentlyDone, ...rest } = data;
    await store.save('versioned', data.seq, { ...rest, stateVersion: 9, done: recentlyDone });
    const v9 = await restart('versioned');
    expect(v9.replayed?.fromSnapshot).toBe(data.seq);
    expect(v9.snapshot).toEqual(await fromScratch('versioned'));
    const verified = await runCli(['replay', 'versioned', '--verify'], { natsUrl: world.nats.url });
    expect(verified).toMatchObject({ code: 0, stdout: expect.stringContaining('matches the history') });

    await store.save('versioned', 1_000_000, { ...data, seq: 1_000_000 });
    const ahead = await restart('versioned');
    expect(ahead.messages.find((m) => m.startsWith('snapshot ignored'))).toContain(
      'past the end of the history',
    );
    expect(ahead.replayed?.fromSnapshot).toBe(0);
  });

  it('spool replay --verify says whether the newest snapshot matches the history rebuilt from scratch', async () => {
    await fillHistory('verified', 12);
    const env = { natsUrl: world.nats.url };
    const ok = await runCli(['replay', 'verified', '--verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/snapshot of verified at sequence \d+ .* matches the history/);

    // A snapshot that disagrees with the history (as one folded by different rules would).
    const store = await snapshotStore(world.connection);
    const data = (await store.load('verified'))?.data as ReturnType<typeof toSnapshot>;
    await store.save('verified', data.seq, { ...data, counts: { ...data.counts, completed: 999 } });
    const bad = await runCli(['replay', 'verified', '--verify', '--json'], env);
    expect(bad.code).toBe(1);
    const verdict = JSON.parse(bad.stdout.trim());
    expect(verdict).toMatchObject({
      agent: 'verified',
      ok: false,
      differences: [expect.stringMatching(/^counts.completed: 999 ≠ \d+$/)],
    });

    const none = await runCli(['replay', 'nobody', '--verify'], env);
    expect(none).toMatchObject({ code: 0, stdout: expect.stringContaining('no snapshot of nobody') });
  });

  it('a task id finished before the newest ones the state keeps is still one task: its stored result says so', async () => {
    const agent = 'long-ago';
    await fillHistory(agent, 3);
    // The state as after a thousand newer tasks: t-0 and t-1 are no longer among its done ids.
    const full = await fromScratch(agent);
    const store = await snapshotStore(world.connection);
    const recentlyDone = full.recentlyDone.filter(([id]) => id === 't-2');
    await store.save(agent, full.seq, { ...full, recentlyDone });

    const capture = capturingLogger();
    const handle = await runAgentInProcess(world, agent, spec, { logger: capture.logger });
    try {
      const replayed = capture.records.find((r) => r.msg === 'history replayed');
      expect(replayed?.fromSnapshot).toBe(full.seq);
      expect(handle.state()?.recentlyDone.has('t-0')).toBe(false);
      const calls = () => world.fake.requests.filter((r) => r.path === '/v1/messages').length;
      const callsBefore = calls();

      // Sent again without the submit's msgID (past the inbox's duplicate window, as it were),
      // with a cancel of the other old id, then a new task to know the intake got that far.
      const js = jetstream(world.probe.nc);
      await js.publish(subjects.inbox(agent), JSON.stringify({ id: 't-0', input: 'task 0 once more' }));
      await js.publish(subjects.control(agent), JSON.stringify({ type: 'cancel', taskId: 't-1' }));
      await js.publish(subjects.inbox(agent), JSON.stringify({ id: 't-new', input: 'a new task' }));
      await results(world.connection).wait(agent, 't-new', AbortSignal.timeout(30_000));
      await waitFor('the cancel to be answered', () =>
        capture.messages.some((m) => m.startsWith('cancel: nothing to do')),
      );

      const dropped = () => capture.records.filter((r) => String(r.msg).includes('dropped as a duplicate'));
      await waitFor('the old id to be dropped', () => dropped().length > 0);
      expect(dropped().map((r) => r.taskId)).toEqual(['t-0']);
      expect(calls() - callsBefore).toBe(1); // t-new's call only
      const sent = JSON.stringify(world.fake.requests.map((r) => r.body));
      expect(sent).not.toContain('task 0 once more');
      // Its result is out before it is journaled as published.
      await waitFor('t-new to leave the unfinished tasks', () => handle.state()?.active.size === 0);
      const state = handle.state();
      expect(state?.cancelRequests.size).toBe(0); // nothing kept for a task that is long done
      expect(state?.recentlyDone.has('t-0')).toBe(false);
      const stored = (await world.probe.results(agent)).filter((r) => r.taskId === 't-0');
      expect(stored).toHaveLength(1);
    } finally {
      await handle.stop();
    }
  });

  it('a task whose results lookup fails is handed back and taken once the stream answers, never run twice', async () => {
    const agent = 'lookup-trouble';
    const real = results(world.connection);
    let failures = 2;
    const flaky = {
      ...real,
      published: async (where: string, taskId: string) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('no answer from SPOOL_RESULTS');
        }
        return real.published(where, taskId);
      },
    };
    const capture = capturingLogger();
    const handle = await runAgentInProcess(world, agent, spec, { logger: capture.logger, results: flaky });
    try {
      const calls = () => world.fake.requests.filter((r) => r.path === '/v1/messages').length;
      const before = calls();
      await submitTask(world.connection, agent, { id: 'flaky-1', input: 'looked up twice in vain' });
      const result = await real.wait(agent, 'flaky-1', AbortSignal.timeout(30_000));
      expect(result.status).toBe('completed');
      const handedBack = capture.messages.filter((m) => m.startsWith('could not ask the results stream'));
      expect(handedBack).toHaveLength(2);
      expect(calls() - before).toBe(1);
      expect((await world.probe.results(agent)).filter((r) => r.taskId === 'flaky-1')).toHaveLength(1);
    } finally {
      await handle.stop();
    }
  });
});

import { type HistoryEvent, parseConfig, replicaOf, type TaskResult } from '@spool/core/internal';
import { claims, inboxPending, poolReplicas, results, submitTask, taskOwner } from '@spool/jetstream';
import { startPoolOnNats } from '@spool/runtime';
import { echoResponder } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, capturingLogger, startWorld, testLogger, type World } from '../support/world.ts';

const TASKS = 100;
const FAST_REPLIES = 30;
const REPLICAS = ['crew-1', 'crew-2', 'crew-3'];

/** The task a model request is for: the user text of its last message (the task input). */
function inputOf(body: unknown): string {
  const last = (body as { messages: { content: unknown }[] }).messages.at(-1)?.content;
  if (typeof last === 'string') return last;
  return Array.isArray(last) ? last.map((b: { text?: string }) => b.text ?? '').join('') : '';
}

describe('agent pool - three replicas in three processes, one SIGKILLed mid-run', () => {
  let world: World;
  const procs: CliProcess[] = [];
  const messageRequests = () => world.fake.requests.filter((r) => r.path === '/v1/messages');
  beforeAll(async () => {
    // Fast replies for the first FAST_REPLIES, slow ones after (until the kill): the pool cannot
    // drain its inbox before the test sees crew-2 busy, however loaded the machine is.
    let answered = 0;
    world = await startWorld({
      latencyMs: 150,
      responder: (body) => {
        answered += 1;
        if (answered === FAST_REPLIES) world.fake.setLatency(3_000);
        return echoResponder(body);
      },
    });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? p.kill('SIGKILL') : undefined)));
    await world?.close();
  });

  it('gives every task one result and one journal, never asks the model twice, and finishes the dead replica’s tasks', async () => {
    const config = writeConfig({
      agents: {
        crew: {
          instructions: 'Work.',
          model: 'claude-sonnet-4-6',
          replicas: 3,
          concurrency: 4,
          leaseTtlMs: 1500,
          ackWaitMs: 3000,
        },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    for (const replica of REPLICAS) procs.push(startCli(['agent', replica, '--config', config], env));
    await Promise.all(procs.map((p) => p.waitForLog('pool replicas running')));

    for (let i = 0; i < TASKS; i++)
      await submitTask(world.connection, 'crew', { id: `pool-${i}`, input: `pool job ${i}` });

    // Kill crew-2 once it has journaled replies and has calls in flight (slow ones by then:
    // they cannot finish between this check and the kill).
    const victim = procs[1] as CliProcess;
    await waitFor('crew-2 to have work done and more in flight, after the fast replies', async () => {
      const events = (await world.probe.history('crew-2')).flatMap((c) => c.events);
      const received = events.filter((e) => e.type === 'task.received').length;
      const completed = events.filter((e) => e.type === 'task.completed').length;
      return messageRequests().length > FAST_REPLIES && completed >= 3 && received > completed;
    });
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    world.fake.setLatency(150);
    const atKill = (await world.probe.history('crew-2')).flatMap((c) => c.events);
    const unfinishedAtKill = new Set(atKill.filter((e) => e.type === 'task.received').map(taskOf));
    for (const e of atKill) if (e.type === 'task.completed') unfinishedAtKill.delete(taskOf(e));
    expect(unfinishedAtKill.size).toBeGreaterThan(0);

    await waitFor(
      'every task to have a result',
      async () => (await world.probe.results('crew')).length >= TASKS,
      45_000,
      200,
    );

    const stored: TaskResult[] = await world.probe.results('crew');
    expect(stored).toHaveLength(TASKS);
    expect([...countBy(stored, (r) => r.taskId).values()].every((n) => n === 1)).toBe(true);
    expect(stored.every((r) => r.status === 'completed' && r.agent === 'crew')).toBe(true);
    expect(new Set(stored.map((r) => r.replica))).toEqual(new Set(REPLICAS));

    // Each task journaled in exactly one replica's history.
    const histories = new Map<string, { time: number; events: HistoryEvent[] }[]>();
    for (const replica of REPLICAS) histories.set(replica, await world.probe.history(replica));
    const journaledIn = new Map<string, string[]>();
    for (const [replica, commits] of histories)
      for (const commit of commits)
        for (const e of commit.events)
          if (e.type === 'task.received')
            journaledIn.set(taskOf(e), [...(journaledIn.get(taskOf(e)) ?? []), replica]);
    expect(journaledIn.size).toBe(TASKS);
    const twice = [...journaledIn].filter(([, where]) => where.length !== 1);
    expect(twice).toEqual([]);
    // The work was spread: every replica journaled some.
    for (const replica of REPLICAS)
      expect([...journaledIn.values()].filter((w) => w[0] === replica).length).toBeGreaterThan(0);

    // No model step requested twice for one task, except a call in flight at the kill (its reply never journaled).
    const perInput = countBy(messageRequests(), (r) => inputOf(r.body));
    const repeated = [...perInput].filter(([, n]) => n > 1).map(([input]) => input);
    const inFlightAtKill = new Set(
      [...unfinishedAtKill].filter(
        (id) => !atKill.some((e) => e.type === 'model.responded' && taskOf(e) === id),
      ),
    );
    for (const input of repeated) {
      const id = `pool-${input.replace('pool job ', '')}`;
      expect(inFlightAtKill.has(id), `${id} was asked of the model twice`).toBe(true);
      expect(perInput.get(input)).toBe(2);
    }

    // The killed replica's unfinished tasks were finished in its own history, by an adopter.
    const after = (histories.get('crew-2') ?? []).filter((c) => c.time > killedAt).flatMap((c) => c.events);
    const finishedAfter = new Set(after.filter((e) => e.type === 'task.completed').map(taskOf));
    expect(after.some((e) => e.type === 'task.resumed')).toBe(true);
    for (const id of unfinishedAtKill)
      expect(finishedAfter.has(id), `${id} finished after the kill`).toBe(true);
    const adopters = procs.filter((p) => p.stderr.includes('adopted a replica whose process is gone'));
    expect(adopters.length).toBeGreaterThan(0);

    // The dead replica's inbox messages come back after the ack wait: a sibling sees the task is
    // done (its result is stored) or crew-2's (in its history) and acks them, without running
    // anything again.
    const requestsDone = world.fake.requests.length;
    await waitFor(
      'the pool inbox to be empty (the dead replica’s messages acked)',
      async () => {
        const pending = await inboxPending(world.connection, 'crew');
        return pending.queued === 0 && pending.unacked === 0;
      },
      15_000,
      200,
    );
    const ackedBySibling = (p: (typeof procs)[number]) =>
      p.stderr.includes('task belongs to another replica of the pool') ||
      p.stderr.includes('task id already done; message dropped as a duplicate');
    expect(procs.some(ackedBySibling)).toBe(true);
    // Once it has nothing left to do, the adopter gives crew-2's name back (so crew-2 can return).
    await waitFor('the adopted replica to be released', () =>
      adopters.some((p) => p.stderr.includes('adopted replica has no unfinished task left; releasing it')),
    );
    expect(world.fake.requests.length).toBe(requestsDone);
    expect(await world.probe.results('crew')).toHaveLength(TASKS);
  }, 60_000);
});

describe('agent pool - spool up runs every replica', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ latencyMs: 50 });
  });
  afterAll(() => world?.close());

  it('shares the tasks between the replicas, and submit --wait gets the pool’s result', async () => {
    const config = writeConfig({
      agents: { duo: { instructions: 'Work.', model: 'claude-sonnet-4-6', replicas: 2, concurrency: 2 } },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const up = startCli(['up', '--config', config], env);
    try {
      await up.waitForLog('spool is up');
      const waited = await runCli(['submit', 'duo', 'hello pool', '--id', 'duo-w', '--wait', '--json'], env);
      expect(waited.code, waited.stderr).toBe(0);
      const result = JSON.parse(waited.stdout) as TaskResult;
      expect(result).toMatchObject({ taskId: 'duo-w', agent: 'duo', status: 'completed' });
      expect(['duo-1', 'duo-2']).toContain(result.replica);

      for (let i = 0; i < 20; i++)
        await submitTask(world.connection, 'duo', { id: `duo-${i}`, input: `job ${i}` });
      await waitFor('20 more results', async () => (await world.probe.results('duo')).length >= 21);
      const stored = await world.probe.results('duo');
      expect(stored).toHaveLength(21);
      const byReplica = countBy(stored, (r) => r.replica ?? '?');
      expect(byReplica.get('duo-1') ?? 0).toBeGreaterThan(0);
      expect(byReplica.get('duo-2') ?? 0).toBeGreaterThan(0);
      const received = [
        ...(await world.probe.history('duo-1')),
        ...(await world.probe.history('duo-2')),
      ].flatMap((c) => c.events.filter((e) => e.type === 'task.received'));
      expect(received).toHaveLength(21);
    } finally {
      await up.kill('SIGTERM');
    }
  }, 40_000);
});

describe('agent pool - claims', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());

  it('claims a task once, hands it over only by compare-and-swap, and routes cancels to the owner', async () => {
    const store = await claims(world.connection);
    const first = await store.claim('grp', 'odd id:with=chars', 'grp-1');
    expect(first).toMatchObject({ owner: 'grp-1', tries: 1, created: true });
    const second = await store.claim('grp', 'odd id:with=chars', 'grp-2');
    expect(second).toMatchObject({ owner: 'grp-1', created: false });
    expect(await store.takeOver('grp', 'odd id:with=chars', 'grp-2', second)).toMatchObject({
      owner: 'grp-2',
      tries: 2,
    });
    // A takeover on a stale revision loses.
    expect(await store.takeOver('grp', 'odd id:with=chars', 'grp-3', second)).toBeUndefined();
    expect(await taskOwner(world.connection, 'grp', 'odd id:with=chars')).toBe('grp-2');
    expect(await taskOwner(world.connection, 'grp', 'never-claimed')).toBe('grp');
    expect(await store.lease('grp-1')).toBe('free');
  });

  it('runs a task whose claimant died before journaling it, after adopting the claimant to make sure', async () => {
    const spec = analystSpec({ replicas: 2, leaseTtlMs: 1_000 });
    // pb-2 claimed the task, then died before journaling it (it never ran at all here).
    await (await claims(world.connection)).claim('pb', 'orphan-1', 'pb-2');
    const pool = await startPoolOnNats(world.connection, {
      name: 'pb',
      spec,
      replicas: [1],
      holder: 'test-pool',
      model: world.model,
      logger: testLogger,
      fetchExpiresMs: 500,
    });
    try {
      await pool.ready;
      await submitTask(world.connection, 'pb', { id: 'orphan-1', input: 'left behind' });
      const result = await results(world.connection).wait('pb', 'orphan-1');
      expect(result).toMatchObject({ agent: 'pb', replica: 'pb-1', status: 'completed' });
      // Taken over by compare-and-swap, run, and its claim released (just after the result is
      // published, best effort): the result names the replica.
      const table = await claims(world.connection);
      await waitFor('the claim released', async () => (await table.owner('pb', 'orphan-1')) === undefined);
      expect(await taskOwner(world.connection, 'pb', 'orphan-1')).toBe('pb-1');
      const pb2 = (await world.probe.history('pb-2')).flatMap((c) => c.events);
      expect(pb2.filter((e) => e.type === 'task.received')).toEqual([]);
    } finally {
      await pool.stop();
    }
  });
});

describe('agent pool - claims are released once the result is published', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());

  it('leaves nothing in the claims stream, acks a copy that comes back without running it, and still routes controls', async () => {
    const start = (replicas: number[] | undefined, logger = testLogger) =>
      startPoolOnNats(world.connection, {
        name: 'pr',
        spec: analystSpec({ replicas: 2, concurrency: 2 }),
        ...(replicas ? { replicas } : {}),
        holder: 'test-pool',
        model: world.model,
        logger,
        fetchExpiresMs: 500,
      });
    const claimMessages = () => world.probe.messagesOn('KV_spool_claims', '$KV.spool_claims.pr.>');
    const ids = Array.from({ length: 10 }, (_, i) => `pr-${i}`);
    const both = await start(undefined);
    try {
      await both.ready;
      for (const id of ids) await submitTask(world.connection, 'pr', { id, input: `release ${id}` });
      await waitFor('10 results', async () => (await world.probe.results('pr')).length >= 10);
      // No claim left, and no delete marker either: the stream holds nothing for the pool.
      await waitFor('the claims released', async () => (await claimMessages()) === 0, 10_000);
    } finally {
      await both.stop();
    }
    const requests = world.fake.requests.length;
    const stored = await world.probe.results('pr');
    // Controls (cancel, approve, a dead-letter retry) still find the replica: the result names it.
    for (const result of stored)
      expect(await taskOwner(world.connection, 'pr', result.taskId)).toBe(result.replica);
    const fromPr2 = stored.filter((r) => r.replica === 'pr-2').map((r) => r.taskId);
    expect(fromPr2.length).toBeGreaterThan(0);

    // Copies of every task come back (published raw: no dedup id) while only pr-1 runs: it knows
    // its own from its history; pr-2's it finds on the results stream (asked for any task id its
    // state does not know) and acks them before claiming anything. Nothing runs again.
    const { logger, records } = capturingLogger();
    const one = await start([1], logger);
    try {
      await one.ready;
      for (const id of ids)
        await world.probe.publishRaw('pr', JSON.stringify({ id, input: `release ${id}` }));
      await waitFor('the copies acked', async () => {
        const pending = await inboxPending(world.connection, 'pr');
        return pending.queued === 0 && pending.unacked === 0;
      });
      expect(world.fake.requests.length).toBe(requests);
      expect(await world.probe.results('pr')).toHaveLength(10);
      const received = [
        ...(await world.probe.history('pr-1')),
        ...(await world.probe.history('pr-2')),
      ].flatMap((c) => c.events.filter((e) => e.type === 'task.received'));
      expect(received.map(taskOf).sort()).toEqual([...ids].sort());
      const dropped = records
        .filter((r) => r.msg === 'task id already done; message dropped as a duplicate')
        .map((r) => String(r.taskId));
      expect(dropped.sort()).toEqual([...ids].sort());
      expect(fromPr2.every((id) => dropped.includes(id))).toBe(true);
      await waitFor('no claim left by the copies', async () => (await claimMessages()) === 0, 10_000);
    } finally {
      await one.stop();
    }
  });
});

describe('agent pool - cancel before any replica claimed the task', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());

  it('spool cancel --agent <pool> reaches every replica; the one the task reaches cancels it', async () => {
    const start = () =>
      startPoolOnNats(world.connection, {
        name: 'pq',
        spec: analystSpec({ replicas: 2 }),
        holder: 'test-pool',
        model: world.model,
        logger: testLogger,
        fetchExpiresMs: 500,
      });
    // The replicas ran once (their control consumers exist), then stopped: the task waits unclaimed.
    const first = await start();
    await first.ready;
    await first.stop();
    await submitTask(world.connection, 'pq', { id: 'unclaimed-1', input: 'not needed after all' });
    expect(await taskOwner(world.connection, 'pq', 'unclaimed-1')).toBe('pq');
    expect(await poolReplicas(world.connection, 'pq')).toEqual(['pq-1', 'pq-2']);
    // A name with a control consumer of its own is an agent (here a replica), not a pool.
    expect(await poolReplicas(world.connection, 'pq-1')).toEqual([]);

    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const cancel = await runCli(['cancel', 'unclaimed-1', '--agent', 'pq', '--reason', 'changed plans'], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('sent to every replica of pool pq (pq-1, pq-2;');

    const pool = await start();
    try {
      const result = await results(world.connection).wait('pq', 'unclaimed-1', AbortSignal.timeout(10_000));
      expect(result).toMatchObject({ agent: 'pq', status: 'cancelled', steps: 0 });
      expect(result.error?.message).toContain('changed plans');
      expect(['pq-1', 'pq-2']).toContain(result.replica);
      // Each replica journaled the request; only the one the task reached received it.
      for (const replica of ['pq-1', 'pq-2']) {
        const events = (await world.probe.history(replica)).flatMap((c) => c.events);
        expect(events.some((e) => e.type === 'task.cancelled' && taskOf(e) === 'unclaimed-1')).toBe(true);
        expect(events.some((e) => e.type === 'task.received' && taskOf(e) === 'unclaimed-1')).toBe(
          replica === result.replica,
        );
      }
      expect(
        world.fake.requests.filter((r) => JSON.stringify(r.body).includes('not needed after all')),
      ).toEqual([]);
    } finally {
      await pool.stop();
    }
  });
});

describe('agent pool - config', () => {
  const agent = { instructions: 'Work.', model: 'claude-sonnet-4-6' };

  it('refuses a replica name that is another agent, and replicas out of range, in one line', () => {
    expect(() =>
      parseConfig({ agents: { app: { ...agent, replicas: 3 }, 'app-2': agent } }, 'c.json'),
    ).toThrow(
      'c.json: agents.app.replicas: replica app-2 of pool app has the name of another agent: rename that agent or lower replicas',
    );
    expect(() => parseConfig({ agents: { app: { ...agent, replicas: 65 } } }, 'c.json')).toThrow(
      'c.json: agents.app.replicas: must be at most 64 (got 65)',
    );
    expect(parseConfig({ agents: { app: agent, 'app-2': agent } }).agents.app?.replicas).toBe(1);
    const config = parseConfig({ agents: { app: { ...agent, replicas: 2 } } });
    expect(replicaOf(config.agents, 'app-2')).toEqual({ pool: 'app', index: 2 });
    expect(replicaOf(config.agents, 'app-3')).toBeUndefined();
  });
});

function taskOf(event: HistoryEvent): string {
  return (event.data as { taskId: string }).taskId;
}

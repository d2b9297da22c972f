import { startCoordinator } from '@spool/coordinator';
import {
  type AgentSpecInput,
  DeadLetterReportSchema,
  type HistoryEvent,
  subjects,
  taskIdOf,
} from '@spool/core';
import { openInbox, requests, results, sendControl, submitTask } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import {
  analystSpec,
  capturingLogger,
  runAgentInProcess,
  startWorld,
  testLogger,
  type World,
} from '../support/world.ts';

let world: World;
let running: AgentHandle[] = [];

beforeAll(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  running = [];
});
afterAll(async () => world?.close());

const fastRetries = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 };

async function run(name: string, spec: Partial<AgentSpecInput> = {}, stopGraceMs?: number) {
  const capture = capturingLogger();
  const extra = { logger: capture.logger, ...(stopGraceMs === undefined ? {} : { stopGraceMs }) };
  const agent = await runAgentInProcess(world, name, analystSpec({ retry: fastRetries, ...spec }), extra);
  running.push(agent);
  return { agent, ...capture };
}

const submit = (agent: string, id: string, input = `input of ${id}`) =>
  submitTask(world.connection, agent, { id, input });
const result = (agent: string, id: string) =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(30_000));
const requestsFor = (text: string) =>
  world.fake.requests.filter((r) => JSON.stringify(r.body).includes(text));
async function eventsOf(agent: string, type: HistoryEvent['type'], taskId: string) {
  return (await world.probe.history(agent))
    .flatMap((c) => c.events)
    .filter((e) => e.type === type && taskIdOf(e) === taskId);
}

describe('model failures', () => {
  it('retries a retryable error with backoff, journaling each failed call', async () => {
    await run('retrier');
    world.fake.failNext(529, { count: 2 });
    await submit('retrier', 'r-1', 'overloaded twice');
    expect((await result('retrier', 'r-1')).status).toBe('completed');
    expect(requestsFor('overloaded twice').map((r) => r.status)).toEqual([529, 529, 200]);
    const failures = await eventsOf('retrier', 'model.failed', 'r-1');
    expect(failures.map((e) => e.type === 'model.failed' && [e.data.call, e.data.error.code])).toEqual([
      [1, 'overloaded'],
      [2, 'overloaded'],
    ]);
    expect(failures.every((e) => e.type === 'model.failed' && e.data.retryAt !== undefined)).toBe(true);
  });

  it('fails a task whose reply is too large for one journal commit, saying what to do, and goes on', async () => {
    const { messages } = await run('verbose', { memory: { exchanges: 0 } });
    world.fake.script('x'.repeat(600_000)); // journaled as the reply and as the output: over 1 MB
    await submit('verbose', 'v-1', 'say a lot');
    const failed = await result('verbose', 'v-1');
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('commit_too_large');
    expect(failed.error?.message).toMatch(
      /KiB in one commit, more than one NATS message holds.*lower maxTokens/,
    );
    await submit('verbose', 'v-2', 'say a little');
    expect((await result('verbose', 'v-2')).status).toBe('completed');
    // One call, no replay loop: the journal went on.
    expect(requestsFor('say a lot')).toHaveLength(1);
    expect(messages.some((m) => m.includes('history append failed'))).toBe(false);
    expect(messages.some((m) => m.startsWith('task failed: RecordReply would journal'))).toBe(true);
  });

  it('fails the task once the attempts are used up, saying so', async () => {
    await run('exhausted');
    world.fake.failNext(500, { count: 3 });
    await submit('exhausted', 'x-1', 'always failing');
    const failed = await result('exhausted', 'x-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(failed.error?.message).toContain('gave up after 3 call(s)');
    expect(requestsFor('always failing')).toHaveLength(3);
  });

  it('fails at once on a terminal error', async () => {
    await run('terminal');
    world.fake.failNext(400);
    await submit('terminal', 'bad-1', 'refused request');
    expect(await result('terminal', 'bad-1')).toMatchObject({
      status: 'failed',
      error: { code: 'bad_request' },
    });
    expect(requestsFor('refused request')).toHaveLength(1);
  });

  it("waits at least the server's retry-after", async () => {
    await run('patient');
    world.fake.failNext(429, { retryAfterSeconds: 1 });
    await submit('patient', 'ra-1', 'rate limited once');
    expect((await result('patient', 'ra-1')).status).toBe('completed');
    const [first, second] = requestsFor('rate limited once');
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('keeps the backoff across a restart: the next call waits for the journaled retry time', async () => {
    const first = await run('restarted', { retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0 } });
    world.fake.failNext(503, { retryAfterSeconds: 2 });
    await submit('restarted', 'rs-1', 'backoff across restarts');
    await waitFor(
      'the failure to be journaled',
      async () => (await eventsOf('restarted', 'model.failed', 'rs-1')).length === 1,
    );
    await first.agent.stop();
    await run('restarted', { retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0 } });
    expect((await result('restarted', 'rs-1')).status).toBe('completed');
    const [failure] = await eventsOf('restarted', 'model.failed', 'rs-1');
    const retryAt = Date.parse(failure?.type === 'model.failed' ? (failure.data.retryAt ?? '') : '');
    const calls = requestsFor('backoff across restarts');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.at ?? 0).toBeGreaterThanOrEqual(retryAt - 5);
  });

  it('abandons a stalled call after modelTimeoutMs and retries it', async () => {
    await run('staller', { modelTimeoutMs: 1_000 });
    world.fake.stallNext();
    await submit('staller', 'st-1', 'stalled once');
    expect((await result('staller', 'st-1')).status).toBe('completed');
    const [failure] = await eventsOf('staller', 'model.failed', 'st-1');
    expect(failure?.type === 'model.failed' && failure.data.error.code).toBe('timeout');
  });

  it('fails a task past its deadline with deadline_exceeded', async () => {
    await run('deadline', { taskDeadlineMs: 1_000, modelTimeoutMs: 60_000 });
    world.fake.stallNext();
    await submit('deadline', 'dl-1', 'never in time');
    const started = Date.now();
    const failed = await result('deadline', 'dl-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('crash loops and poison messages', () => {
  it('fails a task whose writer keeps stopping while it runs, instead of resuming it forever', async () => {
    const spec = { maxInterruptions: 2, modelTimeoutMs: 60_000 };
    world.fake.stallNext({ count: 3 });
    await submit('looper', 'loop-1', 'takes the agent down');
    for (let i = 0; i < 3; i++) {
      const { agent } = await run('looper', spec, 0);
      await waitFor('the call in flight', () => requestsFor('takes the agent down').length === i + 1, 10_000);
      await agent.stop(); // abandons the call in flight, as a crash would
      running = [];
    }
    await run('looper', spec);
    const failed = await result('looper', 'loop-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'crash_loop' } });
    expect(await eventsOf('looper', 'task.resumed', 'loop-1')).toHaveLength(3);
  });

  it('refuses a message delivered many times without ever being journaled', async () => {
    await submit('poisoned', 'p-1', 'delivered too often');
    const inbox = await openInbox(world.connection, 'poisoned');
    for (let i = 0; i < 5; i++) {
      const [message] = await inbox.fetch(1, 2_000);
      message?.nak(); // a worker that keeps dying before it journals the task
    }
    await run('poisoned');
    expect(await result('poisoned', 'p-1')).toMatchObject({
      status: 'rejected',
      error: { code: 'poison_message' },
    });
    expect(requestsFor('delivered too often')).toHaveLength(0);
  });
});

describe('the dead-letter view', () => {
  it('lists failed tasks; retry runs one again as a new attempt, drop removes it', async () => {
    const coordinator = await startCoordinator({
      connection: world.connection,
      agents: ['dead'],
      logger: testLogger,
    });
    try {
      await coordinator.ready;
      await run('dead');
      const dlq = async () =>
        DeadLetterReportSchema.parse(
          JSON.parse(await requests(world.connection).request(subjects.deadLetters, '{}', 3_000)),
        ).entries.filter((e) => e.agent === 'dead');
      world.fake.failNext(401);
      await submit('dead', 'd-1', 'first attempt refused');
      world.fake.failNext(404);
      await submit('dead', 'd-2', 'to be dropped');
      expect((await result('dead', 'd-1')).status).toBe('failed');
      expect((await result('dead', 'd-2')).status).toBe('failed');
      await waitFor('both in the view', async () => (await dlq()).length === 2);
      expect((await dlq()).map((e) => [e.taskId, e.error.code, e.attempts])).toEqual([
        ['d-1', 'authentication_failed', 1],
        ['d-2', 'not_found', 1],
      ]);

      await sendControl(world.connection, 'dead', { type: 'retry', taskId: 'd-1' }, 'retry-d-1');
      await waitFor(
        'the retried result',
        async () => (await results(world.connection).get('dead', 'd-1'))?.status === 'completed',
      );
      const stored = (await world.probe.results('dead')).filter((r) => r.taskId === 'd-1');
      expect(stored.map((r) => [r.status, r.attempts])).toEqual([
        ['failed', 1],
        ['completed', 2],
      ]);

      await sendControl(world.connection, 'dead', { type: 'drop', taskId: 'd-2' }, 'drop-d-2');
      await waitFor('an empty view', async () => (await dlq()).length === 0);
      // The journal of the first attempt is kept.
      expect(await eventsOf('dead', 'task.failed', 'd-1')).toHaveLength(1);
      expect(await eventsOf('dead', 'task.completed', 'd-1')).toHaveLength(1);
    } finally {
      await coordinator.stop();
    }
  });
});

import type { TaskResult } from '@spool/core';
import { results, submitTask, submitWorkflow } from '@spool/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, startCli, writeConfig } from '../support/cli.ts';
import { metricsUrlIn, sample, scrape } from '../support/prometheus.ts';
import { plannerResponder } from '../support/planner-responder.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/**
 * Metrics end to end: `spool up --metrics-port 0` runs a known workload against the fake
 * Messages API, and its /metrics is scraped and parsed: exact counts of tasks, model calls,
 * tokens, cost, tool calls and workflow runs; a keyed agent's instances count under the
 * agent's name (never a key in a label); the probes say what a supervisor needs.
 */

const MODEL = 'test-model';
const PRICE = { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 };
/** Every reply's usage, so the token and cost counters have exact expected values. */
const USAGE = {
  input_tokens: 100,
  output_tokens: 10,
  cache_read_input_tokens: 5,
  cache_creation_input_tokens: 2,
};
const REPLY_COST = (100 * 3 + 10 * 15 + 5 * 0.3 + 2 * 3.75) / 1e6;

const responder = plannerResponder('a line', 'done', USAGE);

const CONFIG = {
  agents: {
    writer: { instructions: 'Writer.', model: MODEL, prices: { [MODEL]: PRICE } },
    planner: {
      instructions: 'Planner.',
      model: MODEL,
      prices: { [MODEL]: PRICE },
      delegation: { agents: ['writer'] },
    },
    // A keyed agent: every key its own instance, all counted under the agent's name.
    support: { instructions: 'Support.', model: MODEL, prices: { [MODEL]: PRICE }, keyed: true },
  },
  workflows: { single: { steps: { only: { agent: 'writer', input: 'step {{input}}' } } } },
};

let world: World;
let up: CliProcess;
let config: string;
let metricsUrl: string;
const extra: CliProcess[] = [];
const env = (extraEnv: Record<string, string> = {}) => ({
  natsUrl: world.nats.url,
  anthropicBaseUrl: world.fake.url,
  extraEnv,
});

beforeAll(async () => {
  world = await startWorld({ responder });
  config = writeConfig(CONFIG);
  up = startCli(['up', '--config', config, '--metrics-port', '0'], env());
  await up.waitForLog('spool is up');
  metricsUrl = metricsUrlIn(up.stderr) as string;
}, 60_000);
afterEach((context) => printLogOnFailure(context, up));
afterAll(async () => {
  await Promise.all(extra.map((p) => p.kill('SIGKILL')));
  await up?.kill('SIGTERM');
  await world?.close();
});

/** `agent` is an agent's name or a keyed instance's `<agent>.<key>`. */
const resultOf = (agent: string, id: string): Promise<TaskResult> =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(30_000));

describe('metrics', () => {
  it('counts a known workload exactly: tasks by status, model calls, tokens, cost, tools, workflow runs', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // One at a time where a fault is injected, so it is known which call meets it.
    world.fake.failNext(400);
    await submitTask(world.connection, 'writer', { id: 'm-fail', input: 'x' });
    expect((await resultOf('writer', 'm-fail')).status).toBe('failed');
    await world.probe.publishRaw('writer', 'this is not json');
    await Promise.all(['m-1', 'm-2'].map((id) => submitTask(world.connection, 'writer', { id, input: id })));
    await submitTask(world.connection, 'planner', { id: 'm-plan', input: 'plan' });
    await submitWorkflow(world.connection, { id: 'm-wf', workflow: 'single', input: 'go' });
    await submitWorkflow(world.connection, { id: 'm-nope', workflow: 'no-such-workflow', input: 'go' });
    // Two keys of the keyed agent (two tasks for acme), and one key outside the allowed set.
    for (const [key, id] of [
      ['acme', 'm-k1'],
      ['acme', 'm-k2'],
      ['globex', 'm-k3'],
    ] as const) {
      await submitTask(world.connection, `support.${key}`, { id, input: id });
      expect((await resultOf(`support.${key}`, id)).status).toBe('completed');
    }
    await submitTask(world.connection, 'support.not@valid', { id: 'm-kbad', input: 'x' });
    expect((await resultOf('support.not@valid', 'm-kbad')).status).toBe('rejected');
    for (const [agent, id] of [
      ['writer', 'm-1'],
      ['writer', 'm-2'],
      ['planner', 'm-plan'],
      ['coordinator', 'm-wf'],
    ] as const)
      expect((await resultOf(agent, id)).status).toBe('completed');
    expect((await resultOf('coordinator', 'm-nope')).status).toBe('rejected');

    // writer: m-1, m-2, the planner's sub-task and the workflow step completed; m-fail failed; one message refused.
    const m = await waitFor('the last results counted', async () => {
      const s = await scrape(metricsUrl);
      return sample(s, 'spool_tasks_total', { agent: 'writer', status: 'completed' }) === 4 &&
        sample(s, 'spool_tasks_total', { agent: 'support', status: 'rejected' }) === 1 &&
        sample(s, 'spool_workflow_runs_total', { workflow: 'unknown', status: 'rejected' }) === 1
        ? s
        : undefined;
    });
    const tasks = (agent: string, status: string) => sample(m, 'spool_tasks_total', { agent, status });
    expect(tasks('writer', 'completed')).toBe(4);
    expect(tasks('writer', 'failed')).toBe(1);
    expect(tasks('writer', 'rejected')).toBe(1);
    expect(tasks('planner', 'completed')).toBe(1);
    const calls = (agent: string, outcome: string) =>
      sample(m, 'spool_model_calls_total', { agent, model: MODEL, operation: 'task', outcome });
    expect(calls('writer', 'ok')).toBe(4);
    expect(calls('writer', 'bad_request')).toBe(1);
    expect(calls('planner', 'ok')).toBe(2);
    expect(
      sample(m, 'spool_model_call_duration_seconds_count', {
        agent: 'writer',
        model: MODEL,
        operation: 'task',
      }),
    ).toBe(5);
    // Every model call here is a task's (no compaction): operation="task".
    const tokens = (agent: string, kind: string) =>
      sample(m, 'spool_tokens_total', { agent, model: MODEL, operation: 'task', kind });
    const cost = (agent: string) =>
      sample(m, 'spool_cost_usd_total', { agent, model: MODEL, operation: 'task' });
    expect(['input', 'output', 'cache_read', 'cache_write'].map((kind) => tokens('writer', kind))).toEqual([
      400, 40, 20, 8,
    ]);
    expect(tokens('planner', 'input')).toBe(200);
    expect(cost('writer')).toBeCloseTo(4 * REPLY_COST, 10);
    expect(cost('planner')).toBeCloseTo(2 * REPLY_COST, 10);
    expect(sample(m, 'spool_tool_calls_total', { agent: 'planner', tool: 'delegate', outcome: 'ok' })).toBe(
      1,
    );
    expect(sample(m, 'spool_workflow_runs_total', { workflow: 'single', status: 'completed' })).toBe(1);
    // The keyed agent: three tasks on two instances and one refused key, all under `support`.
    expect(tasks('support', 'completed')).toBe(3);
    expect(tasks('support', 'rejected')).toBe(1);
    expect(calls('support', 'ok')).toBe(3);
    expect(tokens('support', 'input')).toBe(300);
    expect(cost('support')).toBeCloseTo(3 * REPLY_COST, 10);
    for (const agent of ['writer', 'planner', 'coordinator', 'support'])
      expect(sample(m, 'spool_lease_held', { agent })).toBe(1);
    for (const agent of ['writer', 'support']) {
      expect(sample(m, 'spool_tasks_in_flight', { agent })).toBe(0);
      expect(sample(m, 'spool_inbox_pending', { agent })).toBe(0);
    }
    // Five replays: writer, planner, the coordinator's workflow actor, and the two keyed
    // instances as they were activated; every commit timed.
    expect(sample(m, 'spool_replay_duration_seconds_count')).toBe(5);
    const commits = sample(m, 'spool_journal_commit_duration_seconds_count') ?? 0;
    expect(commits).toBeGreaterThan(10);
    expect(sample(m, 'spool_journal_events_per_commit_count')).toBe(commits);
    expect(sample(m, 'spool_journal_events_per_commit_sum') ?? 0).toBeGreaterThanOrEqual(commits);
    // The default process metrics; and never a task id in a label.
    expect(sample(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(
      [...m.keys()].filter((k) => /m-(fail|1|2|plan|wf|nope|k\d|kbad)\b|acme|globex|not@valid/.test(k)),
    ).toEqual([]);
  });

  it('answers /healthz and /readyz: NATS reached, every actor holding its name and caught up', async () => {
    const health = await fetch(`${metricsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', nats: 'reachable' });
    const ready = await fetch(`${metricsUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { actors: { name: string; phase: string }[] };
    expect(body.actors.map((a) => `${a.name}:${a.phase}`).sort()).toEqual([
      'coordinator:active',
      'planner:active',
      'support:active',
      'writer:active',
    ]);
    expect((await fetch(`${metricsUrl}/nope`)).status).toBe(404);
  });

  it('a standby is ready (it stands by knowingly) and holds no lease', async () => {
    const standby = startCli(['agent', 'writer', '--config', config], env({ SPOOL_METRICS_PORT: '0' }));
    extra.push(standby);
    await standby.waitForLog('standing by');
    const url = metricsUrlIn(standby.stderr) as string;
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { actors: { phase: string }[] }).actors).toEqual([
      { name: 'writer', role: 'agent', phase: 'standby' },
    ]);
    expect(sample(await scrape(url), 'spool_lease_held', { agent: 'writer' })).toBe(0);
  });

  it('without NATS: /healthz and /readyz say 503 and why, while the process waits for it', async () => {
    const waiting = startCli(['coordinator', '--config', config, '--metrics-port', '0'], {
      natsUrl: 'nats://127.0.0.1:1',
      extraEnv: {},
    });
    extra.push(waiting);
    await waiting.waitForLog('waiting for it');
    const url = metricsUrlIn(waiting.stderr) as string;
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({
      status: 'unhealthy',
      nats: 'not connected yet (waiting for a NATS server)',
    });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', reason: 'no actor started yet' });
  });

  it('refuses a bad --metrics-port with one line', async () => {
    const bad = startCli(['coordinator', '--config', config, '--metrics-port', 'lots'], env());
    expect(await bad.exited).toBe(2);
    expect(bad.stderr).toContain(
      'spool coordinator: --metrics-port must be a port number from 0 to 65535 (0: any free port), got "lots"',
    );
  });
});

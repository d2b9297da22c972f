import { type HistoryEvent, type StatusReport, StatusReportSchema, type TaskResult } from '@spool/core';
import { results, submitTask } from '@spool/jetstream';
import { lastUserText, type MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startUp, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/**
 * What an operator sees (`spool status`, `spool replay coordinator`) while a workflow runs on
 * an agent pool and a planner waits for a delegated sub-task: real `spool up`, real NATS, the
 * real SDK against the fake Messages API, which answers each agent by its instructions.
 */

const systemOf = (body: MessagesBody) =>
  typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('');
const hasToolResult = (body: MessagesBody) => {
  const last = body.messages?.at(-1)?.content;
  return Array.isArray(last) && last.some((b) => b.type === 'tool_result');
};

let world: World;
let up: CliProcess;
const env = () => ({ natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url });
const model = 'claude-sonnet-4-6';
const CONFIG = {
  agents: {
    crew: { instructions: 'Crew.', model, replicas: 2, concurrency: 2 },
    planner: { instructions: 'Planner.', model, delegation: { agents: ['helper'] } },
    helper: { instructions: 'Helper.', model, description: 'Answers sub-questions.' },
  },
  workflows: {
    fan: {
      steps: {
        split: { agent: 'crew', input: 'SPLIT {{input}}' },
        work: { agent: 'crew', map: 'split', input: 'WORK {{item}}' },
      },
    },
  },
};

beforeAll(async () => {
  world = await startWorld({
    responder: (body) => {
      switch (systemOf(body)) {
        case 'Planner.':
          return hasToolResult(body)
            ? 'planned'
            : {
                content: [
                  {
                    type: 'tool_use',
                    id: 'tu_1',
                    name: 'delegate',
                    input: { agent: 'helper', task: 'Find the three key facts.' },
                  },
                ],
              };
        case 'Crew.':
          if (lastUserText(body).startsWith('SPLIT')) {
            // The map step's two calls (the next requests: nothing else is running) hang
            // until the workflow is cancelled, so status sees them in flight.
            world.fake.stallNext({ count: 2 });
            return 'Parts:\n```json\n["alpha", "beta"]\n```';
          }
          return `worked on ${lastUserText(body)}`;
        default:
          return 'helped';
      }
    },
  });
  up = await startUp(writeConfig(CONFIG), env());
}, 60_000);
afterEach((context) => printLogOnFailure(context, up));
afterAll(async () => {
  await up?.kill('SIGTERM');
  await world?.close();
});

async function eventsOf(agent: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(agent)).flatMap((c) => c.events);
}
async function status(): Promise<StatusReport> {
  const out = await runCli(['status', '--json'], env());
  expect(out.code, out.stderr).toBe(0);
  return StatusReportSchema.parse(JSON.parse(out.stdout));
}

describe('visibility', () => {
  it('status and replay show a running workflow, the pool and its replicas, and a parked delegation', async () => {
    // The helper takes the sub-task but starts nothing: the planner stays parked on it.
    const paused = await runCli(['pause', 'helper'], env());
    expect(paused.code, paused.stderr).toBe(0);
    await waitFor('the helper to be paused', async () =>
      (await eventsOf('helper')).some((e) => e.type === 'agent.paused'),
    );
    await submitTask(world.connection, 'planner', { id: 'p-1', input: 'Make a plan.' });
    await waitFor('the delegation to be sent', async () =>
      (await eventsOf('planner')).some((e) => e.type === 'delegation.sent'),
    );

    const started = await runCli(['run', 'fan', 'topics', '--id', 'wf-vis-1'], env());
    expect(started.code, started.stderr).toBe(0);
    await waitFor(
      'both map tasks to be calling the (stalled) model',
      () =>
        world.fake.requests.filter((r) => lastUserText(r.body as MessagesBody).startsWith('WORK')).length ===
        2,
    );

    const [json, text, replay, replayJson, verify, plannerReplay] = await Promise.all([
      status(),
      runCli(['status'], env()),
      runCli(['replay', 'coordinator'], env()),
      runCli(['replay', 'coordinator', '--json'], env()),
      runCli(['replay', 'coordinator', '--verify'], env()),
      runCli(['replay', 'planner'], env()),
    ]);

    // The workflow, with each step's progress.
    const wf = json.workflows.find((w) => w.id === 'wf-vis-1');
    expect(wf).toMatchObject({ workflow: 'fan', status: 'running' });
    expect(wf?.steps).toEqual([
      {
        name: 'split',
        agent: 'crew',
        status: 'completed',
        tasks: { done: 1, running: 0, failed: 0, total: 1 },
        attempts: 1,
      },
      {
        name: 'work',
        agent: 'crew',
        status: 'running',
        map: 'split',
        tasks: { done: 0, running: 2, failed: 0, total: 2 },
        attempts: 1,
      },
    ]);
    expect(json.workflowCounts).toMatchObject({ running: 1 });

    // The pool, its replicas under it (and no agent row named after the pool).
    expect(json.agents.map((a) => a.name).sort()).toEqual(['helper', 'planner']);
    const pool = json.pools.find((p) => p.name === 'crew');
    expect(pool?.replicas.map((r) => r.name)).toEqual(['crew-1', 'crew-2']);
    for (const replica of pool?.replicas ?? []) {
      expect(replica.holder).toBeDefined();
      expect(replica.holderAlive).toBe(true);
    }
    expect(pool?.status).toBe('working');
    expect(pool?.results.published).toBe(1); // the split step's result, under the pool's name
    expect(pool?.counts.completed).toBe(1);
    expect(pool?.unacked).toBeGreaterThanOrEqual(0);
    const inFlight = (pool?.replicas ?? []).flatMap((r) => r.inFlight.map((t) => t.taskId)).sort();
    expect(inFlight).toEqual(['wf-vis-1:work:0:1', 'wf-vis-1:work:1:1']);
    expect((pool?.replicas ?? []).reduce((n, r) => n + r.results.published, 0)).toBe(1);
    expect(json.totals.completed).toBeGreaterThanOrEqual(1);

    // The planner's task waits on the helper's sub-task.
    const planner = json.agents.find((a) => a.name === 'planner');
    expect(planner?.delegations).toHaveLength(1);
    const wait = planner?.delegations[0];
    expect(wait).toMatchObject({ taskId: 'p-1', agent: 'helper', sent: true });
    expect(wait?.childTaskId).toMatch(/^dlg-[0-9a-f]{24}$/);
    expect(wait?.since).toBeDefined();
    expect(wait?.input).toContain('three key facts');
    const helper = json.agents.find((a) => a.name === 'helper');
    expect(helper?.paused).toBe(true);
    expect(helper?.inFlight.map((t) => t.taskId)).toEqual([wait?.childTaskId]);

    // The text says the same, one line each.
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('1 pool(s) of 2 replica(s)');
    expect(text.stdout).toMatch(/^crew \(pool\)\s+working\s+2\/2 replicas held; shared inbox/m);
    expect(text.stdout).toMatch(/^ {2}crew-1 /m);
    expect(text.stdout).toMatch(/^ {2}crew-2 /m);
    expect(text.stdout).not.toMatch(/^crew\s+unknown/m);
    expect(text.stdout).toContain('workflows: 1 running');
    expect(text.stdout).toMatch(/^ {2}wf-vis-1 fan running \(started /m);
    expect(text.stdout).toMatch(/^ {4}split\s+completed\s+crew: 1\/1 done$/m);
    expect(text.stdout).toMatch(/^ {4}work\s+running\s+crew \(map over split\): 0\/2 done$/m);
    expect(text.stdout).toContain(`waiting for delegation: p-1 → helper task ${wait?.childTaskId} since `);

    // The coordinator's history: what it decided, and its state after each event.
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/workflow\.started\s+wf-vis-1\s+fan \(split, work\), input: topics/);
    expect(replay.stdout).toContain('→ crew task wf-vis-1:split:0:1 (attempt 1): SPLIT topics');
    expect(replay.stdout).toMatch(
      /workflow\.step_started\s+wf-vis-1\s+step work, 2 item\(s\): \["alpha","beta"\]/,
    );
    expect(replay.stdout).toContain('step work item 1 → crew task wf-vis-1:work:1:1 (attempt 1): WORK beta');
    expect(replay.stdout).toMatch(/task wf-vis-1:split:0:1 on crew's inbox \(seq \d+\)/);
    expect(replay.stdout).toContain('task wf-vis-1:split:0:1 completed: Parts:');
    expect(replay.stdout).toContain(
      '→ workflows 1 running · 0 completed · 0 failed · 0 cancelled · 2 task(s) open',
    );
    const lines = replayJson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(7);
    expect(lines.at(-1).state).toMatchObject({
      workflows: { running: 1 },
      openTasks: 2,
      running: { 'wf-vis-1': { workflow: 'fan', steps: { split: 'completed', work: 'running' } } },
    });
    expect(lines.map((l) => l.event.type)).toContain('workflow.task_dispatched');
    // --until: only the first commit (the start and the first dispatch); the stream is shared,
    // so a sequence before the coordinator's first commit shows nothing (and ends).
    const firstSeq = lines[0].seq as number;
    const [replayUntil, beforeAny] = await Promise.all([
      runCli(['replay', 'coordinator', '--until', String(firstSeq)], env()),
      runCli(['replay', 'coordinator', '--until', '1'], env(), { timeoutMs: 15_000 }),
    ]);
    expect(replayUntil.code, replayUntil.stderr).toBe(0);
    expect(replayUntil.stdout).toContain('workflow.task_dispatched');
    expect(replayUntil.stdout).not.toContain('workflow.task_sent');
    expect(replayUntil.stdout).toContain(`coordinator at sequence ${firstSeq}: workflows 1 running`);
    expect(beforeAny.code, beforeAny.stderr).toBe(0);
    expect(beforeAny.stdout).toContain('no history for the coordinator up to sequence 1');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('no snapshot of coordinator; nothing to verify');
    // The planner's replay names the sub-task and where it went.
    expect(plannerReplay.code, plannerReplay.stderr).toBe(0);
    expect(plannerReplay.stdout).toContain(
      `delegates to helper as task ${wait?.childTaskId}: Find the three key facts.`,
    );
    expect(plannerReplay.stdout).toMatch(
      new RegExp(`sub-task on helper's inbox as ${wait?.childTaskId} \\(seq \\d+\\)`),
    );

    // Ending both: the workflow shows among the finished, the delegation is gone.
    const cancel = await runCli(['cancel', 'wf-vis-1', '--reason', 'seen enough'], env());
    expect(cancel.code, cancel.stderr).toBe(0);
    const resumed = await runCli(['resume', 'helper'], env());
    expect(resumed.code, resumed.stderr).toBe(0);
    const sink = results(world.connection);
    const [cancelled, planned]: [TaskResult, TaskResult] = await Promise.all([
      sink.wait('coordinator', 'wf-vis-1', AbortSignal.timeout(20_000)),
      sink.wait('planner', 'p-1', AbortSignal.timeout(20_000)),
    ]);
    expect(cancelled.status).toBe('cancelled');
    expect(planned).toMatchObject({ status: 'completed', output: 'planned' });
    const after = await status();
    expect(after.workflows.find((w) => w.id === 'wf-vis-1')).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: 'seen enough' },
    });
    expect(after.workflowCounts).toMatchObject({ running: 0, cancelled: 1 });
    expect(after.agents.find((a) => a.name === 'planner')?.delegations).toEqual([]);
  }, 120_000);
});

import type { HistoryEvent, TaskResult } from '@spool/core';
import { results } from '@spool/jetstream';
import { lastUserText, type MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startUp, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

const flakyCalls = new Map<string, number>();

/** Answers by the input's first word, so each step's output is known and a step can be made to fail. */
function responder(body: MessagesBody) {
  const text = lastUserText(body);
  const [word = '', ...rest] = text.split(' ');
  const tail = rest.join(' ');
  switch (word) {
    case 'PLAN':
      return `Here are the parts:\n\`\`\`json\n["alpha", "beta"]\n\`\`\``;
    case 'DIG':
      return `dug ${tail}`;
    case 'LEFT':
      return `left(${tail})`;
    case 'RIGHT':
      return `right(${tail})`;
    case 'JOIN':
      return `joined: ${tail}`;
    case 'BIG':
      // 400 000 characters: fits an agent's commit and result, but not the coordinator's
      // decision that carries it three times (the task's output, the step's, the run's).
      return 'x'.repeat(400_000);
    case 'REFUSE':
      return { text: 'I will not.', stopReason: 'refusal' };
    case 'FLAKY': {
      const calls = (flakyCalls.get(tail) ?? 0) + 1;
      flakyCalls.set(tail, calls);
      return calls === 1 ? { text: 'not this time', stopReason: 'refusal' } : `flaky ok on call ${calls}`;
    }
    default:
      return `ok: ${text}`;
  }
}

const agent = { instructions: 'Work.', model: 'claude-sonnet-4-6', concurrency: 4 };
const CONFIG = {
  agents: {
    planner: agent,
    researcher: agent,
    writer: agent,
    bulky: { ...agent, memory: { exchanges: 0 } },
  },
  workflows: {
    research: {
      description: 'plan, dig into each part, two views, then join them',
      steps: {
        plan: { agent: 'planner', input: 'PLAN {{input}}' },
        dig: { agent: 'researcher', map: 'plan', input: 'DIG {{item}} #{{index}} of {{input}}' },
        left: { agent: 'researcher', input: 'LEFT {{steps.dig.output}}' },
        right: { agent: 'writer', input: 'RIGHT {{steps.dig.output}}' },
        join: { agent: 'writer', input: 'JOIN {{steps.left.output}} | {{steps.right.output}}' },
      },
    },
    fails: {
      steps: {
        first: { agent: 'researcher', input: 'first {{input}}' },
        judge: { agent: 'writer', input: 'REFUSE {{steps.first.output}}' },
      },
    },
    optional: {
      steps: {
        maybe: { agent: 'researcher', input: 'REFUSE {{input}}', optional: true },
        after: { agent: 'writer', input: 'after [{{steps.maybe.output}}]' },
      },
    },
    retry: {
      steps: { flaky: { agent: 'researcher', input: 'FLAKY {{input}}', retries: 1 } },
    },
    slow: {
      // Above the agent's inbox pickup time, so the stalled model call is made before the timeout.
      steps: { wait: { agent: 'researcher', input: 'slow {{input}}', timeoutMs: 5000 } },
    },
    long: {
      steps: { wait: { agent: 'writer', input: 'long {{input}}' } },
    },
    huge: {
      steps: { big: { agent: 'bulky', input: 'BIG {{input}}' } },
    },
  },
};

let world: World;
let up: CliProcess;
let config: string;
const env = () => ({ natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url });

beforeAll(async () => {
  world = await startWorld({ responder, latencyMs: 300 });
  config = writeConfig(CONFIG);
  up = await startUp(config, env());
}, 60_000);
afterEach((context) => printLogOnFailure(context, up));
afterAll(async () => {
  await up?.kill('SIGTERM');
  await world?.close();
});

async function run(workflow: string, input: string, id: string) {
  const out = await runCli(
    ['run', workflow, input, '--id', id, '--wait', '--json', '--timeout', '60'],
    env(),
  );
  const result = out.stdout.trim() === '' ? undefined : (JSON.parse(out.stdout.trim()) as TaskResult);
  return { ...out, result };
}

async function view(id: string) {
  const out = await runCli(['workflow', id, '--json'], env());
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}

async function coordinatorEvents(workflowId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history('coordinator'))
    .flatMap((c) => c.events)
    .filter((e) => (e.data as { workflowId?: string }).workflowId === workflowId);
}

async function agentEvents(agentName: string, taskId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(agentName))
    .flatMap((c) => c.events)
    .filter((e) => (e.data as { taskId?: string }).taskId === taskId);
}

const dispatched = (events: HistoryEvent[]) =>
  events
    .filter((e) => e.type === 'workflow.task_dispatched')
    .map((e) => e.data as { taskId: string; input: string; step: string });

describe('workflows run by the coordinator under spool up', () => {
  it('fans out over a map step, runs independent steps in parallel, and fans in', async () => {
    const { code, result, stderr } = await run('research', 'rivers', 'wf-research-1');
    expect(code, stderr).toBe(0);
    expect(result?.status).toBe('completed');
    expect(result?.agent).toBe('coordinator');
    expect(result?.taskId).toBe('wf-research-1');

    const events = await coordinatorEvents('wf-research-1');
    const tasks = dispatched(events);
    // The map step: one task per item of the plan's array, deterministic ids and rendered inputs.
    const dig = tasks.filter((t) => t.step === 'dig');
    expect(dig.map((t) => [t.taskId, t.input])).toEqual([
      ['wf-research-1:dig:0:1', 'DIG alpha #0 of rivers'],
      ['wf-research-1:dig:1:1', 'DIG beta #1 of rivers'],
    ]);
    // Its output is the tasks' outputs in item order, as a JSON array.
    const digOutput = JSON.stringify(['dug alpha #0 of rivers', 'dug beta #1 of rivers']);
    const left = tasks.find((t) => t.step === 'left');
    expect(left?.input).toBe(`LEFT ${digOutput}`);
    // The fan-in saw both branches.
    const join = tasks.find((t) => t.step === 'join');
    expect(join?.input).toBe(`JOIN left(${digOutput}) | right(${digOutput})`);
    expect(result?.output).toBe(`joined: left(${digOutput}) | right(${digOutput})`);

    // Parallel: both map tasks, and both independent steps, were dispatched before either finished.
    const position = (type: string, taskId: string) =>
      events.findIndex((e) => e.type === type && (e.data as { taskId?: string }).taskId === taskId);
    for (const pair of [
      ['wf-research-1:dig:0:1', 'wf-research-1:dig:1:1'],
      ['wf-research-1:left:0:1', 'wf-research-1:right:0:1'],
    ] as const) {
      const lastDispatch = Math.max(...pair.map((t) => position('workflow.task_dispatched', t)));
      const firstFinish = Math.min(...pair.map((t) => position('workflow.task_finished', t)));
      expect(lastDispatch).toBeGreaterThanOrEqual(0);
      expect(lastDispatch).toBeLessThan(firstFinish);
    }
    // Every task was received by its agent exactly once.
    for (const t of tasks) {
      const agentName =
        t.step === 'plan' ? 'planner' : t.step === 'right' || t.step === 'join' ? 'writer' : 'researcher';
      const received = (await agentEvents(agentName, t.taskId)).filter((e) => e.type === 'task.received');
      expect(received, t.taskId).toHaveLength(1);
    }

    const shown = await view('wf-research-1');
    expect(shown.status).toBe('completed');
    const steps = shown.steps as Record<string, { status: string }> | { name: string; status: string }[];
    const statuses = Array.isArray(steps)
      ? Object.fromEntries(steps.map((s) => [s.name, s.status]))
      : Object.fromEntries(Object.entries(steps).map(([n, s]) => [n, s.status]));
    expect(statuses).toEqual({
      plan: 'completed',
      dig: 'completed',
      left: 'completed',
      right: 'completed',
      join: 'completed',
    });

    const human = await runCli(['workflow', 'wf-research-1'], env());
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('wf-research-1:dig:1:1');
    expect(human.stdout).toMatch(/join\s+completed/);
  });

  it('a failing step fails the workflow naming the step; an optional one does not', async () => {
    const failed = await run('fails', 'x', 'wf-fails-1');
    expect(failed.code).toBe(1);
    expect(failed.result?.status).toBe('failed');
    expect(failed.result?.error?.message).toContain('judge');

    const optional = await run('optional', 'x', 'wf-optional-1');
    expect(optional.code, optional.stderr).toBe(0);
    expect(optional.result?.status).toBe('completed');
    const afterStep = dispatched(await coordinatorEvents('wf-optional-1')).find((t) => t.step === 'after');
    expect(afterStep?.input).toBe('after []');
    const shown = await view('wf-optional-1');
    expect(JSON.stringify(shown.steps)).toContain('failed');
  });

  it('retries a failed task as a new attempt with a new task id', async () => {
    const { code, result } = await run('retry', 'r1', 'wf-retry-1');
    expect(code).toBe(0);
    expect(result?.output).toBe('flaky ok on call 2');
    const tasks = dispatched(await coordinatorEvents('wf-retry-1')).map((t) => t.taskId);
    expect(tasks).toEqual(['wf-retry-1:flaky:0:1', 'wf-retry-1:flaky:0:2']);
    const first = await results(world.connection).get('researcher', 'wf-retry-1:flaky:0:1');
    expect(first?.status).toBe('failed');
  });

  it('a step past its timeout is cancelled and fails the workflow', async () => {
    world.fake.stallNext();
    const { code, result } = await run('slow', 's1', 'wf-slow-1');
    // The stall was used by this task's call (an unused one would stall a later test's call).
    expect(
      world.fake.requests.filter((r) => lastUserText(r.body as MessagesBody) === 'slow s1'),
    ).toHaveLength(1);
    expect(code).toBe(1);
    expect(result?.status).toBe('failed');
    expect(result?.error?.code).toBe('timeout');
    expect(result?.error?.message).toContain('wait');
    // The agent was told: its task ends cancelled.
    await waitFor('the timed-out task to be cancelled at the agent', async () =>
      (await agentEvents('researcher', 'wf-slow-1:wait:0:1')).some((e) => e.type === 'task.cancelled'),
    );
    const events = await coordinatorEvents('wf-slow-1');
    expect(events.some((e) => e.type === 'workflow.cancel_sent')).toBe(true);
  });

  it('spool cancel <workflowId> cancels the workflow and its running task', async () => {
    world.fake.stallNext();
    const started = await runCli(['run', 'long', 'l1', '--id', 'wf-long-1'], env());
    expect(started.code, started.stderr).toBe(0);
    await waitFor('the step task to be running at the agent', async () =>
      (await agentEvents('writer', 'wf-long-1:wait:0:1')).some((e) => e.type === 'task.started'),
    );
    await waitFor('the stalled model call', () =>
      world.fake.requests.some((r) => lastUserText(r.body as MessagesBody) === 'long l1'),
    );
    const cancel = await runCli(['cancel', 'wf-long-1', '--reason', 'changed my mind'], env());
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('coordinator');
    const result = await results(world.connection).wait(
      'coordinator',
      'wf-long-1',
      AbortSignal.timeout(20_000),
    );
    expect(result.status).toBe('cancelled');
    await waitFor('the running task to be cancelled at the agent', async () =>
      (await agentEvents('writer', 'wf-long-1:wait:0:1')).some((e) => e.type === 'task.cancelled'),
    );
    // Cancelling it again: it is over.
    const again = await runCli(['cancel', 'wf-long-1'], env());
    expect(again.code).toBe(1);
  });

  it('bad start messages get a rejected result and the coordinator keeps going', async () => {
    const seq = await world.probe.publishRaw('coordinator', '{not json');
    const unknown = await world.probe.publishRaw(
      'coordinator',
      JSON.stringify({ id: 'wf-unknown-1', workflow: 'nope', input: 'x' }),
    );
    expect(unknown).toBeGreaterThan(seq);
    const sink = results(world.connection);
    const badJson = await sink.wait('coordinator', `inbox-${seq}`, AbortSignal.timeout(20_000));
    expect(badJson.status).toBe('rejected');
    expect(badJson.error?.code).toBe('invalid_json');
    const noSuch = await sink.wait('coordinator', 'wf-unknown-1', AbortSignal.timeout(20_000));
    expect(noSuch.status).toBe('rejected');
    expect(noSuch.error?.message).toContain('nope');
    // Still working.
    const after = await run('optional', 'y', 'wf-after-bad-1');
    expect(after.result?.status).toBe('completed');
  });

  it('a decision too large to journal fails its workflow with what to do, and the coordinator keeps going', async () => {
    const huge = await run('huge', 'go', 'wf-huge-1');
    expect(huge.result?.status).toBe('failed');
    expect(huge.result?.error?.code).toBe('commit_too_large');
    expect(huge.result?.error?.message).toMatch(/KiB, more than one NATS message holds.*make them smaller/);
    expect(up.stderr).not.toContain('history append failed');
    const after = await run('optional', 'z', 'wf-after-huge-1');
    expect(after.result?.status).toBe('completed');
  });

  it('spool run refuses a workflow the config does not define, in one line', async () => {
    const out = await runCli(['run', 'unknown-workflow', 'x', '--config', config], env());
    expect(out.code).toBe(2);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('no workflow "unknown-workflow"');
    expect(lines[0]).toContain('research');
  });
});

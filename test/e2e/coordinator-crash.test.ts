import {
  applyCoordinatorCommit,
  decideCoordinator,
  type HistoryEvent,
  initialCoordinatorState,
  parseCoordinatorCommit,
  WorkflowSchema,
} from '@spool/core/internal';
import { historyStore, results, sendControl, submitTask, submitWorkflow } from '@spool/jetstream';
import { lastUserText, type MessagesBody } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { type CliProcess, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

function responder(body: MessagesBody) {
  const text = lastUserText(body);
  if (text.startsWith('PLAN')) return '["one", "two", "three"]';
  if (text.startsWith('EACH')) return `done ${text.slice(5)}`;
  return `summed: ${text}`;
}

const agent = { instructions: 'Work.', model: 'claude-sonnet-4-6', concurrency: 4, leaseTtlMs: 2000 };
const CONFIG = {
  agents: { planner: agent, worker: agent },
  workflows: {
    chain: {
      steps: {
        plan: { agent: 'planner', input: 'PLAN {{input}}' },
        each: { agent: 'worker', map: 'plan', input: 'EACH {{item}}' },
        sum: { agent: 'planner', input: 'SUM {{steps.each.output}}' },
      },
    },
  },
};

const events_ = async (world: World, name: string): Promise<HistoryEvent[]> =>
  (await world.probe.history(name)).flatMap((c) => c.events);

describe('coordinator process - SIGKILL mid-workflow, then restart', () => {
  let world: World;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    // Slow replies: the map step's tasks are still running when the coordinator is killed.
    world = await startWorld({ responder, latencyMs: 1_500 });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await world?.close();
  });

  const config = writeConfig(CONFIG);
  const env = () => ({ natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url });
  const start = (args: string[]) => {
    const p = startCli([...args, '--config', config], env());
    procs.push(p);
    return p;
  };

  it('the workflow completes after a takeover, and no step task is dispatched twice', async () => {
    const planner = start(['agent', 'planner']);
    const worker = start(['agent', 'worker']);
    const first = start(['coordinator']);
    await Promise.all([
      planner.waitForLog('history replayed'),
      worker.waitForLog('history replayed'),
      first.waitForLog('coordinator history replayed'),
    ]);

    await submitWorkflow(world.connection, { id: 'wf-crash-1', workflow: 'chain', input: 'numbers' });
    // Kill while the map step's tasks are running at the worker (sent, started, no result yet).
    await waitFor(
      'the map tasks to be running at the worker',
      async () => {
        const started = (await events_(world, 'worker')).filter((e) => e.type === 'task.started');
        const done = await world.probe.results('worker');
        return started.length >= 3 && done.length === 0;
      },
      30_000,
      20,
    );
    await first.kill('SIGKILL');
    const dispatchedAtKill = (await events_(world, 'coordinator')).filter(
      (e) => e.type === 'workflow.task_dispatched',
    );
    expect(dispatchedAtKill).toHaveLength(4); // plan + the three map tasks; sum waits for them

    const second = start(['coordinator']);
    const result = await results(world.connection).wait(
      'coordinator',
      'wf-crash-1',
      AbortSignal.timeout(60_000),
    );
    expect(result.status).toBe('completed');
    expect(result.output).toBe(`summed: SUM ${JSON.stringify(['done one', 'done two', 'done three'])}`);

    // The new writer took the name over from the dead one and resumed from the replayed history.
    await second.waitForLog('resuming 1 workflow(s)');
    expect(second.stderr).toMatch(/"takeover":true[^\n]*coordinator name claimed/);

    // Every step task was dispatched once, sent as one stored inbox message, received once by its
    // agent (the very message the coordinator recorded), and run once.
    const history = await events_(world, 'coordinator');
    const dispatched = history
      .filter((e) => e.type === 'workflow.task_dispatched')
      .map((e) => e.data as { taskId: string; agent: string; input: string });
    expect(dispatched.map((d) => d.taskId).sort()).toEqual(
      [
        'wf-crash-1:each:0:1',
        'wf-crash-1:each:1:1',
        'wf-crash-1:each:2:1',
        'wf-crash-1:plan:0:1',
        'wf-crash-1:sum:0:1',
      ].sort(),
    );
    const sentSeq = new Map(
      history
        .filter((e) => e.type === 'workflow.task_sent')
        .map((e) => {
          const d = e.data as { taskId: string; inboxSeq: number };
          return [d.taskId, d.inboxSeq] as const;
        }),
    );
    for (const task of dispatched) {
      const received = (await events_(world, task.agent)).filter(
        (e) => e.type === 'task.received' && (e.data as { taskId: string }).taskId === task.taskId,
      );
      expect(received, task.taskId).toHaveLength(1);
      expect((received[0]?.data as { inboxSeq?: number } | undefined)?.inboxSeq, task.taskId).toBe(
        sentSeq.get(task.taskId),
      );
      const calls = world.fake.requests.filter((r) => lastUserText(r.body as MessagesBody) === task.input);
      expect(calls, task.taskId).toHaveLength(1);
    }
    for (const name of ['planner', 'worker']) {
      const stored = await world.probe.results(name);
      expect([...countBy(stored, (r) => r.taskId).values()].every((n) => n === 1)).toBe(true);
    }
    // One workflow result.
    expect(await world.probe.results('coordinator')).toHaveLength(1);
  });

  /**
   * What a coordinator killed between its publish and its MarkSent leaves behind: the dispatch
   * journaled, and the task already in the agent's inbox. Stops the running coordinator first.
   */
  async function leaveUnsent(
    workflowId: string,
    workflowInput: string,
  ): Promise<{ taskId: string; input: string; inboxSeq: number }> {
    const running = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    const coordinators = running.filter((p) => p.child.spawnargs.includes('coordinator'));
    await Promise.all(coordinators.map((p) => p.kill('SIGTERM')));
    const store = historyStore(world.connection, parseCoordinatorCommit);
    const state = initialCoordinatorState();
    for await (const commit of store.replay('coordinator')) applyCoordinatorCommit(state, commit);
    const events = decideCoordinator(state, {
      type: 'StartWorkflow',
      workflowId,
      workflow: 'chain',
      input: workflowInput,
      definition: WorkflowSchema.parse(CONFIG.workflows.chain),
      at: new Date().toISOString(),
    });
    const dispatch = events.find((e) => e.type === 'workflow.task_dispatched')?.data as
      | { taskId: string; input: string }
      | undefined;
    expect(dispatch?.taskId).toBe(`${workflowId}:plan:0:1`);
    await store.append('coordinator', events, state.seq);
    const taskId = dispatch?.taskId ?? '?';
    const input = dispatch?.input ?? '';
    const sent = await submitTask(world.connection, 'planner', {
      id: taskId,
      input,
      meta: { workflow: { id: workflowId, name: 'chain', step: 'plan', index: 0, attempt: 1 } },
    });
    return { taskId, input, inboxSeq: sent.seq };
  }

  const callsFor = (input: string) =>
    world.fake.requests.filter((r) => lastUserText(r.body as MessagesBody) === input);
  const receivedBy = async (agent: string, taskId: string) =>
    (await events_(world, agent)).filter(
      (e) => e.type === 'task.received' && (e.data as { taskId: string }).taskId === taskId,
    );

  it('a task journaled as dispatched but never marked sent is sent again with its id, and runs once', async () => {
    // The planner holds its tasks: the task is still unfinished when the coordinator comes back.
    await sendControl(world.connection, 'planner', { type: 'pause' }, 'unsent-pause');
    await waitFor('the planner to be paused', async () =>
      (await events_(world, 'planner')).some((e) => e.type === 'agent.paused'),
    );
    const unsent = await leaveUnsent('wf-unsent-1', 'letters');

    const next = start(['coordinator']);
    // Sent again on replay: the inbox recognised the id (one stored message, the first one).
    await waitFor('the task to be sent again', () =>
      /"taskId":"wf-unsent-1:plan:0:1"[^\n]*"duplicate":true[^\n]*step task sent/.test(next.stderr),
    );
    await sendControl(world.connection, 'planner', { type: 'resume' }, 'unsent-resume');
    const result = await results(world.connection).wait(
      'coordinator',
      'wf-unsent-1',
      AbortSignal.timeout(60_000),
    );
    expect(result.status).toBe('completed');
    const sent = (await events_(world, 'coordinator')).find(
      (e) => e.type === 'workflow.task_sent' && (e.data as { taskId: string }).taskId === unsent.taskId,
    );
    expect((sent?.data as { inboxSeq: number } | undefined)?.inboxSeq).toBe(unsent.inboxSeq);
    expect(await receivedBy('planner', unsent.taskId)).toHaveLength(1);
    expect(callsFor(unsent.input)).toHaveLength(1);
  });

  it('a result published while no coordinator ran is found by task id at the next start, and nothing is sent again', async () => {
    const unsent = await leaveUnsent('wf-unsent-2', 'digits');
    await results(world.connection).wait('planner', unsent.taskId, AbortSignal.timeout(30_000));

    const next = start(['coordinator']);
    const result = await results(world.connection).wait(
      'coordinator',
      'wf-unsent-2',
      AbortSignal.timeout(60_000),
    );
    expect(result.status).toBe('completed');
    expect(next.stderr).toMatch(/"results":1[^\n]*results published while no coordinator watched journaled/);
    expect(next.stderr).not.toMatch(/"taskId":"wf-unsent-2:plan:0:1"[^\n]*step task sent/);
    expect(await receivedBy('planner', unsent.taskId)).toHaveLength(1);
    expect(callsFor(unsent.input)).toHaveLength(1);
  });
});

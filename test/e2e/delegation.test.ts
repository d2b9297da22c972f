import { type AgentSpecInput, type HistoryEvent, type TaskResult, taskIdOf } from '@spool/core';
import { results, sendControl, submitTask } from '@spool/jetstream';
import type { AgentHandle, SubmitPort } from '@spool/runtime';
import type { FakeReply, MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, type World } from '../support/world.ts';

/**
 * Durable delegation, end to end: real NATS, agents on the real SDK against the fake
 * Messages API, which answers each agent by its system prompt (its instructions).
 */

type Route = (body: MessagesBody) => FakeReply | string;
const routes = new Map<string, Route>();
const systemOf = (body: MessagesBody) =>
  typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('');
/** The tool_result blocks of the request's last message. */
const toolResults = (body: MessagesBody) => {
  const last = body.messages?.at(-1);
  return Array.isArray(last?.content) ? last.content.filter((b) => b.type === 'tool_result') : [];
};
const firstInput = (body: MessagesBody) => {
  const first = body.messages?.find((m) => m.role === 'user')?.content;
  return typeof first === 'string' ? first : '';
};
const delegate = (id: string, agent: string, task: string) => ({
  type: 'tool_use',
  id,
  name: 'delegate',
  input: { agent, task },
});
/** Requests the fake got from the agent with these instructions. */
const requestsOf = (instructions: string) =>
  world.fake.requests.filter(
    (r) => r.path === '/v1/messages' && systemOf(r.body as MessagesBody) === instructions,
  );

let world: World;
let running: AgentHandle[] = [];
let processes: CliProcess[] = [];
beforeAll(async () => {
  world = await startWorld({
    responder: (body) => routes.get(systemOf(body))?.(body) ?? `no route for "${systemOf(body)}"`,
  });
});
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  running = [];
  processes = [];
});
afterAll(async () => world?.close());

const submitPort = (): SubmitPort => ({
  task: (agent, task) => submitTask(world.connection, agent, task),
  control: (agent, message, id) => sendControl(world.connection, agent, message, id),
});
async function agent(name: string, spec: Partial<AgentSpecInput>): Promise<AgentHandle> {
  const handle = await runAgentInProcess(world, name, analystSpec(spec), { submit: submitPort() });
  running.push(handle);
  return handle;
}
const resultOf = (agentName: string, taskId: string, ms = 30_000): Promise<TaskResult> =>
  results(world.connection).wait(agentName, taskId, AbortSignal.timeout(ms));
async function eventsOf(agentName: string, taskId?: string): Promise<HistoryEvent[]> {
  const events = (await world.probe.history(agentName)).flatMap((c) => c.events);
  return taskId === undefined ? events : events.filter((e) => taskIdOf(e) === taskId);
}
const childrenOf = async (agentName: string, taskId: string) =>
  (await eventsOf(agentName, taskId)).flatMap((e) => (e.type === 'delegation.requested' ? [e.data] : []));

describe('delegation', () => {
  it('survives a SIGKILL of the parent while it waits: the child runs once, the parent finishes from its journal', async () => {
    routes.set('Planner A.', (body) => {
      const [answer] = toolResults(body);
      if (answer !== undefined) return `Final: ${String(answer.content)}`;
      return { content: [delegate('tu_a', 'worker-a', 'Count the words in "alpha beta gamma".')] };
    });
    routes.set('Worker A.', () => 'three words');
    const config = writeConfig({
      agents: {
        'planner-a': {
          instructions: 'Planner A.',
          model: 'claude-sonnet-4-6',
          leaseTtlMs: 1000,
          delegation: { agents: ['worker-a'] },
        },
        'worker-a': { instructions: 'Worker A.', model: 'claude-sonnet-4-6', description: 'Counts words.' },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const first = startCli(['agent', 'planner-a', '--config', config], env);
    processes.push(first);
    await first.waitForLog('history replayed');
    await submitTask(world.connection, 'planner-a', { id: 'a-1', input: 'How many words?' });

    // The sub-task is on the worker's inbox (nobody runs the worker yet): kill the parent now.
    await waitFor('the sub-task to be sent', async () =>
      (await eventsOf('planner-a', 'a-1')).some((e) => e.type === 'delegation.sent'),
    );
    await first.kill('SIGKILL');
    const [child] = await childrenOf('planner-a', 'a-1');
    if (child === undefined) throw new Error('no delegation journaled');

    // The worker does the sub-task while the parent is down.
    await agent('worker-a', { instructions: 'Worker A.' });
    const childResult = await resultOf('worker-a', child.childTaskId);
    expect(childResult).toMatchObject({
      status: 'completed',
      meta: { delegation: { parent: { agent: 'planner-a', taskId: 'a-1' }, chain: ['planner-a'] } },
    });
    expect(requestsOf('Planner A.')).toHaveLength(1);

    const second = startCli(['agent', 'planner-a', '--config', config], env);
    processes.push(second);
    const done = await resultOf('planner-a', 'a-1');
    expect(done).toMatchObject({ status: 'completed', output: `Final: ${childResult.output}` });

    // The planner's model: step 0 once (before the kill), step 1 once (after), never step 0 again.
    const planner = requestsOf('Planner A.');
    expect(planner).toHaveLength(2);
    expect(toolResults(planner[1]?.body as MessagesBody)).toEqual([
      { type: 'tool_result', tool_use_id: 'tu_a', content: childResult.output },
    ]);
    // The delegate tool told the model whom it may ask, and what they do.
    const tools = ((planner[0]?.body as MessagesBody | undefined)?.tools ?? []) as {
      name: string;
      description: string;
    }[];
    expect(tools.map((t) => t.name)).toEqual(['delegate']);
    expect(tools[0]?.description).toContain('- worker-a: Counts words.');
    // The child ran exactly once: one task, one start, one model call, one result.
    expect(requestsOf('Worker A.')).toHaveLength(1);
    expect(
      (await eventsOf('worker-a', child.childTaskId)).filter((e) => e.type === 'task.started'),
    ).toHaveLength(1);
    expect((await world.probe.results('worker-a')).map((r) => r.taskId)).toEqual([child.childTaskId]);
    const parentTypes = (await eventsOf('planner-a', 'a-1')).map((e) => e.type);
    expect(parentTypes.filter((t) => t.startsWith('delegation.'))).toEqual([
      'delegation.requested',
      'delegation.sent',
    ]);
  }, 60_000);

  it('runs two sub-tasks in parallel, and a parked parent holds no slot: another task runs meanwhile', async () => {
    routes.set('Planner B.', (body) => {
      if (firstInput(body) === 'Say hi.') return 'hi';
      const answers = toolResults(body);
      if (answers.length > 0) return `Report: ${answers.map((a) => String(a.content)).join(' + ')}`;
      return {
        content: [
          { type: 'text', text: 'Two pieces, in parallel.' },
          delegate('tu_r', 'researcher-b', 'Find two facts about otters.'),
          delegate('tu_w', 'writer-b', 'Write one line about otters.'),
        ],
      };
    });
    routes.set('Researcher B.', () => 'otters hold hands');
    routes.set('Writer B.', () => 'Otters: small, sleek, social.');
    const planner = await agent('planner-b', {
      instructions: 'Planner B.',
      concurrency: 1,
      delegation: { agents: ['researcher-b', 'writer-b'] },
    });
    await submitTask(world.connection, 'planner-b', { id: 'b-1', input: 'Tell me about otters.' });
    const parked = await waitFor('both sub-tasks sent', () => {
      const calls = planner.state()?.active.get('b-1')?.steps[0]?.tools ?? [];
      return calls.length === 2 && calls.every((c) => c.delegation?.sent) ? calls : undefined;
    });
    // Concurrency 1, and its one task is waiting on other agents: a second task runs now.
    await submitTask(world.connection, 'planner-b', { id: 'b-2', input: 'Say hi.' });
    expect(await resultOf('planner-b', 'b-2')).toMatchObject({ status: 'completed', output: 'hi' });
    expect(planner.state()?.active.get('b-1')?.phase).toBe('running');

    await Promise.all([
      agent('researcher-b', { instructions: 'Researcher B.' }),
      agent('writer-b', { instructions: 'Writer B.' }),
    ]);
    const done = await resultOf('planner-b', 'b-1');
    expect(done).toMatchObject({
      status: 'completed',
      output: 'Report: otters hold hands + Otters: small, sleek, social.',
      tools: ['delegate', 'delegate'],
    });
    // Both children ran, each once, each knowing its parent.
    const [research, writing] = parked.map((c) => c.delegation);
    expect(await resultOf('researcher-b', research?.childTaskId ?? '?')).toMatchObject({
      status: 'completed',
      meta: { delegation: { parent: { agent: 'planner-b', taskId: 'b-1' } } },
    });
    expect((await resultOf('writer-b', writing?.childTaskId ?? '?')).status).toBe('completed');
    expect(requestsOf('Researcher B.')).toHaveLength(1);
    expect(requestsOf('Writer B.')).toHaveLength(1);
  }, 60_000);

  it('refuses a cycle with an error the model reads, and the work goes on', async () => {
    routes.set('Planner C.', (body) => {
      const [answer] = toolResults(body);
      if (answer !== undefined) return `Planner got: ${String(answer.content)}`;
      return { content: [delegate('tu_p', 'worker-c', 'Summarize the plan.')] };
    });
    routes.set('Worker C.', (body) => {
      const [answer] = toolResults(body);
      if (answer !== undefined) return answer.is_error ? 'I did it myself.' : 'unexpected';
      return { content: [delegate('tu_back', 'planner-c', 'You summarize it.')] };
    });
    await agent('planner-c', { instructions: 'Planner C.', delegation: { agents: ['worker-c'] } });
    await agent('worker-c', { instructions: 'Worker C.', delegation: { agents: ['planner-c'] } });
    await submitTask(world.connection, 'planner-c', { id: 'c-1', input: 'Plan it.' });
    expect(await resultOf('planner-c', 'c-1')).toMatchObject({
      status: 'completed',
      output: 'Planner got: I did it myself.',
    });
    const [, workerSecond] = requestsOf('Worker C.');
    expect(toolResults(workerSecond?.body as MessagesBody)).toEqual([
      {
        type: 'tool_result',
        tool_use_id: 'tu_back',
        is_error: true,
        content: expect.stringContaining('it would make a cycle planner-c → worker-c → planner-c'),
      },
    ]);
    // The planner never got a task back.
    const received = (await eventsOf('planner-c')).filter((e) => e.type === 'task.received');
    expect(received.map((e) => taskIdOf(e))).toEqual(['c-1']);
  }, 60_000);

  it('a parked parent does not hold up a stop (no shutdown grace spent waiting), and waits again after a restart', async () => {
    routes.set('Planner E.', (body) => {
      const [answer] = toolResults(body);
      if (answer !== undefined) return `E: ${String(answer.content)}`;
      return { content: [delegate('tu_e', 'worker-e', 'Do it.')] };
    });
    routes.set('Worker E.', () => 'done by worker-e');
    // A grace longer than this test's timeout: a stop that waited for it would fail the test.
    const spec = {
      instructions: 'Planner E.',
      shutdownGraceMs: 600_000,
      delegation: { agents: ['worker-e'] },
    };
    const first = await agent('planner-e', spec);
    await submitTask(world.connection, 'planner-e', { id: 'e-1', input: 'Go.' });
    await waitFor('the sub-task to be sent', () => {
      const call = first.state()?.active.get('e-1')?.steps[0]?.tools[0];
      return call?.delegation?.sent === true;
    });
    await first.stop();
    running = running.filter((a) => a !== first);

    await agent('planner-e', spec);
    await agent('worker-e', { instructions: 'Worker E.' });
    expect(await resultOf('planner-e', 'e-1')).toMatchObject({
      status: 'completed',
      output: 'E: done by worker-e',
    });
    expect(requestsOf('Planner E.')).toHaveLength(2);
  }, 20_000);

  it('a cancelled parent stops waiting and cancels its open sub-task', async () => {
    routes.set('Planner D.', () => ({ content: [delegate('tu_d', 'worker-d', 'Take your time.')] }));
    routes.set('Worker D.', () => 'should not run');
    await agent('planner-d', { instructions: 'Planner D.', delegation: { agents: ['worker-d'] } });
    await submitTask(world.connection, 'planner-d', { id: 'd-1', input: 'Start.' });
    await waitFor('the sub-task to be sent', async () =>
      (await eventsOf('planner-d', 'd-1')).some((e) => e.type === 'delegation.sent'),
    );
    await sendControl(
      world.connection,
      'planner-d',
      { type: 'cancel', taskId: 'd-1', reason: 'changed my mind' },
      'd',
    );
    expect(await resultOf('planner-d', 'd-1')).toMatchObject({ status: 'cancelled' });

    // The worker comes up later: the sub-task arrives already cancelled, and its model is never called.
    const [child] = await childrenOf('planner-d', 'd-1');
    await agent('worker-d', { instructions: 'Worker D.' });
    const childResult = await resultOf('worker-d', child?.childTaskId ?? '?');
    expect(childResult).toMatchObject({ status: 'cancelled' });
    expect(childResult.error?.message).toContain('the parent task d-1 of planner-d ended cancelled');
    expect(requestsOf('Worker D.')).toHaveLength(0);
  }, 60_000);

  it('a parent cancelled while its sub-task is being published still cancels that sub-task', async () => {
    routes.set('Planner F.', () => ({ content: [delegate('tu_f', 'worker-f', 'Never mind.')] }));
    routes.set('Worker F.', () => 'should not run');
    // The sub-task's publication is held until the parent has been cancelled and has ended.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let publication: Promise<unknown> | undefined;
    const port = submitPort();
    const slowPort: SubmitPort = {
      ...port,
      task: (to, task) => {
        const published = held.then(() => port.task(to, task));
        publication = published;
        return published;
      },
    };
    const planner = await runAgentInProcess(
      world,
      'planner-f',
      analystSpec({ instructions: 'Planner F.', delegation: { agents: ['worker-f'] } }),
      { submit: slowPort },
    );
    running.push(planner);
    await submitTask(world.connection, 'planner-f', { id: 'f-1', input: 'Start.' });
    await waitFor('the sub-task publication to start', () => publication !== undefined);
    await sendControl(world.connection, 'planner-f', { type: 'cancel', taskId: 'f-1' }, 'f');
    expect(await resultOf('planner-f', 'f-1')).toMatchObject({ status: 'cancelled' });
    release();
    await publication;

    // The sub-task reached the worker after its parent ended; the cancel sent at the end applies to it.
    const [child] = await childrenOf('planner-f', 'f-1');
    await agent('worker-f', { instructions: 'Worker F.' });
    const childResult = await resultOf('worker-f', child?.childTaskId ?? '?');
    expect(childResult).toMatchObject({ status: 'cancelled' });
    expect(childResult.error?.message).toContain('the parent task f-1 of planner-f ended cancelled');
    expect(requestsOf('Worker F.')).toHaveLength(0);
    // The ended parent journaled no `delegation.sent` for it.
    expect((await eventsOf('planner-f', 'f-1')).some((e) => e.type === 'delegation.sent')).toBe(false);
  }, 60_000);
});

import { defineTool, type HistoryEvent, taskIdOf } from '@spool/core';
import { results, sendControl, submitTask } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, type World } from '../support/world.ts';

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

/** Every call of a tool handler, with its idempotency key. */
const calls: { tool: string; key: string; input: unknown }[] = [];

const mean = defineTool({
  name: 'mean',
  description: 'The arithmetic mean of a list of numbers.',
  input: z.object({ values: z.array(z.number()).min(1) }),
  handler: ({ values }, { key }) => {
    calls.push({ tool: 'mean', key, input: values });
    return { mean: values.reduce((a, b) => a + b, 0) / values.length };
  },
});

/** Blocks on its first call until released: a crash between request and result. */
let releaseSlow: (() => void) | undefined;
let slowCalls = 0;
const slow = defineTool({
  name: 'slow',
  description: 'Takes its time.',
  input: z.object({}),
  handler: async (_input, { key }) => {
    calls.push({ tool: 'slow', key, input: {} });
    slowCalls += 1;
    if (slowCalls === 1) await new Promise<void>((resolve) => (releaseSlow = resolve));
    return 'slow result';
  },
});

const toolUse = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const spec = (overrides = {}) => analystSpec({ tools: [mean, slow], ...overrides });
const submit = (agent: string, id: string, input: string) =>
  submitTask(world.connection, agent, { id, input });
const result = (agent: string, id: string) =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(20_000));
async function eventsOf(agent: string, taskId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(agent)).flatMap((c) => c.events).filter((e) => taskIdOf(e) === taskId);
}
/** The user messages of a recorded request that carry tool results. */
const toolResults = (body: unknown) =>
  ((body as MessagesBody).messages ?? []).flatMap((m) =>
    Array.isArray(m.content) ? m.content.filter((b) => b.type === 'tool_result') : [],
  );

describe('tools', () => {
  it('runs a multi-step tool loop: each call journaled before and after, results sent back, until end_turn', async () => {
    const agent = await runAgentInProcess(world, 'tooled', spec());
    running.push(agent);
    world.fake.script(
      {
        content: [
          { type: 'text', text: 'Computing.' },
          toolUse('toolu_1', 'mean', { values: [1, 2, 3, 4, 5] }),
        ],
      },
      { content: [toolUse('toolu_2', 'mean', { values: 'not a list' }), toolUse('toolu_3', 'nope', {})] },
      'The mean is 3.',
    );
    const before = world.fake.requests.length;
    await submit('tooled', 'tl-1', 'What is the mean of [1,2,3,4,5]?');
    const done = await result('tooled', 'tl-1');
    expect(done).toMatchObject({ status: 'completed', output: 'The mean is 3.', steps: 3 });

    // The result is published before `result.published` is journaled: wait for the whole story.
    const types = await waitFor('the journaled publication', async () => {
      const seen = (await eventsOf('tooled', 'tl-1')).map((e) => e.type);
      return seen.at(-1) === 'result.published' ? seen : undefined;
    });
    expect(types).toEqual([
      'task.received',
      'task.started',
      'model.responded',
      'tool.requested',
      'tool.completed',
      'model.responded',
      'tool.requested',
      'tool.requested',
      'tool.completed',
      'tool.completed',
      'model.responded',
      'task.completed',
      'result.published',
    ]);
    expect(calls.filter((c) => c.tool === 'mean')).toEqual([
      { tool: 'mean', key: 'tooled:tl-1:0:toolu_1', input: [1, 2, 3, 4, 5] },
    ]);

    const [first, second, third] = world.fake.requests.slice(before);
    // The tools go to Claude as JSON Schema, the last one marked for caching with the system prompt.
    expect((first?.body as { tools?: unknown[] } | undefined)?.tools).toEqual([
      expect.objectContaining({ name: 'mean', input_schema: expect.objectContaining({ type: 'object' }) }),
      expect.objectContaining({ name: 'slow', cache_control: { type: 'ephemeral' } }),
    ]);
    expect(toolResults(second?.body)).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"mean":3}' },
    ]);
    // Bad input and an unknown tool come back to the model as errors it can correct, not a crash.
    expect(toolResults(third?.body).slice(1)).toEqual([
      expect.objectContaining({
        tool_use_id: 'toolu_2',
        is_error: true,
        content: expect.stringContaining('invalid input for mean: values'),
      }),
      expect.objectContaining({
        tool_use_id: 'toolu_3',
        is_error: true,
        content: expect.stringContaining('unknown tool "nope"'),
      }),
    ]);
  });

  it('the second call of a task reads the tools and system prompt from the prompt cache', async () => {
    const agent = await runAgentInProcess(world, 'cached', spec({ instructions: `Cache me ${Date.now()}.` }));
    running.push(agent);
    world.fake.script({ content: [toolUse('toolu_c', 'mean', { values: [2, 4] })] }, 'Three.');
    await submit('cached', 'c-1', 'mean of [2,4]?');
    expect((await result('cached', 'c-1')).status).toBe('completed');
    const usage = (await eventsOf('cached', 'c-1')).flatMap((e) =>
      e.type === 'model.responded' ? [e.data.usage] : [],
    );
    expect(usage[0]?.cacheCreationInputTokens).toBeGreaterThan(0);
    expect(usage[1]?.cacheReadInputTokens).toBe(usage[0]?.cacheCreationInputTokens);
  });

  it('after a crash between request and result, the tool runs again with the same key', async () => {
    const first = await runAgentInProcess(world, 'crashy-tools', spec(), { stopGraceMs: 0 });
    world.fake.script({ content: [toolUse('toolu_s', 'slow', {})] }, 'Done slowly.');
    await submit('crashy-tools', 'ct-1', 'do it slowly');
    await waitFor('the tool to be running', () => slowCalls === 1, 10_000);
    await first.stop(); // the tool call is journaled as requested, its result is not
    releaseSlow?.();
    const types = (await eventsOf('crashy-tools', 'ct-1')).map((e) => e.type);
    expect(types).toContain('tool.requested');
    expect(types).not.toContain('tool.completed');

    running.push(await runAgentInProcess(world, 'crashy-tools', spec()));
    expect(await result('crashy-tools', 'ct-1')).toMatchObject({
      status: 'completed',
      output: 'Done slowly.',
    });
    expect(calls.filter((c) => c.tool === 'slow').map((c) => c.key)).toEqual([
      'crashy-tools:ct-1:0:toolu_s',
      'crashy-tools:ct-1:0:toolu_s',
    ]);
  });

  it('stops a tool loop at maxTurns with budget_exceeded', async () => {
    running.push(await runAgentInProcess(world, 'looping', spec({ maxTurns: 2 })));
    world.fake.script(
      { content: [toolUse('toolu_a', 'mean', { values: [1] })] },
      { content: [toolUse('toolu_b', 'mean', { values: [2] })] },
    );
    await submit('looping', 'lp-1', 'loop forever');
    const failed = await result('looping', 'lp-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expect(failed.error?.message).toContain('limit of 2 model calls (maxTurns)');
  });

  it('an agent without tools still fails a tool_use reply clearly', async () => {
    running.push(await runAgentInProcess(world, 'toolless'));
    world.fake.script({ content: [toolUse('toolu_x', 'mean', { values: [1] })] });
    await submit('toolless', 'tx-1', 'use a tool');
    expect(await result('toolless', 'tx-1')).toMatchObject({
      status: 'failed',
      error: { code: 'unexpected_tool_use' },
    });
  });
});

describe('no drift', () => {
  it('records a change of spec when the agent starts under a new one, and each task keeps the hash it ran under', async () => {
    const before = analystSpec({ instructions: 'Be terse.' });
    const after = analystSpec({ instructions: 'Be thorough.' });
    const first = await runAgentInProcess(world, 'drifting', before);
    await submit('drifting', 'd-1', 'first');
    await result('drifting', 'd-1');
    await first.stop();

    for (let i = 0; i < 2; i++) {
      const again = await runAgentInProcess(world, 'drifting', after);
      await again.stop();
    }
    const history = (await world.probe.history('drifting')).flatMap((c) => c.events);
    const changes = history.filter((e) => e.type === 'agent.spec_changed');
    const started = history.find((e) => e.type === 'task.started');
    expect(changes).toHaveLength(1); // the second start under the same spec records nothing
    expect(changes[0]?.type === 'agent.spec_changed' && changes[0].data).toMatchObject({
      from: started?.type === 'task.started' ? started.data.specHash : 'missing',
      to: expect.any(String),
    });
    // Every request's system prompt comes from the spec, never from history.
    const systems = world.fake.requests
      .filter((r) => JSON.stringify(r.body).includes('"first"'))
      .map((r) => (r.body as { system: { text: string }[] }).system[0]?.text);
    expect(systems).toEqual(['Be terse.']);
  });
});

describe('budgets', () => {
  it('a live agent stops a task at its tool-call limit, and every result carries its cost', async () => {
    running.push(await runAgentInProcess(world, 'thrifty', spec({ budget: { maxToolCalls: 1 } })));
    world.fake.script({
      content: [toolUse('toolu_m', 'mean', { values: [1] }), toolUse('toolu_n', 'mean', { values: [2] })],
    });
    await submit('thrifty', 'b-1', 'two tools at once');
    const failed = await result('thrifty', 'b-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expect(failed.error?.message).toContain("past the task's limit of 1 (budget.maxToolCalls)");
    expect(calls.filter((c) => c.key.startsWith('thrifty:'))).toEqual([]);

    await submit('thrifty', 'b-2', 'a plain question');
    const done = await result('thrifty', 'b-2');
    expect(done.status).toBe('completed');
    expect(done.costUsd).toBeGreaterThan(0);
  });
});

describe('approvals', () => {
  const payments: string[] = [];
  const pay = defineTool({
    name: 'pay',
    description: 'Pays an invoice.',
    input: z.object({ invoice: z.string() }),
    requiresApproval: true,
    handler: ({ invoice }) => {
      payments.push(invoice);
      return `paid ${invoice}`;
    },
  });
  let releaseSend: (() => void) | undefined;
  const sends: string[] = [];
  const send = defineTool({
    name: 'send_email',
    description: 'Sends an email (not idempotent).',
    input: z.object({ to: z.string() }),
    idempotent: false,
    handler: async ({ to }, { key }) => {
      sends.push(key);
      if (sends.length === 1) await new Promise<void>((resolve) => (releaseSend = resolve));
      return `sent to ${to}`;
    },
  });
  const approvalSpec = () => analystSpec({ tools: [pay, send] });
  const decide = (agent: string, taskId: string, approve: boolean) =>
    sendControl(
      world.connection,
      agent,
      approve ? { type: 'approve', taskId } : { type: 'deny', taskId, reason: 'not this month' },
      `${taskId}-${approve}`,
    );
  const phaseOf = (agent: AgentHandle, taskId: string) => agent.state()?.active.get(taskId)?.phase;

  it('waits durably for approval without holding a slot, across a restart, then runs the tool once approved', async () => {
    const first = await runAgentInProcess(world, 'payer', approvalSpec());
    world.fake.script({ content: [toolUse('toolu_pay', 'pay', { invoice: 'INV-1' })] });
    await submit('payer', 'pay-1', 'pay INV-1');
    await waitFor('the approval request', () => phaseOf(first, 'pay-1') === 'waiting', 10_000);
    // Concurrency 1, yet another task runs while this one waits.
    await submit('payer', 'other-1', 'something else');
    expect((await result('payer', 'other-1')).status).toBe('completed');
    expect(payments).toEqual([]);

    await first.stop();
    const second = await runAgentInProcess(world, 'payer', approvalSpec());
    running.push(second);
    expect(phaseOf(second, 'pay-1')).toBe('waiting');
    world.fake.script('Paid.');
    await decide('payer', 'pay-1', true);
    expect(await result('payer', 'pay-1')).toMatchObject({ status: 'completed', output: 'Paid.' });
    expect(payments).toEqual(['INV-1']);
  });

  it('a denial sent while the agent is down fails the call with the reason, and the model carries on', async () => {
    const first = await runAgentInProcess(world, 'denied', approvalSpec());
    world.fake.script({ content: [toolUse('toolu_pay2', 'pay', { invoice: 'INV-2' })] }, 'I did not pay it.');
    const before = world.fake.requests.length;
    await submit('denied', 'pay-2', 'pay INV-2');
    await waitFor('the approval request', () => phaseOf(first, 'pay-2') === 'waiting', 10_000);
    await first.stop();
    await decide('denied', 'pay-2', false); // waits on the control subject until the agent is back
    running.push(await runAgentInProcess(world, 'denied', approvalSpec()));
    expect(await result('denied', 'pay-2')).toMatchObject({
      status: 'completed',
      output: 'I did not pay it.',
    });
    expect(payments).not.toContain('INV-2');
    const last = world.fake.requests.slice(before).at(-1);
    expect(toolResults(last?.body)).toEqual([
      expect.objectContaining({
        is_error: true,
        content: expect.stringContaining('denied this call: not this month'),
      }),
    ]);
  });

  it('a non-idempotent tool interrupted by a crash is not re-run blindly: it waits for an operator', async () => {
    const first = await runAgentInProcess(world, 'mailer', approvalSpec(), { stopGraceMs: 0 });
    world.fake.script({ content: [toolUse('toolu_mail', 'send_email', { to: 'ops@example.com' })] });
    await submit('mailer', 'mail-1', 'tell ops');
    await waitFor('the email being sent', () => sends.length === 1, 10_000);
    await first.stop(); // crash while it runs: did the email go out? nobody knows
    releaseSend?.();

    const second = await runAgentInProcess(world, 'mailer', approvalSpec());
    running.push(second);
    await waitFor('the approval request', () => phaseOf(second, 'mail-1') === 'waiting', 10_000);
    expect(sends).toHaveLength(1);
    world.fake.script('Ops told.');
    await decide('mailer', 'mail-1', true);
    expect(await result('mailer', 'mail-1')).toMatchObject({ status: 'completed', output: 'Ops told.' });
    expect(sends).toEqual(['mailer:mail-1:0:toolu_mail', 'mailer:mail-1:0:toolu_mail']);
  });
});

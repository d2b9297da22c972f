import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AgentEvent as HistoryEvent } from './agent-events.ts';
import type { Command, ModelReply } from './commands.ts';
import { AgentSpecSchema, parseConfig, specHash } from './config.ts';
import { decide } from './decide.ts';
import { childTaskId, delegateTool } from './delegation.ts';
import { delegationOutcome, holdsSlot, isParked } from './delegation-decisions.ts';
import { given } from './given.ts';
import { next } from './next.ts';
import { buildMessages } from './request.ts';
import { fromSnapshot, toSnapshot } from './snapshot.ts';
import { defineTool } from './tools.ts';

const AT = '2026-11-25T12:00:00.000Z';
const usage = { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
const delegation = { agents: ['researcher', 'writer'], maxDepth: 2, self: 'planner' };
const use = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const toolReply = (...content: Record<string, unknown>[]): ModelReply => ({
  model: 'm',
  content: content as unknown as ModelReply['content'],
  stopReason: 'tool_use',
  usage,
});
const receive = (id: string, meta?: Record<string, unknown>, inboxSeq = 1): Command => ({
  type: 'ReceiveTask',
  task: { id, input: `goal of ${id}`, ...(meta === undefined ? {} : { meta }) },
  inboxSeq,
  at: AT,
});
const start = (id: string): Command => ({ type: 'StartTask', taskId: id, specHash: 'h', at: AT });
const reply = (id: string, step: number, r: ModelReply): Command => ({
  type: 'RecordReply',
  taskId: id,
  step,
  reply: r,
  toolsEnabled: true,
  maxTurns: 10,
  delegation,
  at: AT,
});
const sent = (id: string, toolUseId: string, step = 0): Command => ({
  type: 'MarkDelegationSent',
  taskId: id,
  step,
  toolUseId,
  inboxSeq: 7,
  at: AT,
});
const toolResult = (id: string, toolUseId: string, content: string, isError = false): Command => ({
  type: 'RecordToolResult',
  taskId: id,
  step: 0,
  toolUseId,
  content,
  isError,
  at: AT,
});
const twoDelegations = toolReply(
  { type: 'text', text: 'Splitting the work.' },
  use('tu_r', 'delegate', { agent: 'researcher', task: 'Find facts on X.' }),
  use('tu_w', 'delegate', { agent: 'writer', task: 'Draft a note on X.' }),
);
/** The decision events (after model.responded and the tool.requested ones) a reply leads to. */
const decisions = (events: HistoryEvent[]) =>
  events.filter((e) => e.type !== 'model.responded' && e.type !== 'tool.requested');
const toolUseIdOf = (e: HistoryEvent) => ('toolUseId' in e.data ? e.data.toolUseId : undefined);
const refusal = (events: HistoryEvent[]) => {
  const [only] = decisions(events);
  return only?.type === 'tool.completed' && only.data.isError ? only.data.content : undefined;
};

describe('delegation: the decision journaled with the reply', () => {
  it('accepts delegate calls as sub-tasks with deterministic ids, in the reply commit, and asks to send them', () => {
    const state = given(receive('t'), start('t'));
    const events = decide(state, reply('t', 0, twoDelegations));
    expect(events.map((e) => e.type)).toEqual([
      'model.responded',
      'tool.requested',
      'tool.requested',
      'delegation.requested',
      'delegation.requested',
    ]);
    const requested = decisions(events).map((e) => e.type === 'delegation.requested' && e.data);
    expect(requested).toEqual([
      {
        taskId: 't',
        step: 0,
        toolUseId: 'tu_r',
        agent: 'researcher',
        childTaskId: childTaskId('planner', 't', 1, 0, 'tu_r'),
        input: 'Find facts on X.',
        chain: ['planner'],
        at: AT,
      },
      expect.objectContaining({ agent: 'writer', childTaskId: childTaskId('planner', 't', 1, 0, 'tu_w') }),
    ]);
    expect(childTaskId('planner', 't', 1, 0, 'tu_r')).toMatch(/^dlg-[0-9a-f]{24}$/);
    expect(childTaskId('planner', 't', 1, 0, 'tu_r')).not.toBe(childTaskId('planner', 't', 2, 0, 'tu_r'));

    const after = given(receive('t'), start('t'), reply('t', 0, twoDelegations));
    expect(next(after, { concurrency: 1 })).toEqual([
      {
        type: 'send-delegation',
        taskId: 't',
        step: 0,
        toolUseId: 'tu_r',
        agent: 'researcher',
        childTaskId: childTaskId('planner', 't', 1, 0, 'tu_r'),
        input: 'Find facts on X.',
        meta: { delegation: { parent: { agent: 'planner', taskId: 't' }, chain: ['planner'] } },
      },
      expect.objectContaining({ type: 'send-delegation', toolUseId: 'tu_w', agent: 'writer' }),
    ]);
  });

  it('refuses an agent it may not delegate to, with the allowed ones, as an error the model reads', () => {
    const state = given(receive('t'), start('t'));
    const events = decide(
      state,
      reply('t', 0, toolReply(use('tu_x', 'delegate', { agent: 'boss', task: 'x' }))),
    );
    expect(refusal(events)).toBe(
      'delegation refused: "boss" is not an agent this one may delegate to (allowed: researcher, writer)',
    );
    // The refusal is the call's result: the next move is the model's next call.
    const after = given(
      receive('t'),
      start('t'),
      reply('t', 0, toolReply(use('tu_x', 'delegate', { agent: 'boss', task: 'x' }))),
    );
    expect(next(after, { concurrency: 1 })).toEqual([{ type: 'call-model', taskId: 't', step: 1 }]);
  });

  it('refuses a cycle, naming it', () => {
    // The writer delegated this task to the planner; the planner may not hand it back.
    const meta = { delegation: { parent: { agent: 'writer', taskId: 'w1' }, chain: ['writer'] } };
    const state = given(receive('t', meta), start('t'));
    const events = decide(
      state,
      reply('t', 0, toolReply(use('tu_c', 'delegate', { agent: 'writer', task: 'your turn' }))),
    );
    expect(refusal(events)).toContain('it would make a cycle writer → planner → writer');
  });

  it('refuses a chain deeper than maxDepth, and bad input, and lets other calls of the reply through', () => {
    const meta = { delegation: { parent: { agent: 'b', taskId: 'x' }, chain: ['a', 'b'] } };
    const deep = decide(
      given(receive('t', meta), start('t')),
      reply('t', 0, toolReply(use('tu_d', 'delegate', { agent: 'writer', task: 'deeper' }))),
    );
    expect(refusal(deep)).toContain(
      'the chain a → b → planner → writer would be 3 delegations deep, past the limit of 2 (delegation.maxDepth)',
    );

    const mixed = decide(
      given(receive('t'), start('t')),
      reply(
        't',
        0,
        toolReply(
          use('tu_bad', 'delegate', { agent: 'writer', task: '  ' }),
          use('tu_ok', 'delegate', { agent: 'writer', task: 'fine' }),
          use('tu_m', 'mean', { values: [1] }),
        ),
      ),
    );
    expect(decisions(mixed).map((e) => [e.type, toolUseIdOf(e)])).toEqual([
      ['tool.completed', 'tu_bad'],
      ['delegation.requested', 'tu_ok'],
    ]);
    expect(refusal(mixed.filter((e) => toolUseIdOf(e) !== 'tu_ok'))).toContain(
      'invalid input (task: must not be empty)',
    );
  });

  it('leaves delegate to the ordinary tools when the agent has no delegation', () => {
    const state = given(receive('t'), start('t'));
    const { delegation: _none, ...plain } = reply('t', 0, twoDelegations) as Extract<
      Command,
      { type: 'RecordReply' }
    >;
    expect(decide(state, plain).map((e) => e.type)).toEqual([
      'model.responded',
      'tool.requested',
      'tool.requested',
    ]);
  });
});

describe('delegation: waiting without holding a slot', () => {
  it('a task whose open calls are all sent delegations is parked, and a queued task starts', () => {
    const requested = given(
      receive('t'),
      start('t'),
      reply('t', 0, twoDelegations),
      receive('u', undefined, 2),
    );
    const parent = () => requested.active.get('t');
    // Not sent yet: it still holds its slot (it has work to do), so `u` waits.
    expect(holdsSlot(parent() as never)).toBe(true);
    expect(next(requested, { concurrency: 1 }).map((e) => e.type)).toEqual([
      'send-delegation',
      'send-delegation',
    ]);

    const oneSent = given(
      receive('t'),
      start('t'),
      reply('t', 0, twoDelegations),
      receive('u', undefined, 2),
      sent('t', 'tu_r'),
    );
    expect(next(oneSent, { concurrency: 1 }).map((e) => e.type)).toEqual([
      'await-delegation',
      'send-delegation',
    ]);

    const parked = given(
      receive('t'),
      start('t'),
      reply('t', 0, twoDelegations),
      receive('u', undefined, 2),
      sent('t', 'tu_r'),
      sent('t', 'tu_w'),
    );
    const task = parked.active.get('t');
    if (task === undefined) throw new Error('no task');
    expect(isParked(task)).toBe(true);
    expect(holdsSlot(task)).toBe(false);
    expect(next(parked, { concurrency: 1 })).toEqual([
      {
        type: 'await-delegation',
        taskId: 't',
        step: 0,
        toolUseId: 'tu_r',
        agent: 'researcher',
        childTaskId: childTaskId('planner', 't', 1, 0, 'tu_r'),
      },
      expect.objectContaining({ type: 'await-delegation', toolUseId: 'tu_w' }),
      { type: 'start-task', taskId: 'u' },
    ]);
    // Marked sent once.
    expect(decide(parked, sent('t', 'tu_r'))).toEqual([]);
  });

  it('a sent delegation beside an ordinary tool call still holds the slot', () => {
    const state = given(
      receive('t'),
      start('t'),
      reply(
        't',
        0,
        toolReply(use('tu_r', 'delegate', { agent: 'researcher', task: 'facts' }), use('tu_m', 'mean', {})),
      ),
      sent('t', 'tu_r'),
    );
    const task = state.active.get('t');
    expect(task && holdsSlot(task)).toBe(true);
  });

  it("the children's results become the calls' results, then the model is called with them", () => {
    const state = given(
      receive('t'),
      start('t'),
      reply('t', 0, twoDelegations),
      sent('t', 'tu_r'),
      sent('t', 'tu_w'),
      toolResult('t', 'tu_r', 'X is true.'),
      toolResult('t', 'tu_w', 'writer task dlg-1 ended failed: model_error: boom', true),
    );
    expect(next(state, { concurrency: 1 })).toEqual([{ type: 'call-model', taskId: 't', step: 1 }]);
    const task = state.active.get('t');
    if (task === undefined) throw new Error('no task');
    expect(buildMessages(state, task, { exchanges: 0, maxChars: 0 }).at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'tu_r', content: 'X is true.' },
        {
          type: 'tool_result',
          tool_use_id: 'tu_w',
          content: 'writer task dlg-1 ended failed: model_error: boom',
          is_error: true,
        },
      ],
    });
  });

  it('tells the model how a sub-task ended', () => {
    const base = { taskId: 'dlg-1', agent: 'writer', usage, steps: 1, attempts: 1, finishedAt: AT };
    expect(delegationOutcome({ ...base, status: 'completed', output: 'Done.' })).toEqual({
      content: 'Done.',
      isError: false,
    });
    expect(
      delegationOutcome({ ...base, status: 'cancelled', error: { code: 'cancelled', message: 'stop' } }),
    ).toEqual({ content: 'writer task dlg-1 ended cancelled: cancelled: stop', isError: true });
  });

  it('keeps delegations through a snapshot', () => {
    const state = given(receive('t'), start('t'), reply('t', 0, twoDelegations), sent('t', 'tu_r'));
    const restored = fromSnapshot(toSnapshot(state), 'analyst');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state).toEqual(state);
    expect(restored.state.active.get('t')?.steps[0]?.tools[0]?.delegation).toMatchObject({
      agent: 'researcher',
      sent: true,
    });
  });
});

describe('delegation: config', () => {
  const agent = (extra: Record<string, unknown> = {}) => ({ instructions: 'i', model: 'm', ...extra });

  it('fills the targets’ descriptions into the delegate tool, and the spec hash covers delegation', () => {
    const config = parseConfig({
      agents: {
        planner: agent({ delegation: { agents: ['researcher', 'writer'] } }),
        researcher: agent({ description: 'Finds facts.' }),
        writer: agent(),
      },
    });
    const planner = config.agents.planner;
    expect(planner?.delegation).toEqual({
      agents: ['researcher', 'writer'],
      maxDepth: 3,
      peers: { researcher: 'Finds facts.', writer: '' },
    });
    const tool = planner?.delegation && delegateTool(planner.delegation);
    expect(tool?.description).toContain('- researcher: Finds facts.\n- writer');
    expect(tool?.input_schema).toMatchObject({
      properties: { agent: { enum: ['researcher', 'writer'] } },
      required: ['agent', 'task'],
    });
    const plain = AgentSpecSchema.parse(agent());
    const deeper = AgentSpecSchema.parse(agent({ delegation: { agents: ['writer'], maxDepth: 4 } }));
    const shallow = AgentSpecSchema.parse(agent({ delegation: { agents: ['writer'], maxDepth: 1 } }));
    expect(new Set([specHash(plain), specHash(deeper), specHash(shallow)]).size).toBe(3);
  });

  it('refuses targets that are not other agents of the config, a tool named delegate, and bad settings', () => {
    const problem = (agents: Record<string, unknown>) => {
      try {
        parseConfig({ agents }, 'spool.config.json');
        return 'no error';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problem({ planner: agent({ delegation: { agents: ['ghost'] } }) })).toBe(
      'spool.config.json: agents.planner.delegation.agents.0: must name another agent of this config (planner) (got "ghost")',
    );
    expect(problem({ planner: agent({ delegation: { agents: ['planner'] } }) })).toContain(
      'agents.planner.delegation.agents.0: an agent cannot delegate to itself',
    );
    expect(problem({ a: agent({ delegation: { agents: [] } }) })).toContain(
      'agents.a.delegation.agents: must name at least one agent to delegate to',
    );
    expect(problem({ a: agent({ delegation: { agents: ['b', 'b'] } }), b: agent() })).toContain(
      'must not name an agent twice',
    );
    expect(problem({ a: agent({ delegation: { agents: ['b'], maxDepth: 11 } }), b: agent() })).toContain(
      'agents.a.delegation.maxDepth: must be at most 10',
    );
    expect(problem({ a: agent({ delegation: { agents: ['b'], depth: 2 } }), b: agent() })).toContain(
      'unknown field "depth"',
    );
    const delegate = defineTool({
      name: 'delegate',
      description: 'mine',
      input: z.object({}),
      handler: () => 1,
    });
    expect(problem({ a: agent({ delegation: { agents: ['b'] }, tools: [delegate] }), b: agent() })).toContain(
      'agents.a.tools.0: "delegate" is the built-in tool of an agent with delegation',
    );
    expect(problem({ a: agent({ descripton: 'typo' }) })).toContain('description, delegation');
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Command, ModelReply } from './commands.ts';
import { AgentSpecSchema } from './config.ts';
import { decide } from './decide.ts';
import { applyCommit } from './evolve.ts';
import { given } from './given.ts';
import { next } from './next.ts';
import { buildMessages, compactionPlan } from './request.ts';
import { fromSnapshot, toSnapshot } from './snapshot.ts';
import { defineTool, toolDefinitions } from './tools.ts';

const AT = '2026-11-25T12:00:00.000Z';
const memory = { exchanges: 20, maxChars: 60_000 };

const usage = { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
const toolReply: ModelReply = {
  model: 'm',
  content: [
    { type: 'text', text: 'Let me compute.' },
    { type: 'tool_use', id: 'toolu_1', name: 'mean', input: { values: [1, 2, 3] } },
    { type: 'tool_use', id: 'toolu_2', name: 'max', input: { values: [1, 2, 3] } },
  ],
  stopReason: 'tool_use',
  usage,
};
const receive: Command = {
  type: 'ReceiveTask',
  task: { id: 't', input: 'stats of [1,2,3]?' },
  inboxSeq: 1,
  at: AT,
};
const start: Command = { type: 'StartTask', taskId: 't', specHash: 'h', at: AT };
const reply = (step: number, r: ModelReply, maxTurns = 10): Command => ({
  type: 'RecordReply',
  taskId: 't',
  step,
  reply: r,
  toolsEnabled: true,
  maxTurns,
  at: AT,
});
const toolResult = (toolUseId: string, content: string, isError = false): Command => ({
  type: 'RecordToolResult',
  taskId: 't',
  step: 0,
  toolUseId,
  content,
  isError,
  at: AT,
});

describe('the tool loop', () => {
  it('journals each tool call the reply asks for, with its idempotency key, and asks to run them', () => {
    const state = given(receive, start, reply(0, toolReply));
    expect(state.active.get('t')?.steps[0]?.tools.map((t) => [t.toolUseId, t.name, t.key])).toEqual([
      ['toolu_1', 'mean', 'analyst:t:0:toolu_1'],
      ['toolu_2', 'max', 'analyst:t:0:toolu_2'],
    ]);
    expect(next(state, { concurrency: 1 }).map((e) => e.type === 'run-tool' && e.toolUseId)).toEqual([
      'toolu_1',
      'toolu_2',
    ]);
  });

  it('calls the model again once every result is journaled, with tool_result blocks in order', () => {
    const half = given(receive, start, reply(0, toolReply), toolResult('toolu_2', '3'));
    expect(next(half, { concurrency: 1 }).map((e) => e.type)).toEqual(['run-tool']);
    const state = given(
      receive,
      start,
      reply(0, toolReply),
      toolResult('toolu_2', '3'),
      toolResult('toolu_1', 'oops', true),
    );
    expect(next(state, { concurrency: 1 })).toEqual([{ type: 'call-model', taskId: 't', step: 1 }]);
    const task = state.active.get('t');
    if (task === undefined) throw new Error('no task');
    expect(buildMessages(state, task, memory).slice(1)).toEqual([
      { role: 'assistant', content: toolReply.content },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'oops', is_error: true },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: '3' },
        ],
      },
    ]);
    // A result is journaled once.
    expect(decide(state, toolResult('toolu_1', 'again'))).toEqual([]);
  });

  it('fails with budget_exceeded when the loop would pass maxTurns', () => {
    const state = given(receive, start, reply(0, toolReply, 1));
    expect(state.active.get('t')).toMatchObject({ phase: 'failed', error: { code: 'budget_exceeded' } });
  });

  it('keeps tool calls and results through a snapshot', () => {
    const state = given(receive, start, reply(0, toolReply), toolResult('toolu_1', '2'));
    const restored = fromSnapshot(toSnapshot(state), 'analyst');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state).toEqual(state);
  });
});

describe('tool definitions', () => {
  const mean = defineTool({
    name: 'mean',
    description: 'Mean of numbers.',
    input: z.object({ values: z.array(z.number()).min(1) }),
    handler: ({ values }) => values.reduce((a, b) => a + b, 0) / values.length,
  });

  it('sends the zod schema as JSON Schema', () => {
    expect(toolDefinitions([mean])).toEqual([
      {
        name: 'mean',
        description: 'Mean of numbers.',
        input_schema: expect.objectContaining({
          type: 'object',
          properties: { values: { type: 'array', items: { type: 'number' }, minItems: 1 } },
          required: ['values'],
        }),
      },
    ]);
  });

  it('are validated in the config: a JSON tool without a handler is refused, names are unique', () => {
    const base = { instructions: 'i', model: 'm' };
    expect(AgentSpecSchema.safeParse({ ...base, tools: [mean] }).success).toBe(true);
    const json = AgentSpecSchema.safeParse({ ...base, tools: [{ name: 'mean', description: 'x' }] });
    expect(json.error?.issues[0]?.message).toContain('tools need a spool.config.ts');
    expect(AgentSpecSchema.safeParse({ ...base, tools: [mean, mean] }).error?.issues[0]?.message).toBe(
      'tool names must be unique',
    );
  });
});

describe('memory compaction', () => {
  const bounds = { exchanges: 50, maxChars: 1_000_000, contextWindow: 1_000, compactAt: 0.5, keepRecent: 1 };
  const exchange = (i: number): Command[] => [
    { type: 'ReceiveTask', task: { id: `x${i}`, input: `q${i}` }, inboxSeq: i + 1, at: AT },
    { type: 'StartTask', taskId: `x${i}`, specHash: 'h', at: AT },
    {
      type: 'RecordReply',
      taskId: `x${i}`,
      step: 0,
      reply: { model: 'm', content: [{ type: 'text', text: `a${i}` }], stopReason: 'end_turn', usage },
      at: AT,
    },
    { type: 'MarkPublished', taskId: `x${i}`, at: AT },
  ];
  const history = () =>
    given(
      ...[0, 1, 2].flatMap(exchange),
      { type: 'ReceiveTask', task: { id: 'now', input: 'q3' }, inboxSeq: 9, at: AT },
      {
        type: 'StartTask',
        taskId: 'now',
        specHash: 'h',
        at: AT,
      },
    );

  it('plans to summarize whole older exchanges, keeping the newest ones', () => {
    const state = history();
    const task = state.active.get('now');
    if (task === undefined) throw new Error('no task');
    expect(compactionPlan(state, task, bounds)).toEqual({
      upTo: 2,
      transcript: 'User: q0\nAssistant: a0\n\nUser: q1\nAssistant: a1',
    });
  });

  it('replaces the summarized exchanges with the summary in later requests', () => {
    const state = history();
    const compact: Command = {
      type: 'RecordCompaction',
      summary: 'S',
      upTo: 2,
      tokens: 600,
      reply: { model: 'm', content: [], stopReason: 'end_turn', usage },
      at: AT,
    };
    applyCommit(state, { seq: 99, events: decide(state, compact) });
    expect(decide(state, compact)).toEqual([]); // once
    const task = state.active.get('now');
    if (task === undefined) throw new Error('no task');
    expect(buildMessages(state, task, bounds).map((m) => m.content)).toEqual([
      'A summary of our earlier work:\nS',
      'Understood; I will use it.',
      'q2',
      'a2',
      'q3',
    ]);
  });
});

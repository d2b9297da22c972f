import { describe, expect, it } from 'vitest';
import type { Command, ModelReply } from './commands.ts';
import { AgentSpecSchema } from './config.ts';
import { decide } from './decide.ts';
import { applyCommit } from './evolve.ts';
import { given } from './given.ts';
import { next } from './next.ts';
import { costOf, priceFor } from './pricing.ts';
import { usageLastDay } from './state.ts';

const AT = '2026-11-25T12:00:00.000Z';
const sonnet = priceFor('claude-sonnet-4-6');

const receive = (id: string, n = 1): Command => ({
  type: 'ReceiveTask',
  task: { id, input: 'x' },
  inboxSeq: n,
  at: AT,
});
const start = (id: string): Command => ({ type: 'StartTask', taskId: id, specHash: 'h', at: AT });
const toolReply = (calls: number, inputTokens = 1_000): ModelReply => ({
  model: 'claude-sonnet-4-6',
  content: Array.from({ length: calls }, (_, i) => ({
    type: 'tool_use',
    id: `toolu_${i}`,
    name: 'mean',
    input: {},
  })),
  stopReason: 'tool_use',
  usage: { inputTokens, outputTokens: 100, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
});
const reply = (id: string, r: ModelReply, maxToolCalls?: number): Command => ({
  type: 'RecordReply',
  taskId: id,
  step: 0,
  reply: r,
  toolsEnabled: true,
  maxTurns: 10,
  ...(maxToolCalls === undefined ? {} : { maxToolCalls }),
  at: AT,
});
const result = (id: string, toolUseId: string): Command => ({
  type: 'RecordToolResult',
  taskId: id,
  step: 0,
  toolUseId,
  content: '1',
  isError: false,
  at: AT,
});
const afterTools = (r: ModelReply) => given(receive('t'), start('t'), reply('t', r), result('t', 'toolu_0'));
const now = new Date(Date.parse(AT) + 60_000);

describe('budgets', () => {
  it('prices models by family and counts cache tokens at their rates', () => {
    expect(sonnet).toEqual({ inputPerMTok: 3, outputPerMTok: 15 });
    expect(
      priceFor('claude-sonnet-4-6', { 'claude-sonnet-4-6': { inputPerMTok: 1, outputPerMTok: 2 } }),
    ).toEqual({
      inputPerMTok: 1,
      outputPerMTok: 2,
    });
    expect(priceFor('gpt-something')).toBeUndefined();
    const usage = {
      inputTokens: 1e6,
      outputTokens: 1e6,
      cacheCreationInputTokens: 1e6,
      cacheReadInputTokens: 1e6,
    };
    expect(costOf(usage, sonnet ?? { inputPerMTok: 0, outputPerMTok: 0 })).toBeCloseTo(3 + 15 + 3.75 + 0.3);
  });

  it('stops a task before a model call that would pass maxTokens or maxCostUsd, naming the limit', () => {
    const state = afterTools(toolReply(1, 5_000));
    expect(next(state, { concurrency: 1, budget: { maxTokens: 6_000 } })[0]?.type).toBe('call-model');
    expect(next(state, { concurrency: 1, budget: { maxTokens: 5_000 } })).toEqual([
      expect.objectContaining({
        type: 'fail-task',
        error: {
          code: 'budget_exceeded',
          message: 'the task used 5100 tokens, its limit is 5000 (budget.maxTokens)',
        },
      }),
    ]);
    const costly = next(state, { concurrency: 1, budget: { maxCostUsd: 0.01 }, price: sonnet });
    expect(costly[0]).toMatchObject({
      type: 'fail-task',
      error: { message: expect.stringContaining('budget.maxCostUsd') },
    });
  });

  it('refuses a reply that asks for more tool calls than the task may make', () => {
    const state = given(receive('t'), start('t'), reply('t', toolReply(3), 2));
    expect(state.active.get('t')).toMatchObject({
      phase: 'failed',
      error: { code: 'budget_exceeded', message: expect.stringContaining('budget.maxToolCalls') },
    });
  });

  it('fails tasks once the agent has spent its daily limit over the last 24 hours', () => {
    const state = afterTools(toolReply(1, 1_000_000)); // $3.0015 spent at 12:00
    applyCommit(state, { seq: 10, events: decide(state, receive('u', 2)) });
    const options = { concurrency: 2, budget: { dailyCostUsd: 3 }, price: sonnet, now };
    expect(next(state, options).map((e) => [e.type, e.taskId])).toEqual([
      ['fail-task', 't'],
      ['fail-task', 'u'],
    ]);
    // A day later the window has moved on.
    const tomorrow = new Date(Date.parse(AT) + 25 * 3_600_000);
    expect(usageLastDay(state, tomorrow).inputTokens).toBe(0);
    expect(next(state, { ...options, now: tomorrow }).map((e) => e.type)).toEqual([
      'call-model',
      'start-task',
    ]);
  });

  it('puts the cost in the result when the price is known', () => {
    const state = given(receive('t'), start('t'), {
      type: 'RecordReply',
      taskId: 't',
      step: 0,
      reply: { ...toolReply(0, 1_000_000), stopReason: 'end_turn', content: [{ type: 'text', text: 'ok' }] },
      at: AT,
    });
    const [effect] = next(state, { concurrency: 1, price: sonnet });
    expect(effect?.type === 'publish-result' && effect.result.costUsd).toBeCloseTo(3.0015);
  });

  it('refuses a cost limit for a model without a price', () => {
    const spec = { instructions: 'i', model: 'my-own-model', budget: { maxCostUsd: 1 } };
    expect(AgentSpecSchema.safeParse(spec).error?.issues[0]?.message).toContain(
      'a cost limit needs the price of the model',
    );
    const priced = { ...spec, prices: { 'my-own-model': { inputPerMTok: 1, outputPerMTok: 2 } } };
    expect(AgentSpecSchema.safeParse(priced).success).toBe(true);
  });
});

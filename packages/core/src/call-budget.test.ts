import { describe, expect, it } from 'vitest';
import { callLimits, planCall, worstCostUsd } from './call-budget.ts';
import type { Command } from './commands.ts';
import { given } from './given.ts';
import { priceFor } from './pricing.ts';
import { addHold, emptyLedger, ledgerSpend, settleHold } from './spend-ledger.ts';
import { zeroUsage } from './usage.ts';

const AT = '2026-11-25T12:00:00.000Z';
const sonnet = priceFor('claude-sonnet-4-6');
const usage = (inputTokens: number, outputTokens: number) => ({ ...zeroUsage(), inputTokens, outputTokens });
const plan = (limits: ReturnType<typeof callLimits>, inputTokens: number, counted = true, maxTokens = 1024) =>
  planCall({ limits, inputTokens, counted, maxTokens, minOutputTokens: 256, price: sonnet });

describe('the check before a model call', () => {
  it("refuses a task's first call when its input and max_tokens could pass budget.maxTokens", () => {
    const limits = callLimits({ budget: { maxTokens: 300 }, price: sonnet, taskUsage: zeroUsage() });
    const outcome = plan(limits, 800);
    expect(outcome).toMatchObject({
      kind: 'refuse',
      refusal: { limit: 'budget.maxTokens', used: 0, max: 300, needed: 800 + 256 },
    });
    expect(outcome.kind === 'refuse' && outcome.refusal.message).toBe(
      'the next model call needs up to 1056 tokens (800 counted input tokens, at least 256 output (budget.minOutputTokens)) and 0 tokens of the 300 tokens allowed is used (budget.maxTokens); the call was not made',
    );
  });

  it('lowers max_tokens to what the limit leaves when that is above the floor', () => {
    const limits = callLimits({ budget: { maxTokens: 2_000 }, price: sonnet, taskUsage: usage(300, 100) });
    expect(plan(limits, 500)).toEqual({ kind: 'call', maxTokens: 1_024 });
    expect(plan(limits, 1_000)).toEqual({ kind: 'call', maxTokens: 600, lowered: 'budget.maxTokens' });
    expect(plan(limits, 1_400)).toMatchObject({ kind: 'refuse' });
  });

  it('counts exactly only when the cheap estimate is within reach of a limit', () => {
    const limits = callLimits({ budget: { maxTokens: 10_000 }, price: sonnet, taskUsage: zeroUsage() });
    expect(plan(limits, 1_000, false)).toEqual({ kind: 'call', maxTokens: 1_024 });
    expect(plan(limits, 6_000, false)).toEqual({ kind: 'count' });
    expect(plan([], 1_000_000, false)).toEqual({ kind: 'call', maxTokens: 1_024 });
  });

  it('prices the input at the cache-write rate and all of max_tokens as output against cost limits', () => {
    const price = sonnet ?? { inputPerMTok: 3, outputPerMTok: 15 };
    expect(worstCostUsd(1_000, 1_000, price)).toBeCloseTo(0.00375 + 0.015);
    const limits = callLimits({ budget: { maxCostUsd: 0.01 }, price, taskUsage: zeroUsage() });
    expect(plan(limits, 1_000)).toEqual({ kind: 'call', maxTokens: 416, lowered: 'budget.maxCostUsd' });
  });

  it("waits when only other calls' holds stand in the way, and refuses when the settled spend does", () => {
    const budget = { dailyCostUsd: 0.1 };
    const held = callLimits({
      budget,
      price: sonnet,
      taskUsage: zeroUsage(),
      daily: { spentUsd: 0.05, reservedUsd: 0.045 },
    });
    expect(plan(held, 1_000)).toEqual({ kind: 'wait', limit: 'budget.dailyCostUsd' });
    const spent = callLimits({
      budget,
      price: sonnet,
      taskUsage: zeroUsage(),
      daily: { spentUsd: 0.099, reservedUsd: 0 },
    });
    expect(plan(spent, 1_000)).toMatchObject({ kind: 'refuse', refusal: { limit: 'budget.dailyCostUsd' } });
  });

  it('journals a refusal with the failure, once', () => {
    const receive: Command = { type: 'ReceiveTask', task: { id: 't', input: 'x' }, at: AT };
    const start: Command = { type: 'StartTask', taskId: 't', specHash: 'h', at: AT };
    const refusal = {
      limit: 'budget.maxTokens',
      unit: 'tokens' as const,
      max: 300,
      used: 0,
      needed: 1056,
      message: 'no',
    };
    const refuse: Command = { type: 'RefuseCall', taskId: 't', step: 0, refusal, at: AT };
    const state = given(receive, start, refuse);
    expect(state.active.get('t')).toMatchObject({
      phase: 'failed',
      error: { code: 'budget_exceeded', message: 'no' },
    });
    // A repeat (a restart before the result went out) asks nothing and journals nothing.
    expect(given(receive, start, refuse, refuse).seq).toBe(state.seq);
  });
});

describe('the shared spend ledger', () => {
  it('holds worst cases until settled, settles once, and forgets holds whose holder died', () => {
    const now = Date.parse(AT);
    let ledger = addHold(emptyLedger(), 'a', 0.5, now + 60_000, now);
    ledger = addHold(ledger, 'b', 0.25, now + 60_000, now);
    expect(ledgerSpend(ledger, now)).toEqual({ spentUsd: 0, reservedUsd: 0.75 });
    ledger = settleHold(ledger, 'a', 0.1, now);
    ledger = settleHold(ledger, 'a', 0.1, now);
    expect(ledgerSpend(ledger, now)).toEqual({ spentUsd: 0.1, reservedUsd: 0.25 });
    expect(ledgerSpend(ledger, now + 61_000).reservedUsd).toBe(0);
    expect(ledgerSpend(ledger, now + 25 * 3_600_000).spentUsd).toBe(0);
  });
});

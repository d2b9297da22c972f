import type { AgentSpec } from './config.ts';
import { costOf, type Price, totalTokens } from './pricing.ts';
import type { Usage } from './usage.ts';

/**
 * The check made before every model call: could this call pass a limit? Pure. The runtime
 * gathers the numbers (the request's input tokens, the task's usage, the agent's spend today
 * and what other calls in flight hold of it) and does what the plan says.
 */

/** One spending limit that applies to the next call, in tokens or USD. */
export interface SpendLimit {
  /** The config field, as the refusal names it: `budget.maxTokens`, `budget.dailyCostUsd`, … */
  readonly name: string;
  readonly unit: 'tokens' | 'usd';
  readonly limit: number;
  /** Spent and settled: the task's usage, or the agent's spend over the last 24 hours. */
  readonly used: number;
  /** Held by other calls in flight (shared reservations): they settle at what they really cost. */
  readonly reserved: number;
}

/** Why a call is not made: the limit, what was used, what the call needed at least. */
export interface CallRefusal {
  readonly limit: string;
  readonly unit: 'tokens' | 'usd';
  readonly max: number;
  readonly used: number;
  readonly needed: number;
  readonly message: string;
}

export type CallPlan =
  /** Make the call with this `max_tokens` (`lowered`: which limit lowered it from the spec's). */
  | { readonly kind: 'call'; readonly maxTokens: number; readonly lowered?: string }
  /** The cheap estimate is within reach of a limit: count the input tokens exactly and plan again. */
  | { readonly kind: 'count' }
  /** It fits what is spent but not what calls in flight hold: wait for them to settle, then plan again. */
  | { readonly kind: 'wait'; readonly limit: string }
  | { readonly kind: 'refuse'; readonly refusal: CallRefusal };

export interface CallPlanInput {
  readonly limits: readonly SpendLimit[];
  /** The request's input tokens: counted by the API, or the cheap estimate. */
  readonly inputTokens: number;
  readonly counted: boolean;
  /** The spec's `max_tokens`. */
  readonly maxTokens: number;
  /** A call is made with a lowered `max_tokens` only down to this (`budget.minOutputTokens`). */
  readonly minOutputTokens: number;
  /** Needed for USD limits (the config refuses a cost limit without one). */
  readonly price?: Price | undefined;
}

/**
 * How far the cheap estimate (4 characters a token) may be below the real count: an estimate
 * this much larger still passing every limit with room is trusted without an exact count.
 */
export const ESTIMATE_MARGIN = 1.5;

/** What the next call may cost before it is made, against every limit. */
export function planCall(input: CallPlanInput): CallPlan {
  if (!input.counted) {
    const pessimistic = planExact({ ...input, inputTokens: Math.ceil(input.inputTokens * ESTIMATE_MARGIN) });
    if (pessimistic.kind === 'call' && pessimistic.lowered === undefined) return pessimistic;
    return input.limits.length === 0 ? planExact(input) : { kind: 'count' };
  }
  return planExact(input);
}

function planExact(input: CallPlanInput): CallPlan {
  const floor = Math.min(input.minOutputTokens, input.maxTokens);
  let maxTokens = input.maxTokens;
  let lowered: string | undefined;
  let wait: string | undefined;
  for (const limit of input.limits) {
    const rate = rates(limit.unit, input.price);
    if (rate === undefined) continue;
    const inputCost = input.inputTokens * rate.input;
    // Room for output: spent and settled, then also what others hold.
    const roomSettled = (limit.limit - limit.used - inputCost) / rate.output;
    const roomHeld = (limit.limit - limit.used - limit.reserved - inputCost) / rate.output;
    if (roomSettled < floor) return { kind: 'refuse', refusal: refusal(limit, input, floor, rate) };
    if (roomHeld < floor) {
      wait ??= limit.name;
      continue;
    }
    const fits = Math.floor(roomHeld);
    if (fits < maxTokens) {
      maxTokens = fits;
      lowered = limit.name;
    }
  }
  if (wait !== undefined) return { kind: 'wait', limit: wait };
  return lowered === undefined ? { kind: 'call', maxTokens } : { kind: 'call', maxTokens, lowered };
}

/** What one input and one output token cost in a limit's unit (input at the worst rate: a cache write). */
function rates(
  unit: 'tokens' | 'usd',
  price: Price | undefined,
): { input: number; output: number } | undefined {
  if (unit === 'tokens') return { input: 1, output: 1 };
  if (price === undefined) return undefined;
  const input = Math.max(price.inputPerMTok, price.cacheWritePerMTok ?? price.inputPerMTok * 1.25);
  return { input: input / 1e6, output: price.outputPerMTok / 1e6 };
}

function refusal(
  limit: SpendLimit,
  input: CallPlanInput,
  floor: number,
  rate: { input: number; output: number },
): CallRefusal {
  const needed = input.inputTokens * rate.input + floor * rate.output;
  const show = (x: number) => (limit.unit === 'tokens' ? `${Math.ceil(x)} tokens` : usd(x));
  const counted = input.counted ? 'counted' : 'estimated';
  const output =
    floor < input.maxTokens
      ? `at least ${floor} output (budget.minOutputTokens)`
      : `${floor} output (maxTokens)`;
  const message = `the next model call needs up to ${show(needed)} (${input.inputTokens} ${counted} input tokens, ${output}) and ${show(limit.used)} of the ${show(limit.limit)} allowed is used (${limit.name}); the call was not made`;
  return {
    limit: limit.name,
    unit: limit.unit,
    max: limit.limit,
    used: round(limit.used),
    needed: round(needed),
    message,
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
export const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;

/** What the agent's spend today looks like to this call: spent (settled) and held by calls in flight. */
export interface DailySpend {
  readonly spentUsd: number;
  readonly reservedUsd: number;
}

/**
 * The limits that apply to a task's next call. `daily`: the agent's spend over the last 24
 * hours (the larger of its own history's and the fleet's shared ledger, with what calls in
 * flight hold). `instance`: a keyed instance's limit, when the agent has one (later).
 */
export function callLimits(options: {
  readonly budget: Partial<AgentSpec['budget']>;
  readonly price: Price | undefined;
  readonly taskUsage: Usage;
  readonly daily?: DailySpend | undefined;
  readonly instance?: SpendLimit | undefined;
}): SpendLimit[] {
  const { budget, price, taskUsage, daily } = options;
  const limits: SpendLimit[] = [];
  if (budget.maxTokens !== undefined)
    limits.push({
      name: 'budget.maxTokens',
      unit: 'tokens',
      limit: budget.maxTokens,
      used: totalTokens(taskUsage),
      reserved: 0,
    });
  if (budget.maxCostUsd !== undefined && price !== undefined)
    limits.push({
      name: 'budget.maxCostUsd',
      unit: 'usd',
      limit: budget.maxCostUsd,
      used: costOf(taskUsage, price),
      reserved: 0,
    });
  if (budget.dailyCostUsd !== undefined && price !== undefined && daily !== undefined)
    limits.push({
      name: 'budget.dailyCostUsd',
      unit: 'usd',
      limit: budget.dailyCostUsd,
      used: daily.spentUsd,
      reserved: daily.reservedUsd,
    });
  if (options.instance !== undefined) limits.push(options.instance);
  return limits;
}

/** The worst case of a call in USD: its input at the cache-write rate and all of `max_tokens` as output. */
export function worstCostUsd(inputTokens: number, maxTokens: number, price: Price): number {
  const rate = rates('usd', price);
  return rate === undefined ? 0 : inputTokens * rate.input + maxTokens * rate.output;
}

/** The cheap estimate of a request's input tokens: about 4 characters a token, as sent. */
export function estimateInputTokens(request: {
  readonly system: string;
  readonly messages: readonly unknown[];
  readonly tools?: readonly unknown[] | undefined;
}): number {
  const chars =
    request.system.length +
    JSON.stringify(request.messages).length +
    JSON.stringify(request.tools ?? []).length;
  return Math.ceil(chars / 4);
}

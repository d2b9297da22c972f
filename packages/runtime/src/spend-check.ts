import { randomUUID } from 'node:crypto';
import type { ModelRequest } from '@spool/claude';
import {
  type CallPlan,
  callLimits,
  costOf,
  type DailySpend,
  ensureError,
  estimateInputTokens,
  ESTIMATE_MARGIN,
  planCall,
  type TaskState,
  usageLastDay,
  usd,
  worstCostUsd,
  type Usage,
} from '@spool/core/internal';
import type { Logger } from 'pino';
import { type AgentContext, observedName } from './context.ts';

/** How often a call held back by other calls' holds looks at the shared spend again. */
const HELD_BACK_POLL_MS = 250;
/** A hold outlives its call by this much before the fleet stops counting it (its process died). */
const HOLD_GRACE_MS = 30_000;
/** A warning is logged once the agent's spend today reaches this share of its daily budget. */
export const DAILY_WARN_SHARE = 0.8;

export type SpendClearance =
  | {
      readonly kind: 'call';
      readonly maxTokens: number;
      /** The request's input tokens as checked (the API's count, or the estimate). */
      readonly inputTokens: number;
      /** Counts the call's real cost (undefined: it failed, nothing to count) and lets the hold go. */
      settle(usage: Usage | undefined): Promise<void>;
    }
  /** Refused (journaled, the task failed) or stopped while waiting: no call. */
  | { readonly kind: 'no-call' };

/**
 * The check before a model call (core's call-budget.ts decides; this gathers its numbers): the
 * request's input tokens (the cheap estimate, the API's count when that is within reach of a
 * limit), the task's usage, and the agent's spend today with what the fleet's calls in flight
 * hold (spool_spend). A refusal is journaled with the task's failure before anything else.
 */
export async function clearSpend(
  ctx: AgentContext,
  task: TaskState,
  step: number,
  request: ModelRequest,
  stop: AbortSignal,
  log: Logger,
): Promise<SpendClearance> {
  const { spec, price } = ctx;
  const budget = spec.budget;
  const daily = budget.dailyCostUsd !== undefined && price !== undefined ? ctx.spend : undefined;
  // Spend is shared by a pool's replicas: one key per configured agent.
  const key = observedName(ctx);
  const holdId = `${ctx.name}:${task.taskId}:${step}:${randomUUID().slice(0, 8)}`;
  let inputTokens = estimateInputTokens(request);
  let counted = false;
  let waitingLogged = false;
  for (;;) {
    const shared = daily === undefined ? undefined : await dailySpend(ctx, daily.read(key));
    const plan: CallPlan = planCall({
      limits: callLimits({ budget, price, taskUsage: task.usage, daily: shared }),
      inputTokens,
      counted,
      maxTokens: request.maxTokens,
      minOutputTokens: budget.minOutputTokens,
      price,
    });
    switch (plan.kind) {
      case 'count':
        inputTokens = await countTokens(ctx, request, inputTokens, stop, log);
        counted = true;
        continue;
      case 'refuse':
        log.warn(
          { step, limit: plan.refusal.limit, used: plan.refusal.used, needed: plan.refusal.needed },
          `model call refused: ${plan.refusal.message}`,
        );
        await ctx.term.commit({
          type: 'RefuseCall',
          taskId: task.taskId,
          step,
          refusal: plan.refusal,
          at: ctx.now(),
        });
        return { kind: 'no-call' };
      case 'wait':
        if (!waitingLogged)
          log.info({ step, limit: plan.limit }, 'model call waits for calls in flight to settle their spend');
        waitingLogged = true;
        if (!(await sleep(HELD_BACK_POLL_MS, stop))) return { kind: 'no-call' };
        continue;
      case 'call': {
        if (stop.aborted) return { kind: 'no-call' };
        if (plan.lowered !== undefined)
          log.info(
            { step, maxTokens: plan.maxTokens, from: request.maxTokens, limit: plan.lowered },
            'max_tokens lowered to fit the budget',
          );
        if (daily === undefined || price === undefined || budget.dailyCostUsd === undefined)
          return { kind: 'call', maxTokens: plan.maxTokens, inputTokens, settle: async () => undefined };
        const worst = worstCostUsd(inputTokens, plan.maxTokens, price);
        const cap = budget.dailyCostUsd;
        const local = localSpentUsd(ctx);
        const until = Date.now() + spec.modelTimeoutMs + HOLD_GRACE_MS;
        // Checked again inside the swap: what the plan saw may have been taken meanwhile.
        const held = await daily.hold(
          key,
          holdId,
          worst,
          until,
          (s) => Math.max(s.spentUsd, local) + s.reservedUsd + worst <= cap,
        );
        if (!held.held) continue;
        return {
          kind: 'call',
          maxTokens: plan.maxTokens,
          inputTokens,
          settle: async (usage) => {
            const after = await daily.settle(key, holdId, usage === undefined ? 0 : costOf(usage, price));
            warnNearDaily(ctx, Math.max(after.spentUsd, localSpentUsd(ctx)), cap, log);
          },
        };
      }
    }
  }
}

async function dailySpend(ctx: AgentContext, shared: Promise<DailySpend>): Promise<DailySpend> {
  const seen = await shared;
  // The agent's own history counts too (spend before the ledger existed, or a lost bucket).
  return { spentUsd: Math.max(seen.spentUsd, localSpentUsd(ctx)), reservedUsd: seen.reservedUsd };
}

function localSpentUsd(ctx: AgentContext): number {
  return ctx.price === undefined ? 0 : costOf(usageLastDay(ctx.term.state, ctx.term.clock.now()), ctx.price);
}

/** The API's count; if it cannot be had, the estimate with its margin (never a crash, never an unchecked call). */
async function countTokens(
  ctx: AgentContext,
  request: ModelRequest,
  estimate: number,
  stop: AbortSignal,
  log: Logger,
): Promise<number> {
  try {
    return await ctx.model.countTokens(request, stop);
  } catch (err) {
    if (stop.aborted) return estimate;
    log.warn(
      { err: ensureError(err).message },
      'counting the input tokens failed; checking the budget with the estimate and its margin',
    );
    return Math.ceil(estimate * ESTIMATE_MARGIN);
  }
}

const warnedHour = new WeakMap<object, string>();

/** Once an hour at most: the agent's spend today has reached 80% of its daily budget. */
function warnNearDaily(ctx: AgentContext, spent: number, cap: number, log: Logger): void {
  if (spent < cap * DAILY_WARN_SHARE) return;
  const hour = new Date().toISOString().slice(0, 13);
  if (warnedHour.get(ctx.spec) === hour) return;
  warnedHour.set(ctx.spec, hour);
  log.warn(
    {
      spentUsd: Math.round(spent * 1e6) / 1e6,
      dailyCostUsd: cap,
      share: Math.round((spent / cap) * 100) / 100,
    },
    `the agent has spent ${usd(spent)} of its daily budget of ${usd(cap)} (budget.dailyCostUsd)`,
  );
}

/** Resolves true after `ms`, false at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

import type { AgentSpec } from './config.ts';
import { type DelegationEffect, delegationEffect, holdsSlot } from './delegation-decisions.ts';
import { ErrorCode } from './errors.ts';
import { costOf, type Price, totalTokens } from './pricing.ts';
import type { TaskError, TaskResult } from './result.ts';
import { type AgentState, isFinished, type TaskState, usageLastDay } from './state.ts';
import { type TimerEffect, timerEffect, timerWakeAt } from './timers.ts';

/**
 * What the runtime must do next, as data (XState-style actions): the runtime executes
 * effects and feeds their outcomes back as commands. Same state, same effects, so after
 * a crash the replayed state names exactly the work that was left.
 */
export type Effect =
  | { type: 'start-task'; taskId: string }
  /** `notBefore`: a retry waiting out its backoff (journaled with the failure). */
  | { type: 'call-model'; taskId: string; step: number; notBefore?: string }
  /** `previousResultSeq`: a retried task's new result must follow the one it replaces. */
  | { type: 'publish-result'; taskId: string; result: TaskResult; previousResultSeq?: number }
  | { type: 'fail-task'; taskId: string; error: TaskError }
  /** A tool call journaled as requested and not yet completed; `key` is its idempotency key. */
  | {
      type: 'run-tool';
      taskId: string;
      step: number;
      toolUseId: string;
      name: string;
      input: unknown;
      key: string;
    }
  | DelegationEffect
  /** A durable timer: at `until` its call's result is journaled (the wait's length). */
  | TimerEffect;

export interface NextOptions {
  /** Tasks that may run at once. */
  readonly concurrency: number;
  /** A running attempt that started longer ago than this fails with `deadline_exceeded`. */
  readonly taskDeadlineMs?: number | undefined;
  /** The time to judge deadlines by (the runtime's clock, passed in to keep `next` pure). */
  readonly now?: Date;
  /** Spending limits checked before each model call (and, for the daily one, before a task starts). */
  readonly budget?: Partial<AgentSpec['budget']>;
  /** The price of the agent's model, for costs and cost limits. */
  readonly price?: Price | undefined;
}

export function next(state: AgentState, options: NextOptions): Effect[] {
  const effects: Effect[] = [];
  const queued: TaskState[] = [];
  let running = 0;
  for (const task of [...state.active.values()]) {
    if (task.phase === 'running') {
      // A task parked on its delegations waits on other agents, not on this one: no slot.
      if (holdsSlot(task)) running += 1;
      const overdue = deadlinePassed(task, options);
      const moves = state.paused ? [] : stepEffects(task);
      const over = moves[0]?.type === 'call-model' ? overBudget(state, task, options) : undefined;
      const stop = overdue ?? over;
      if (stop !== undefined) effects.push({ type: 'fail-task', taskId: task.taskId, error: stop });
      // Paused: what is in flight finishes (the runtime does not abort it); nothing new starts.
      else effects.push(...moves);
    } else if (task.phase === 'queued') {
      queued.push(task);
    } else if (isFinished(task.phase)) {
      effects.push({
        type: 'publish-result',
        taskId: task.taskId,
        result: resultOf(state, task, options.price),
        ...(task.previousResultSeq === undefined ? {} : { previousResultSeq: task.previousResultSeq }),
      });
    }
  }
  if (state.paused) return effects;
  queued.sort(byArrival);
  const spentToday = dailyLimitReached(state, options);
  for (const task of queued.slice(0, Math.max(0, options.concurrency - running))) {
    if (spentToday !== undefined) effects.push({ type: 'fail-task', taskId: task.taskId, error: spentToday });
    else effects.push({ type: 'start-task', taskId: task.taskId });
  }
  return effects;
}

/**
 * How many tasks arriving now `next` would start at once, in arrival order: the free slots,
 * when nothing queued is ahead of them, the agent is not paused and no daily budget must be
 * checked first (0 otherwise). A keyed instance then journals the start with the arrival
 * (`ReceiveTask.startNow`): one append, the same decision.
 */
export function startableNow(
  state: AgentState,
  options: Pick<NextOptions, 'concurrency' | 'budget'>,
): number {
  if (state.paused || options.budget?.dailyCostUsd !== undefined) return 0;
  let busy = 0;
  for (const task of state.active.values()) {
    if (task.phase === 'queued') return 0;
    if (holdsSlot(task)) busy += 1;
  }
  return Math.max(0, options.concurrency - busy);
}

/** A running task's next move: the tool calls its last reply asked for, or the next model call. */
function stepEffects(task: TaskState): Effect[] {
  const pending = task.steps.at(-1)?.tools.filter((call) => call.result === undefined) ?? [];
  if (pending.length > 0) {
    return pending.map(
      (call): Effect =>
        delegationEffect(task, task.steps.length - 1, call) ??
        timerEffect(task, task.steps.length - 1, call) ?? {
          type: 'run-tool',
          taskId: task.taskId,
          step: task.steps.length - 1,
          toolUseId: call.toolUseId,
          name: call.name,
          input: call.input,
          key: call.key,
        },
    );
  }
  return [
    {
      type: 'call-model',
      taskId: task.taskId,
      step: task.steps.length,
      ...(task.retryAt === undefined ? {} : { notBefore: task.retryAt }),
    },
  ];
}

const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;

/** Which limit the task's next model call would pass, if any. */
function overBudget(state: AgentState, task: TaskState, options: NextOptions): TaskError | undefined {
  const budget = options.budget;
  if (budget === undefined) return undefined;
  const exceeded = (message: string): TaskError => ({ code: ErrorCode.BudgetExceeded, message });
  const tokens = totalTokens(task.usage);
  if (budget.maxTokens !== undefined && tokens >= budget.maxTokens)
    return exceeded(`the task used ${tokens} tokens, its limit is ${budget.maxTokens} (budget.maxTokens)`);
  if (budget.maxCostUsd !== undefined && options.price !== undefined) {
    const cost = costOf(task.usage, options.price);
    if (cost >= budget.maxCostUsd)
      return exceeded(
        `the task cost ${usd(cost)}, its limit is ${usd(budget.maxCostUsd)} (budget.maxCostUsd)`,
      );
  }
  return dailyLimitReached(state, options);
}

/** The agent's spend over the last 24 hours has reached its daily limit. */
function dailyLimitReached(state: AgentState, options: NextOptions): TaskError | undefined {
  const cap = options.budget?.dailyCostUsd;
  if (cap === undefined || options.price === undefined || options.now === undefined) return undefined;
  const spent = costOf(usageLastDay(state, options.now), options.price);
  if (spent < cap) return undefined;
  return {
    code: ErrorCode.BudgetExceeded,
    message: `the agent spent ${usd(spent)} in the last 24 hours, its daily limit is ${usd(cap)} (budget.dailyCostUsd)`,
  };
}

function deadlinePassed(task: TaskState, options: NextOptions): TaskError | undefined {
  if (options.taskDeadlineMs === undefined || options.now === undefined || task.startedAt === undefined)
    return;
  const elapsed = options.now.getTime() - Date.parse(task.startedAt);
  if (elapsed <= options.taskDeadlineMs) return;
  return {
    code: ErrorCode.DeadlineExceeded,
    message: `the task ran ${Math.round(elapsed / 1000)}s, past its deadline of ${Math.round(options.taskDeadlineMs / 1000)}s (taskDeadlineMs)`,
  };
}

function byArrival(a: TaskState, b: TaskState): number {
  return (
    (a.inboxSeq ?? Number.MAX_SAFE_INTEGER) - (b.inboxSeq ?? Number.MAX_SAFE_INTEGER) ||
    (a.receivedAt ?? '').localeCompare(b.receivedAt ?? '')
  );
}

/** The published outcome of a finished task (with its cost when the model's price is known). */
export function resultOf(state: AgentState, task: TaskState, price?: Price): TaskResult {
  const status = isFinished(task.phase) ? task.phase : 'failed';
  const tools = task.steps.flatMap((step) => step.tools.map((call) => call.name));
  const model = task.steps.at(-1)?.model;
  return {
    taskId: task.taskId,
    agent: state.agent,
    status,
    ...(task.output === undefined ? {} : { output: task.output }),
    ...(task.error === undefined ? {} : { error: task.error }),
    usage: task.usage,
    ...(model === undefined ? {} : { model }),
    ...(price === undefined ? {} : { costUsd: Math.round(costOf(task.usage, price) * 1e6) / 1e6 }),
    steps: task.steps.length,
    ...(tools.length === 0 ? {} : { tools }),
    attempts: task.attempt,
    ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
    finishedAt: task.finishedAt ?? task.receivedAt ?? '',
    ...(task.meta === undefined ? {} : { meta: task.meta }),
  };
}

/**
 * What the runtime must do now (a model call still backing off is left out), and the
 * earliest time the answer changes by the clock alone: a backoff's end, or a deadline.
 */
export function nextAt(state: AgentState, options: NextOptions & { readonly now: Date }): NextAt {
  const now = options.now.getTime();
  const effects = next(state, options).filter(
    (effect) =>
      (effect.type !== 'call-model' ||
        effect.notBefore === undefined ||
        Date.parse(effect.notBefore) <= now) &&
      (effect.type !== 'fire-timer' || Date.parse(effect.until) <= now),
  );
  let wakeAt = Number.POSITIVE_INFINITY;
  const deadline = options.taskDeadlineMs;
  for (const task of state.active.values()) {
    if (task.phase !== 'running') continue;
    if (task.retryAt !== undefined) wakeAt = Math.min(wakeAt, Date.parse(task.retryAt));
    const timer = timerWakeAt(task);
    if (timer !== undefined) wakeAt = Math.min(wakeAt, timer);
    // Just past the deadline: `deadlinePassed` wants the time strictly after it.
    if (deadline !== undefined && task.startedAt !== undefined)
      wakeAt = Math.min(wakeAt, Date.parse(task.startedAt) + deadline + 1);
  }
  return Number.isFinite(wakeAt) ? { effects, wakeAt } : { effects };
}

export interface NextAt {
  readonly effects: Effect[];
  /** Epoch ms; absent when only new input can change what is next. */
  readonly wakeAt?: number;
}

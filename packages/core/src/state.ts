import type { ContentBlock, ToolImage } from './content.ts';
import type { TaskError } from './result.ts';
import type { TraceContext } from './trace-context.ts';
import { addUsage, type Usage, zeroUsage } from './usage.ts';

/** How many finished exchanges the state keeps for memory; requests take a window of them. */
export const MEMORY_KEEP = 200;

/**
 * How many of the newest finished task ids the state keeps (`recentlyDone`). Older ones are
 * known by their result on SPOOL_RESULTS (the runtime asks it before journaling a task id it
 * does not know): the state, its snapshots and the agent's memory stay flat however long the
 * history, while a repeat within the last this-many tasks (a retry seconds later) is answered
 * without a round trip.
 */
export const RECENTLY_DONE_KEEP = 1_000;

/**
 * How many cancellations of tasks not received yet the state keeps (`cancelRequests`), the
 * newest: a cancel for an id that never comes (a typo, a script's guess) must not grow the
 * state for ever. A task cancelled before this many later such requests is run if it arrives.
 */
export const CANCEL_REQUESTS_KEEP = 1_000;

/** `waiting`: a tool call waits for an operator's approval; the task holds no concurrency slot. */
export type TaskPhase = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'rejected' | 'cancelled';
export type FinishedPhase = Exclude<TaskPhase, 'queued' | 'running' | 'waiting'>;

export interface ModelStep {
  readonly step: number;
  readonly model: string;
  readonly content: readonly ContentBlock[];
  readonly stopReason: string | null;
  readonly usage: Usage;
  readonly requestId?: string | undefined;
  readonly at: string;
  /** The tool calls this reply asked for, with their results once journaled. */
  tools: ToolCall[];
}

export interface ToolCall {
  readonly toolUseId: string;
  readonly name: string;
  readonly input: unknown;
  readonly key: string;
  result?:
    | { readonly content: string; readonly isError: boolean; readonly images?: readonly ToolImage[] }
    | undefined;
  /** Runs of a non-idempotent tool journaled as started. */
  starts?: number | undefined;
  /** Approvals asked for this call, and the state of the latest. */
  approvals?: number | undefined;
  approval?:
    | { readonly state: 'pending' | 'approved'; readonly reason: string; readonly at: string }
    | undefined;
  /** A `delegate` call accepted as a sub-task of another agent; its result is the sub-task's. */
  delegation?: DelegationCall | undefined;
  /** A `wait` call accepted as a durable timer: its result comes at `until` (timers.ts). */
  timer?:
    | { readonly until: string; readonly setAt: string; readonly reason?: string | undefined }
    | undefined;
}

/** The delegation a tool call became, once accepted (delegation.ts). */
export interface DelegationCall {
  readonly agent: string;
  readonly childTaskId: string;
  readonly input: string;
  readonly chain: readonly string[];
  /** The sub-task is on the child's inbox (journaled as `delegation.sent`). */
  sent: boolean;
}

export interface TaskState {
  taskId: string;
  input: string;
  meta?: Record<string, unknown> | undefined;
  inboxSeq?: number | undefined;
  receivedAt?: string | undefined;
  /** The trace context its message carried (W3C), for the spans of its work. */
  trace?: TraceContext | undefined;
  phase: TaskPhase;
  /** 0 until started; each start of the task is a new attempt. */
  attempt: number;
  specHash?: string | undefined;
  memoryUpTo: number;
  /** When the current attempt started (its deadline counts from here). */
  startedAt?: string | undefined;
  steps: ModelStep[];
  /** Failed calls of the current step; the next call waits until `retryAt`. */
  failedCalls: number;
  retryAt?: string | undefined;
  /** Times a writer stopped while this attempt was running (crash, kill, lost lease). */
  interruptions: number;
  usage: Usage;
  output?: string | undefined;
  error?: TaskError | undefined;
  finishedAt?: string | undefined;
  /** Sequence of the previous attempt's result, when the task was retried from the dead-letter view. */
  previousResultSeq?: number | undefined;
}

/** A task that ended `failed`, kept until it is retried or dropped: the dead-letter view. */
export interface DeadLetter {
  readonly task: TaskState;
  readonly resultSeq?: number | undefined;
}

/** One finished task's question and answer, remembered for later tasks. */
export interface Exchange {
  readonly n: number;
  readonly taskId: string;
  readonly input: string;
  readonly output: string;
}

export interface AgentState {
  readonly agent: string;
  /** History sequence of the last commit applied; 0 for an empty history. */
  seq: number;
  /** Tasks whose result is not yet published, by id. Small: bounded by the work in flight. */
  active: Map<string, TaskState>;
  /**
   * The newest task ids whose result was published (at most RECENTLY_DONE_KEEP, oldest first),
   * with how they ended. Not the idempotency record: every finished task's result is on
   * SPOOL_RESULTS, which the runtime asks about an id this state does not know.
   */
  recentlyDone: Map<string, FinishedPhase>;
  /** The newest finished exchanges, oldest first (at most MEMORY_KEEP). */
  memory: Exchange[];
  /** Exchanges ever finished; the next one is numbered this. */
  exchanges: number;
  counts: { received: number; completed: number; failed: number; rejected: number; cancelled: number };
  usage: Usage;
  /** Paused by an operator: finishes the step in flight, starts nothing new, keeps queueing tasks. */
  paused: boolean;
  /** Cancellations of task ids not received yet, with their reason: applied when the task arrives. */
  cancelRequests: Map<string, string>;
  /** Failed tasks whose result is published, by id, until retried or dropped. */
  dead: Map<string, DeadLetter>;
  /** Hash of the spec the agent last worked under (its latest task's, or a recorded change). */
  specHash?: string | undefined;
  /** The model of the latest reply (for pricing the usage). */
  model?: string | undefined;
  /** The summary of exchanges numbered below `upTo` (they are dropped from `memory`). */
  memorySummary?: { readonly text: string; readonly upTo: number } | undefined;
  /** Token usage by hour (`YYYY-MM-DDTHH` of the reply), the last 25 hours: the daily budget's window. */
  usageByHour: Map<string, Usage>;
}

export function initialState(agent: string): AgentState {
  return {
    agent,
    seq: 0,
    active: new Map(),
    recentlyDone: new Map(),
    memory: [],
    exchanges: 0,
    counts: { received: 0, completed: 0, failed: 0, rejected: 0, cancelled: 0 },
    usage: zeroUsage(),
    paused: false,
    cancelRequests: new Map(),
    dead: new Map(),
    usageByHour: new Map(),
  };
}

/**
 * Whether the state knows a task id: unfinished, in the dead-letter view, or finished recently.
 * False does not mean new: a task finished before the last RECENTLY_DONE_KEEP is known by its
 * result only, which the runtime looks up (task-intake.ts) before it journals the id.
 */
export function isKnownTask(state: AgentState, taskId: string): boolean {
  return state.active.has(taskId) || isDoneTask(state, taskId);
}

/** Whether the state knows the task as finished with its result published (recently, or dead-lettered). */
export function isDoneTask(state: AgentState, taskId: string): boolean {
  return state.recentlyDone.has(taskId) || state.dead.has(taskId);
}

/** Tasks that ended (completed, failed, rejected, cancelled): each attempt of a retried task counts. */
export function finishedCount(state: AgentState): number {
  const { completed, failed, rejected, cancelled } = state.counts;
  return completed + failed + rejected + cancelled;
}

/** Records a published task as the newest done, forgetting the oldest past RECENTLY_DONE_KEEP. */
export function rememberDone(state: AgentState, taskId: string, phase: FinishedPhase): void {
  // A task retried from the dead-letter view comes last again.
  rememberNewest(state.recentlyDone, taskId, phase, RECENTLY_DONE_KEEP);
}

/**
 * Sets `key` as the newest entry of an insertion-ordered map (moved last if it was there) and
 * forgets the oldest ones past `keep`: the state's bounded records of task ids.
 */
export function rememberNewest<V>(map: Map<string, V>, key: string, value: V, keep: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= keep) break;
    map.delete(oldest);
  }
}

/** `YYYY-MM-DDTHH` of a timestamp: the key of `usageByHour`. */
export const HOUR_KEY_CHARS = 13; // 2026-11-25T17

/** Usage of the last 24 hours before `now` (whole hours: up to one hour more). */
export function usageLastDay(state: AgentState, now: Date): Usage {
  const since = new Date(now.getTime() - 24 * 3_600_000).toISOString().slice(0, HOUR_KEY_CHARS);
  let total = zeroUsage();
  for (const [hour, usage] of state.usageByHour) if (hour >= since) total = addUsage(total, usage);
  return total;
}

/** The newest step of a running task, when it is step `step`. */
export function currentStep(state: AgentState, taskId: string, step: number): ModelStep | undefined {
  const task = state.active.get(taskId);
  if (task === undefined || task.phase !== 'running') return undefined;
  const last = task.steps.at(-1);
  return last?.step === step ? last : undefined;
}

/** A tool call of a running task's current step that has no result yet. */
export function openToolCall(
  state: AgentState,
  taskId: string,
  step: number,
  toolUseId: string,
): ToolCall | undefined {
  const call = currentStep(state, taskId, step)?.tools.find((t) => t.toolUseId === toolUseId);
  return call?.result === undefined ? call : undefined;
}

export function isFinished(phase: TaskPhase): phase is FinishedPhase {
  return phase === 'completed' || phase === 'failed' || phase === 'rejected' || phase === 'cancelled';
}

import { z } from 'zod';
import { MetaSchema } from './task.ts';
import { ContentBlockSchema, ToolImageSchema } from './content.ts';
import { TaskErrorSchema } from './result.ts';
import {
  type AgentState,
  type DeadLetter,
  type FinishedPhase,
  RECENTLY_DONE_KEEP,
  type TaskState,
} from './state.ts';
import { TraceContextSchema } from './trace-context.ts';
import { UsageSchema } from './usage.ts';

/**
 * The version of what `evolve` builds. Bump it whenever the state's shape or the meaning of
 * an event in `evolve` changes: a snapshot of another version is then ignored (full replay),
 * never trusted, since it was folded by different rules.
 */
export const STATE_VERSION = 10;
/**
 * Version 9 kept every finished task id (`done`); version 10 keeps the newest ones only
 * (`recentlyDone`). A version-9 snapshot still decodes: its newest `done` ids become the
 * recent set, the rest are known by their results (as after version 10's own folding).
 */
const DONE_EVERY_ID_VERSION = 9;

const PhaseSchema = z.enum(['queued', 'running', 'waiting', 'completed', 'failed', 'rejected', 'cancelled']);
const FinishedPhaseSchema = z.enum(['completed', 'failed', 'rejected', 'cancelled']);

const TaskStateSchema = z.object({
  taskId: z.string(),
  input: z.string(),
  meta: MetaSchema.optional(),
  inboxSeq: z.number().int().nonnegative().optional(),
  receivedAt: z.string().optional(),
  trace: TraceContextSchema.optional(),
  phase: PhaseSchema,
  attempt: z.number().int().nonnegative(),
  specHash: z.string().optional(),
  memoryUpTo: z.number().int().nonnegative(),
  startedAt: z.string().optional(),
  steps: z.array(
    z.object({
      step: z.number().int().nonnegative(),
      model: z.string(),
      content: z.array(ContentBlockSchema),
      stopReason: z.string().nullable(),
      usage: UsageSchema,
      requestId: z.string().optional(),
      at: z.string(),
      tools: z.array(
        z.object({
          toolUseId: z.string(),
          name: z.string(),
          input: z.unknown(),
          key: z.string(),
          result: z
            .object({
              content: z.string(),
              isError: z.boolean(),
              images: z.array(ToolImageSchema).optional(),
            })
            .optional(),
          starts: z.number().int().optional(),
          approvals: z.number().int().optional(),
          approval: z
            .object({ state: z.enum(['pending', 'approved']), reason: z.string(), at: z.string() })
            .optional(),
          timer: z.object({ until: z.string(), setAt: z.string(), reason: z.string().optional() }).optional(),
          delegation: z
            .object({
              agent: z.string(),
              childTaskId: z.string(),
              input: z.string(),
              chain: z.array(z.string()),
              sent: z.boolean(),
            })
            .optional(),
        }),
      ),
    }),
  ),
  failedCalls: z.number().int().nonnegative(),
  retryAt: z.string().optional(),
  interruptions: z.number().int().nonnegative(),
  usage: UsageSchema,
  output: z.string().optional(),
  error: TaskErrorSchema.optional(),
  finishedAt: z.string().optional(),
  previousResultSeq: z.number().int().nonnegative().optional(),
});

/** An agent's state as plain JSON, tagged with the state version and its history position. */
export const SnapshotSchema = z.object({
  stateVersion: z.number().int(),
  agent: z.string(),
  seq: z.number().int().nonnegative(),
  active: z.array(TaskStateSchema),
  recentlyDone: z.array(z.tuple([z.string(), FinishedPhaseSchema])),
  memory: z.array(
    z.object({
      n: z.number().int().nonnegative(),
      taskId: z.string(),
      input: z.string(),
      output: z.string(),
    }),
  ),
  exchanges: z.number().int().nonnegative(),
  counts: z.object({
    received: z.number().int().nonnegative(),
    completed: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    rejected: z.number().int().nonnegative(),
    cancelled: z.number().int().nonnegative(),
  }),
  usage: UsageSchema,
  paused: z.boolean(),
  cancelRequests: z.array(z.tuple([z.string(), z.string()])),
  dead: z.array(z.object({ task: TaskStateSchema, resultSeq: z.number().int().nonnegative().optional() })),
  specHash: z.string().optional(),
  model: z.string().optional(),
  memorySummary: z.object({ text: z.string(), upTo: z.number().int().nonnegative() }).optional(),
  usageByHour: z.array(z.tuple([z.string(), UsageSchema])),
});
export type Snapshot = z.infer<typeof SnapshotSchema>;

/** The state as JSON. Taken synchronously, so it is the state at `state.seq` exactly. */
export function toSnapshot(state: AgentState): Snapshot {
  return JSON.parse(
    JSON.stringify({
      stateVersion: STATE_VERSION,
      agent: state.agent,
      seq: state.seq,
      active: [...state.active.values()],
      recentlyDone: [...state.recentlyDone.entries()],
      memory: state.memory,
      exchanges: state.exchanges,
      counts: state.counts,
      usage: state.usage,
      paused: state.paused,
      cancelRequests: [...state.cancelRequests.entries()],
      dead: [...state.dead.values()],
      specHash: state.specHash,
      model: state.model,
      memorySummary: state.memorySummary,
      usageByHour: [...state.usageByHour.entries()],
    }),
  ) as Snapshot;
}

/**
 * The state a snapshot holds, or a one-line reason it cannot be used (another state
 * version, another agent, not the expected shape). A caller that gets a reason replays
 * the whole history instead.
 */
export function fromSnapshot(data: unknown, agent: string): { state: AgentState } | { problem: string } {
  const version = (data as { stateVersion?: unknown } | null)?.stateVersion;
  if (version !== STATE_VERSION && version !== DONE_EVERY_ID_VERSION) {
    return {
      problem: `it was written by state version ${String(version)}, this code folds version ${STATE_VERSION}`,
    };
  }
  const parsed = SnapshotSchema.safeParse(version === STATE_VERSION ? data : fromVersion9(data));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      problem: `it does not match the snapshot schema at ${issue?.path.join('.') || '(top)'}: ${issue?.message}`,
    };
  }
  const s = parsed.data;
  if (s.agent !== agent) return { problem: `it belongs to agent "${s.agent}"` };
  return {
    state: {
      agent: s.agent,
      seq: s.seq,
      active: new Map(s.active.map((task) => [task.taskId, task as TaskState])),
      recentlyDone: new Map(s.recentlyDone as [string, FinishedPhase][]),
      memory: s.memory,
      exchanges: s.exchanges,
      counts: s.counts,
      usage: s.usage,
      paused: s.paused,
      cancelRequests: new Map(s.cancelRequests),
      dead: new Map(s.dead.map((letter) => [letter.task.taskId, letter as DeadLetter])),
      specHash: s.specHash,
      model: s.model,
      memorySummary: s.memorySummary,
      usageByHour: new Map(s.usageByHour),
    },
  };
}

/**
 * A version-9 snapshot in version 10's shape: of `done` (every finished id, in the order
 * their results were published) only the newest RECENTLY_DONE_KEEP stay, as version 10's
 * folding would have kept them. (After a dead-letter retry the two may differ by an old id
 * or two until the next results push it out: an id the state calls done is done either way.)
 */
function fromVersion9(data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const { done, ...rest } = data as { done?: unknown };
  const recentlyDone = Array.isArray(done) ? done.slice(-RECENTLY_DONE_KEEP) : done;
  return { ...rest, stateVersion: STATE_VERSION, recentlyDone };
}

/** Where two snapshots differ, as `path: a ≠ b` lines (empty when equal), for `replay --verify`. */
export function diffSnapshots(expected: unknown, actual: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 50) return out;
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) {
    if (!Object.is(expected, actual)) {
      out.push(`${path || '(top)'}: ${JSON.stringify(expected)} ≠ ${JSON.stringify(actual)}`);
    }
    return out;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) {
    out.push(`${path}: one is a list, the other is not`);
    return out;
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    diffSnapshots(
      (expected as Record<string, unknown>)[key],
      (actual as Record<string, unknown>)[key],
      path === '' ? key : `${path}.${key}`,
      out,
    );
  }
  return out;
}

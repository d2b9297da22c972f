import { z } from 'zod';
import { UsageSchema } from './usage.ts';

/** A task parked on a `delegate` call: it waits for another agent's sub-task. */
export const DelegationWaitSchema = z.object({
  /** The parent task, on this agent. */
  taskId: z.string(),
  /** The agent (or pool) doing the sub-task. */
  agent: z.string(),
  childTaskId: z.string(),
  /** On the child's inbox (false: journaled, not yet sent). */
  sent: z.boolean(),
  /** When the model asked for it (the reply's time). */
  since: z.string().optional(),
  /** The start of the sub-task's text. */
  input: z.string(),
});
export type DelegationWait = z.infer<typeof DelegationWaitSchema>;

/** One MCP server of an agent, as its process last reported it (with its lease renewal). */
export const McpServerStatusSchema = z.object({
  name: z.string(),
  /** starting, ready, restarting (failed to start or died; retried after a backoff) or stopped. */
  status: z.string(),
  /** Connections made after the first one. */
  restarts: z.number(),
  /** Failed attempts since the last successful connection. */
  failures: z.number(),
  tools: z.number(),
  lastError: z.string().optional(),
});
export type McpServerStatus = z.infer<typeof McpServerStatusSchema>;

/** The coordinator's answer on `spool.api.status`. */
export const AgentStatusSchema = z.object({
  name: z.string(),
  /** idle: holds no unfinished task; working: some task is queued or running; unknown: no history yet. */
  status: z.enum(['idle', 'working', 'unknown']),
  holder: z.string().optional(),
  holderAlive: z.boolean().optional(),
  inFlight: z.array(
    z.object({
      taskId: z.string(),
      phase: z.string(),
      attempt: z.number(),
      steps: z.number(),
      receivedAt: z.string().optional(),
      /** Parked on a durable timer (the `wait` tool): when it goes on, and what it waits for. */
      waitingUntil: z.string().optional(),
      waitingFor: z.string().optional(),
    }),
  ),
  /** Tool calls waiting for an operator (`spool approve` / `spool deny`). */
  approvals: z.array(
    z.object({
      taskId: z.string(),
      tool: z.string(),
      input: z.string(),
      reason: z.string(),
      requestedAt: z.string(),
    }),
  ),
  /** Tasks waiting for sub-tasks they delegated (older reports have none). */
  delegations: z.array(DelegationWaitSchema).default([]),
  /** Inbox messages not yet taken by the agent, and taken but not yet acknowledged (0 for a pool's replica: see the pool). */
  queued: z.number(),
  unacked: z.number(),
  counts: z.object({
    received: z.number(),
    completed: z.number(),
    failed: z.number(),
    rejected: z.number(),
    cancelled: z.number(),
  }),
  /** Paused by an operator (`spool pause`): takes tasks into its queue, starts none. */
  paused: z.boolean(),
  usage: UsageSchema,
  /** What all its model calls cost, and the last 24 hours of it, in USD (when the model's price is known). */
  costUsd: z.number().optional(),
  costLast24hUsd: z.number().optional(),
  historySeq: z.number(),
  /** The agent's MCP servers as the process holding it reports them (absent: none, or no holder). */
  mcpServers: z.array(McpServerStatusSchema).optional(),
  /** Results on `spool.results.<agent>.>` (what other agents and clients can read), and the newest one's time. */
  results: z.object({ published: z.number(), lastAt: z.string().optional() }),
});
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

const CountsSchema = z.object({
  received: z.number(),
  completed: z.number(),
  failed: z.number(),
  rejected: z.number(),
  cancelled: z.number(),
});

/** An agent pool (`replicas` > 1): replicas sharing one inbox (`inbox-<pool>`) and one results subject. */
export const PoolStatusSchema = z.object({
  name: z.string(),
  /** working: a replica is working; idle: none is; unknown: no replica has a history yet and nothing is queued. */
  status: z.enum(['idle', 'working', 'unknown']),
  /** Each replica as an agent (its own history, lease, counts); their results count per replica. */
  replicas: z.array(AgentStatusSchema),
  /** The shared inbox: messages no replica has taken, and taken but not yet acknowledged. */
  queued: z.number(),
  unacked: z.number(),
  /** The replicas' counts added up. */
  counts: CountsSchema,
  /** Results on `spool.results.<pool>.>` (published under the pool's name by any replica). */
  results: z.object({ published: z.number(), lastAt: z.string().optional() }),
});
export type PoolStatus = z.infer<typeof PoolStatusSchema>;

/**
 * A keyed agent (`keyed` in its config): its instances as the ownership records and its
 * history stream show them, and the processes hosting it. Instances are not folded one by one
 * (there may be thousands): `spool replay <agent>/<key>` shows one.
 */
export const KeyedAgentStatusSchema = z.object({
  name: z.string(),
  /** working: its shared inbox holds messages or some instance is active; idle: neither; unknown: no instance and no host yet. */
  status: z.enum(['idle', 'working', 'unknown']),
  /** Processes hosting it whose lease lives (`alive`), and those whose lease expired and whose instances are not all adopted yet. */
  hosts: z.object({ alive: z.number(), names: z.array(z.string()), expired: z.number() }),
  instances: z.object({
    /** Owned by a live host (in memory there). */
    active: z.number(),
    /** With a history but not active (their next message, or a result they wait for, activates them). */
    passivated: z.number(),
    /** Keys with a history in SPOOL_KEYED (a forgotten key keeps its tombstone). */
    known: z.number(),
    /** Owned by a host whose lease expired: adopted by a live host on its next scan or message. */
    orphaned: z.number(),
    /** Passivated ones waiting for a result (their wake records). */
    waiting: z.number(),
  }),
  /** The agent's shared inbox (every key): messages no host has taken, and taken but not yet acknowledged. */
  queued: z.number(),
  unacked: z.number(),
  /** Results on `spool.results.<agent>.>` (every key), and the newest one's time. */
  results: z.object({ published: z.number(), lastAt: z.string().optional() }),
});
export type KeyedAgentStatus = z.infer<typeof KeyedAgentStatusSchema>;

/** One workflow run by the coordinator, with each step's progress. */
export const WorkflowProgressSchema = z.object({
  id: z.string(),
  workflow: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled', 'rejected']),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  steps: z.array(
    z.object({
      name: z.string(),
      agent: z.string(),
      status: z.enum(['pending', 'running', 'completed', 'failed']),
      /** The step it maps over (one task per item of that step's output). */
      map: z.string().optional(),
      /** Its tasks (items of a map step; 1 otherwise), by the current attempt of each. */
      tasks: z.object({ done: z.number(), running: z.number(), failed: z.number(), total: z.number() }),
      /** The highest attempt of any of its tasks (0: none dispatched yet). */
      attempts: z.number(),
    }),
  ),
});
export type WorkflowProgress = z.infer<typeof WorkflowProgressSchema>;

/** An agent's (or pool's) spend over the last 24 hours against its daily budget. */
export const SpendStatusSchema = z.object({
  agent: z.string(),
  /** Settled: the larger of its histories' count and the fleet's shared ledger. */
  spentTodayUsd: z.number(),
  /** Held by its calls in flight (their worst case), settled when they answer. */
  heldUsd: z.number(),
  /** `budget.dailyCostUsd`, and the share of it spent (1: reached). */
  dailyCostUsd: z.number().optional(),
  share: z.number().optional(),
});
export type SpendStatus = z.infer<typeof SpendStatusSchema>;

/** One shared rate limit (`limits`), as its bucket in NATS says now. */
export const RateLimitStatusSchema = z.object({
  key: z.string(),
  source: z.string(),
  limit: z.object({
    requestsPerMinute: z.number().optional(),
    inputTokensPerMinute: z.number().optional(),
    outputTokensPerMinute: z.number().optional(),
  }),
  paused: z.boolean(),
  pausedUntil: z.string().optional(),
  /** Per limited dimension, the share of its burst in use (1: calls wait for the refill). */
  use: z.object({
    requests: z.number().optional(),
    input: z.number().optional(),
    output: z.number().optional(),
  }),
  /** Calls waiting for it, in every process. */
  waiting: z.number(),
});
export type RateLimitStatus = z.infer<typeof RateLimitStatusSchema>;

/** A schedule's next fire and its last one, for `spool status` (the whole view: `spool schedule list`). */
export const ScheduleStatusSchema = z.object({
  name: z.string(),
  target: z.string(),
  paused: z.boolean(),
  nextFireAt: z.string().optional(),
  lastFire: z.object({ fireId: z.string(), status: z.string(), firedAt: z.string() }).optional(),
  open: z.number(),
  warning: z.string().optional(),
});
export type ScheduleStatus = z.infer<typeof ScheduleStatusSchema>;

export const StatusReportSchema = z.object({
  generatedAt: z.string(),
  /** The coordinator's schedules, soonest next fire first. */
  schedules: z.array(ScheduleStatusSchema).default([]),
  /** Spend today per agent and pool, with its daily budget (older reports have none). */
  spend: z.array(SpendStatusSchema).default([]),
  rateLimits: z.array(RateLimitStatusSchema).default([]),
  /** Agents that are not pools (a pool's replicas are under `pools`). */
  agents: z.array(AgentStatusSchema),
  pools: z.array(PoolStatusSchema).default([]),
  /** Keyed agents, with their instances (absent in reports of coordinators before keyed agents). */
  keyed: z.array(KeyedAgentStatusSchema).optional(),
  /** Workflows in flight, then the last few finished, newest first. */
  workflows: z.array(WorkflowProgressSchema).default([]),
  /** Every workflow in the coordinator's history, by status. */
  workflowCounts: z
    .object({
      running: z.number(),
      completed: z.number(),
      failed: z.number(),
      cancelled: z.number(),
      rejected: z.number(),
    })
    .optional(),
  /** Over agents and pool replicas. */
  totals: z.object({
    tasks: z.number(),
    inFlight: z.number(),
    queued: z.number(),
    completed: z.number(),
    failed: z.number(),
    rejected: z.number(),
    cancelled: z.number(),
  }),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;

/** One failed task in the dead-letter view (`spool.api.dlq`). */
export const DeadLetterEntrySchema = z.object({
  agent: z.string(),
  /** A keyed agent's instance: its key (`agent` is the keyed agent's name; task ids are per key). */
  key: z.string().optional(),
  taskId: z.string(),
  error: z.object({ code: z.string(), message: z.string() }),
  /** Attempts made so far (a retry from the view is the next one). */
  attempts: z.number(),
  failedAt: z.string().optional(),
  receivedAt: z.string().optional(),
  /** The start of the task's input. */
  input: z.string(),
  usage: UsageSchema,
});
export type DeadLetterEntry = z.infer<typeof DeadLetterEntrySchema>;

export const DeadLetterReportSchema = z.object({
  generatedAt: z.string(),
  entries: z.array(DeadLetterEntrySchema),
});
export type DeadLetterReport = z.infer<typeof DeadLetterReportSchema>;

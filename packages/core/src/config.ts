import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from './config-issues.ts';
import { KeyedSchema } from './keyed.ts';
import { DelegationSchema, describePeers, validateDelegation } from './delegation.ts';
import { ErrorCode, ValidationError } from './errors.ts';
import { McpServersSchema, resolveMcpServers, validateMcpServers } from './mcp-servers.ts';
import { NamespaceSchema, NatsConfigSchema } from './nats-config.ts';
import { MAX_REPLICAS, validatePools } from './pool.ts';
import { PriceSchema, priceFor } from './pricing.ts';
import { DEFAULT_RETRY } from './retry-policy.ts';
import { ScheduleNameSchema, ScheduleSchema, validateSchedules } from './schedule/definition.ts';
import { AGENT_NAME_PATTERN, COORDINATOR } from './subjects.ts';
import { TimersSchema, validateTimers } from './timers.ts';
import { type ToolDefinition, ToolSchema, toolDefinitions } from './tools.ts';
import { WorkflowNameSchema, WorkflowSchema } from './workflow/definition.ts';
import { validateWorkflows } from './workflow/validate.ts';
import { LimitsSchema } from './rate-limits.ts';

export const DEFAULT_MAX_TOKENS = 1024;
export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_LEASE_TTL_MS = 10_000;
/** A model call that has not answered after this long is abandoned and retried. */
export const DEFAULT_MODEL_TIMEOUT_MS = 120_000;
/** Resumes of one attempt after its writer stopped mid-task, before it fails as a crash loop. */
export const DEFAULT_MAX_INTERRUPTIONS = 10;
/** Events between snapshots: recovery replays at most about this many after the newest one. */
export const DEFAULT_SNAPSHOT_EVERY = 1_000;
/** Finished exchanges carried into each request by default (compaction comes later). */
export const DEFAULT_MEMORY_EXCHANGES = 20;
/** Characters of memory carried into one request at most, oldest dropped first. */
export const DEFAULT_MEMORY_CHARS = 60_000;

/** The least `max_tokens` a call over a budget is lowered to before it is refused instead. */
export const DEFAULT_MIN_OUTPUT_TOKENS = 256;

/** How long a holder's lease lives without renewal (an agent's, or the coordinator's). */
const LeaseTtlSchema = z
  .number()
  .int('must be a whole number')
  .min(1_000, 'must be at least 1000 (ms)')
  .max(600_000, 'must be at most 600000 (ms)')
  .default(DEFAULT_LEASE_TTL_MS);

const AgentSpecFields = z.strictObject({
  instructions: z.string().trim().min(1, 'must be a non-empty string (the system prompt)'),
  model: z.string().trim().min(1, 'must name a Claude model, for example "claude-sonnet-4-6"'),
  /** One line on what the agent does: agents that may delegate to it see it in their `delegate` tool. */
  description: z.string().trim().min(1, 'must be a non-empty string (or left out)').max(1_000).optional(),
  /** The agent gets the built-in `delegate` tool: it may hand sub-tasks to these agents and wait for them. */
  delegation: DelegationSchema.optional(),
  /** The agent gets the built-in `wait` tool: a task may continue later (a durable timer), up to `maxWait`. */
  timers: TimersSchema.optional(),
  maxTokens: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(128_000, 'must be at most 128000')
    .default(DEFAULT_MAX_TOKENS),
  concurrency: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(256, 'must be at most 256')
    .default(DEFAULT_CONCURRENCY),
  /** A standby takes over this long after the holder stops renewing (it died or hung). */
  leaseTtlMs: LeaseTtlSchema,
  /** Tools the model may call (a spool.config.ts: `defineTool`). */
  tools: z
    .array(ToolSchema)
    .default([])
    .refine((tools) => new Set(tools.map((t) => t.name)).size === tools.length, 'tool names must be unique'),
  /** Tools from MCP servers (mcp-servers.ts), offered as `mcp__<server>__<tool>`. */
  mcpServers: McpServersSchema,
  /** Per-task and per-agent spending limits; a task that would pass one fails with budget_exceeded. */
  budget: z
    .strictObject({
      maxToolCalls: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
      /** Input (cache included) plus output tokens of one task. */
      maxTokens: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
      maxCostUsd: z.number().positive('must be more than 0').optional(),
      /** The agent's spend over the last 24 hours (all its processes and replicas together). */
      dailyCostUsd: z.number().positive('must be more than 0').optional(),
      /**
       * A call that would pass a limit only by its `max_tokens` is made with `max_tokens` lowered
       * to what the limit leaves, down to this many; below it, the call is refused.
       */
      minOutputTokens: z
        .number()
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .default(DEFAULT_MIN_OUTPUT_TOKENS),
    })
    .default({ minOutputTokens: DEFAULT_MIN_OUTPUT_TOKENS }),
  /** USD per million tokens by model id or family prefix, over the built-in list prices. */
  prices: z.record(z.string(), PriceSchema).default({}),
  /**
   * Results of other agents that arrive as tasks: each message on `subject` (under
   * `spool.results.>`) becomes a task with id `<name>-<stream seq>` and input rendered from
   * `input` (`{{output}}`, `{{taskId}}`, `{{agent}}`, `{{status}}`, `{{subject}}`).
   */
  subscriptions: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be 1-32 lower-case letters, digits and dashes'),
        subject: z
          .string()
          .regex(
            /^spool\.results\.[a-z0-9-]+\.(>|[A-Za-z0-9_:=@+-]+)$/,
            'must be spool.results.<agent>.> (or one task id)',
          ),
        input: z.string().min(1).default('{{output}}'),
        /** Skip results that are not `completed` (default true). */
        onlyCompleted: z.boolean().default(true),
      }),
    )
    .default([])
    .refine(
      (subs) => new Set(subs.map((s) => s.name)).size === subs.length,
      'subscription names must be unique',
    ),
  /** Model calls per task (the tool loop's limit). */
  maxTurns: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000).default(20),
  /** Snapshot the state every this many history events (0: never; recovery then replays everything). */
  snapshotEvery: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 (off) or more')
    .max(1_000_000, 'must be at most 1000000')
    .default(DEFAULT_SNAPSHOT_EVERY),
  /** Retries of a failed model call (429, 529, 5xx, timeouts): the policy of retry-policy.ts. */
  retry: z
    .strictObject({
      maxAttempts: z
        .number()
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(100)
        .default(DEFAULT_RETRY.maxAttempts),
      initialDelayMs: z
        .number()
        .int('must be a whole number')
        .min(0)
        .max(600_000)
        .default(DEFAULT_RETRY.initialDelayMs),
      maxDelayMs: z
        .number()
        .int('must be a whole number')
        .min(0)
        .max(3_600_000)
        .default(DEFAULT_RETRY.maxDelayMs),
    })
    .default(DEFAULT_RETRY),
  modelTimeoutMs: z
    .number()
    .int('must be a whole number')
    .min(1_000, 'must be at least 1000 (ms)')
    .max(3_600_000, 'must be at most 3600000 (ms)')
    .default(DEFAULT_MODEL_TIMEOUT_MS),
  /** A task attempt running longer than this fails with deadline_exceeded (default: no deadline). */
  taskDeadlineMs: z
    .number()
    .int('must be a whole number')
    .min(1_000, 'must be at least 1000 (ms)')
    .optional(),
  /** On SIGTERM, the model calls in flight get this long to finish before they are abandoned (they resume on restart). */
  shutdownGraceMs: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 or more (ms)')
    .max(600_000, 'must be at most 600000 (ms)')
    .default(10_000),
  maxInterruptions: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1_000)
    .default(DEFAULT_MAX_INTERRUPTIONS),
  /** An agent pool: N actors `<name>-1 … <name>-N` sharing the inbox; a task goes to one of them. */
  replicas: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(MAX_REPLICAS, `must be at most ${MAX_REPLICAS}`)
    .default(1),
  /**
   * A keyed agent: one instance per key (`spool.inbox.<agent>.<key>`), each with its own history
   * and memory, activated by its first message and passivated when idle (keyed.ts).
   */
  keyed: KeyedSchema,
  /**
   * An inbox message not acknowledged this long is delivered again (to a sibling, in a pool).
   * Read when the inbox consumer is created; the running agent keeps its messages alive meanwhile.
   */
  ackWaitMs: z
    .number()
    .int('must be a whole number')
    .min(1_000, 'must be at least 1000 (ms)')
    .max(3_600_000, 'must be at most 3600000 (ms)')
    .default(30_000),
  memory: z
    .strictObject({
      exchanges: z.number().int().min(0).max(10_000).default(DEFAULT_MEMORY_EXCHANGES),
      maxChars: z.number().int().min(0).default(DEFAULT_MEMORY_CHARS),
      /** The model's context window in tokens (Claude models: 200 000). */
      contextWindow: z.number().int().min(1_000).default(200_000),
      /** Compact when a request would pass this share of the context window (0: never). */
      compactAt: z.number().min(0).max(1).default(0.8),
      /** Exchanges kept word for word when older ones are summarized. */
      keepRecent: z.number().int().min(0).max(1_000).default(4),
    })
    .default({
      exchanges: DEFAULT_MEMORY_EXCHANGES,
      maxChars: DEFAULT_MEMORY_CHARS,
      contextWindow: 200_000,
      compactAt: 0.8,
      keepRecent: 4,
    }),
});
/** An agent's spec; a cost limit needs a price for its model. */
export const AgentSpecSchema = AgentSpecFields.refine(
  (spec) =>
    (spec.budget.maxCostUsd === undefined && spec.budget.dailyCostUsd === undefined) ||
    priceFor(spec.model, spec.prices) !== undefined,
  {
    message:
      'a cost limit needs the price of the model: add "prices": {"<model>": {"inputPerMTok": …, "outputPerMTok": …}}',
    path: ['budget'],
  },
);
export type AgentSpec = z.infer<typeof AgentSpecSchema>;
export type AgentSpecInput = z.input<typeof AgentSpecSchema>;

const AgentNameSchema = z
  .string()
  .regex(AGENT_NAME_PATTERN, 'agent names use lower-case letters, digits and dashes only')
  .refine((name) => name !== COORDINATOR, `"${COORDINATOR}" is reserved for the coordinator's history`);

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    agents: z
      .record(AgentNameSchema, AgentSpecSchema)
      .refine((agents) => Object.keys(agents).length > 0, 'must define at least one agent'),
    /** Multi-step workflows the coordinator runs over the agents (see workflow/definition.ts). */
    workflows: z.record(WorkflowNameSchema, WorkflowSchema).default({}),
    /** The coordinator process: a standby takes over this long after the holder stops renewing. */
    coordinator: z
      .strictObject({
        leaseTtlMs: LeaseTtlSchema,
        /** Events between snapshots of the workflow state (0: none). */
        snapshotEvery: z.number().int().min(0).default(DEFAULT_SNAPSHOT_EVERY),
      })
      .default({ leaseTtlMs: DEFAULT_LEASE_TTL_MS, snapshotEvery: DEFAULT_SNAPSHOT_EVERY }),
    /** How to reach NATS (the environment wins; see nats-config.ts). */
    nats: NatsConfigSchema.default({}),
    /** Prefixes every subject and suffixes every stream and bucket name (SPOOL_NAMESPACE wins). */
    namespace: NamespaceSchema.optional(),
    /** MCP servers agents share: an agent's `mcpServers.<name>` without command or url names one. */
    mcpServers: McpServersSchema,
    /** Tasks and workflow runs the coordinator starts on a clock (see schedule/definition.ts). */
    schedules: z.record(ScheduleNameSchema, ScheduleSchema).default({}),
    /** Rate limits shared by every process on this NATS (rate-limits.ts). */
    limits: LimitsSchema,
  })
  .superRefine(validateDelegation)
  .superRefine(validatePools)
  .superRefine(validateWorkflows)
  .superRefine(validateMcpServers)
  .superRefine(validateSchedules)
  .superRefine(validateTimers)
  .transform(describePeers)
  .transform(resolveMcpServers);
export type SpoolConfig = z.infer<typeof ConfigSchema>;
export type SpoolConfigInput = z.input<typeof ConfigSchema>;

/**
 * Validates a parsed config. Throws a ValidationError whose message is one line naming
 * the file, the field and the fix, e.g.
 * `spool.config.json: agents.analyst.maxTokens: must be at least 1 (got 0)`.
 */
export function parseConfig(value: unknown, source = 'config'): SpoolConfig {
  const parsed = ConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ValidationError(ErrorCode.InvalidConfig, `${source}: ${formatIssues(parsed.error, value)}`);
}

/**
 * A stable hash of what shapes an agent's behaviour, recorded with each task. `mcpTools` are
 * the tools its MCP servers listed at start (with their safety): a server whose tools changed
 * makes a new hash, journaled as a spec change. Without MCP tools the hash is as before.
 */
export function specHash(spec: AgentSpec, mcpTools: readonly McpToolHashEntry[] = []): string {
  const canonical = JSON.stringify({
    instructions: spec.instructions,
    model: spec.model,
    maxTokens: spec.maxTokens,
    memory: spec.memory,
    ...(spec.tools.length === 0 ? {} : { tools: toolDefinitions(spec.tools), maxTurns: spec.maxTurns }),
    ...(spec.delegation === undefined ? {} : { delegation: spec.delegation, maxTurns: spec.maxTurns }),
    ...(spec.timers === undefined ? {} : { timers: spec.timers, maxTurns: spec.maxTurns }),
    ...(mcpTools.length === 0 ? {} : { mcpTools, maxTurns: spec.maxTurns }),
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** An MCP tool as it enters the spec hash: its definition and the safety it runs with. */
export interface McpToolHashEntry extends ToolDefinition {
  readonly idempotent: boolean;
  readonly requiresApproval: boolean;
}

/** Typed helper for a `spool.config.ts`: `export default defineConfig({ agents: { … } })`. */
export function defineConfig(config: SpoolConfigInput): SpoolConfigInput {
  return config;
}

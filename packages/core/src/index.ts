// @spool/core: what users of Spool need. The sibling packages use `@spool/core/internal`.

// Config: agents, tools, workflows.
export type { AgentSpec, AgentSpecInput, SpoolConfig, SpoolConfigInput } from './config.ts';
export { AgentSpecSchema, ConfigSchema, defineConfig, parseConfig } from './config.ts';
export { CONFIG_SCHEMA_PATH, configJsonSchema } from './config-json-schema.ts';
export type { McpServerSpec } from './mcp-servers.ts';
export type { NatsConfig } from './nats-config.ts';
export { NAMESPACE_PATTERN, NamespaceSchema, NatsConfigSchema } from './nats-config.ts';
export type { Tool, ToolContext } from './tools.ts';
export { defineTool } from './tools.ts';
export type { Price } from './pricing.ts';
export { PriceSchema } from './pricing.ts';
export type { RetryPolicy } from './retry-policy.ts';
export { DEFAULT_RETRY } from './retry-policy.ts';
export type { WorkflowDef, WorkflowDefInput, WorkflowStep } from './workflow/definition.ts';
export { WORKFLOW_ID_PATTERN, WorkflowSchema } from './workflow/definition.ts';

// Messages and subjects: the public contract on NATS.
export type { TaskMessage } from './task.ts';
export { MAX_INPUT_CHARS, TaskMessageSchema } from './task.ts';
export type { ControlMessage } from './control.ts';
export { ControlMessageSchema } from './control.ts';
export { AGENT_NAME_PATTERN, Buckets, COORDINATOR, Streams, subjects, TASK_ID_PATTERN } from './subjects.ts';
export { KEY_PATTERN } from './keyed.ts';
export type { Namespacing } from './namespacing.ts';
export { namespacing } from './namespacing.ts';

// Results and the coordinator's reports.
export type { TaskError, TaskResult } from './result.ts';
export { TaskErrorSchema, TaskResultSchema, TaskStatus } from './result.ts';
export type { Usage } from './usage.ts';
export { UsageSchema } from './usage.ts';
export type {
  AgentStatus,
  DeadLetterEntry,
  DeadLetterReport,
  DelegationWait,
  KeyedAgentStatus,
  McpServerStatus,
  PoolStatus,
  RateLimitStatus,
  SpendStatus,
  StatusReport,
  WorkflowProgress,
} from './status.ts';
export {
  AgentStatusSchema,
  DeadLetterEntrySchema,
  DeadLetterReportSchema,
  DelegationWaitSchema,
  KeyedAgentStatusSchema,
  McpServerStatusSchema,
  PoolStatusSchema,
  RateLimitStatusSchema,
  SpendStatusSchema,
  StatusReportSchema,
  WorkflowProgressSchema,
} from './status.ts';

// Events: what the histories hold.
export type { AgentEvent, AgentEventType } from './agent-events.ts';
export { AgentEventSchema } from './agent-events.ts';
export type { CoordinatorEvent, CoordinatorEventType } from './workflow/events.ts';
export { CoordinatorEventSchema } from './workflow/events.ts';
export type { Commit, EventOf, HistoryEvent, HistoryEventType, StoredCommit } from './history.ts';
export {
  CommitSchema,
  HistoryEventSchema,
  isAgentEvent,
  isCoordinatorEvent,
  parseAgentCommit,
  parseCommit,
  parseCoordinatorCommit,
  taskIdOf,
} from './history.ts';
export type { ContentBlock } from './content.ts';

// Errors: a stable `code` each; branch on the class or the code, never the message.
export {
  CommitTooLargeError,
  ConcurrencyError,
  ErrorCode,
  RetryableError,
  SpoolError,
  TerminalError,
  ValidationError,
} from './errors.ts';
export type { CatchUpPolicy, OverlapPolicy, ScheduleInput, ScheduleSpec } from './schedule/definition.ts';
export { ScheduleSchema } from './schedule/definition.ts';
export type { ScheduleView } from './schedule/view.ts';
export type { ScheduleStatus } from './status.ts';
export { ScheduleStatusSchema } from './status.ts';

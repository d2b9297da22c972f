// @spool/core/internal: everything the sibling packages (and the CLI, tests, bench) need of the
// core, the public entry's names included. Users import `@spool/core` (index.ts).
export type { AgentSpec, AgentSpecInput, SpoolConfig, SpoolConfigInput } from './config.ts';
export { CONFIG_SCHEMA_PATH, configJsonSchema } from './config-json-schema.ts';
export type { Namespacing } from './namespacing.ts';
export { namespacing } from './namespacing.ts';
export type { NatsConfig } from './nats-config.ts';
export { NAMESPACE_PATTERN, NamespaceSchema, NatsConfigSchema } from './nats-config.ts';
export {
  AgentSpecSchema,
  ConfigSchema,
  defineConfig,
  DEFAULT_CONCURRENCY,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_MAX_TOKENS,
  DEFAULT_MEMORY_CHARS,
  DEFAULT_MAX_INTERRUPTIONS,
  DEFAULT_MEMORY_EXCHANGES,
  DEFAULT_MODEL_TIMEOUT_MS,
  DEFAULT_SNAPSHOT_EVERY,
  parseConfig,
  specHash,
} from './config.ts';
export type { McpToolHashEntry } from './config.ts';
export { formatIssues } from './config-issues.ts';
export type { McpAnnotations, McpServerSpec, McpToolSafety } from './mcp-servers.ts';
export {
  DEFAULT_MCP_TIMEOUT_MS,
  MCP_SERVER_NAME_PATTERN,
  MCP_TOOL_PREFIX,
  McpServerSpecSchema,
  mcpToolName,
  mcpToolSafety,
} from './mcp-servers.ts';
export type { ContentBlock, Message, ToolImage } from './content.ts';
export { ContentBlockSchema, MessageSchema, StopReason, textOf, ToolImageSchema } from './content.ts';
export type { Command, ModelReply } from './commands.ts';
export type { Delegation, DelegationOptions } from './delegation.ts';
export {
  childMeta,
  childTaskId,
  DELEGATE_TOOL,
  DelegationSchema,
  delegateTool,
  parentChain,
} from './delegation.ts';
export type { DelegationEffect, MarkDelegationSent } from './delegation-decisions.ts';
export { delegationOutcome, holdsSlot, isParked } from './delegation-decisions.ts';
export { decide } from './decide.ts';
export { MAX_REPLICAS, replicaNames, replicaOf, validatePools } from './pool.ts';
export type { Failure, RetryDecision, RetryPolicy } from './retry-policy.ts';
export { DEFAULT_RETRY, decideRetry, IO_RETRY_MS, UNKNOWN_OUTCOME_RETRY } from './retry-policy.ts';
export {
  CommitTooLargeError,
  ConcurrencyError,
  ensureError,
  ErrorCode,
  RetryableError,
  SpoolError,
  TerminalError,
  ValidationError,
} from './errors.ts';
export type { AgentEvent, AgentEventType } from './agent-events.ts';
export { AgentEventSchema, eventIds } from './agent-events.ts';
export type { Commit, EventOf, HistoryEvent, HistoryEventType, StoredCommit } from './history.ts';
export {
  CommitSchema,
  commitId,
  HistoryEventSchema,
  isAgentEvent,
  isCoordinatorEvent,
  commitSchemaVersion,
  parseAgentCommit,
  parseCommit,
  parseCoordinatorCommit,
  taskIdOf,
} from './history.ts';
export type { Effect, NextAt, NextOptions } from './next.ts';
export { next, nextAt, resultOf, startableNow } from './next.ts';
export { buildMessages, compactionPlan, memoryWindow } from './request.ts';
export type { TaskError, TaskResult } from './result.ts';
export { TaskErrorSchema, TaskResultSchema, TaskStatus } from './result.ts';
export type {
  AgentState,
  DelegationCall,
  Exchange,
  FinishedPhase,
  ModelStep,
  TaskPhase,
  TaskState,
} from './state.ts';
export {
  finishedCount,
  initialState,
  isDoneTask,
  isFinished,
  isKnownTask,
  MEMORY_KEEP,
  openToolCall,
  RECENTLY_DONE_KEEP,
  usageLastDay,
} from './state.ts';
export { applyCommit, cloneState, evolve } from './evolve.ts';
export {
  AGENT_NAME_PATTERN,
  agentOfHistorySubject,
  Buckets,
  COORDINATOR,
  controlConsumerName,
  inboxConsumerName,
  Streams,
  subjects,
  TASK_ID_PATTERN,
} from './subjects.ts';
export type { ApprovalWait } from './approvals.ts';
export { pendingApprovals } from './approvals.ts';
export type { KeyedSettings } from './keyed.ts';
export {
  awaitedResults,
  firstTimerDue,
  isPassivatable,
  DEFAULT_IDLE_MS,
  DEFAULT_MAX_ACTIVE,
  instanceName,
  KEY_PATTERN,
  KeyedSchema,
  keyOfSubject,
  keyProblem,
  parseAddress,
} from './keyed.ts';
export type { ParsedTask, TaskMessage } from './task.ts';
export { MAX_INPUT_CHARS, parseTaskMessage, TaskMessageSchema } from './task.ts';
export type { Usage } from './usage.ts';
export { addUsage, UsageSchema, zeroUsage } from './usage.ts';
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
export type { Snapshot } from './snapshot.ts';
export { diffSnapshots, fromSnapshot, SnapshotSchema, STATE_VERSION, toSnapshot } from './snapshot.ts';
export type { ControlMessage } from './control.ts';
export { ControlMessageSchema, parseControlMessage } from './control.ts';
export type { Tool, ToolContext, ToolDefinition } from './tools.ts';
export { defineTool, ToolSchema, toolDefinitions } from './tools.ts';
export type { Price } from './pricing.ts';
export { costOf, DEFAULT_PRICES, PriceSchema, priceFor, totalTokens } from './pricing.ts';
// Workflows (the coordinator's pure core): config, templates, events, state, decide, next.
export type { WorkflowDef, WorkflowDefInput, WorkflowStep } from './workflow/definition.ts';
export {
  WORKFLOW_ID_PATTERN,
  WORKFLOW_NAME_PATTERN,
  WorkflowNameSchema,
  WorkflowSchema,
  WorkflowStepSchema,
} from './workflow/definition.ts';
export { validateWorkflows } from './workflow/validate.ts';
export { dependencies, finalSteps, findCycle, topologicalOrder } from './workflow/graph.ts';
export type { TemplatePart, TemplateValues } from './workflow/template.ts';
export { parseArray, parseTemplate, renderTemplate, templateRefs } from './workflow/template.ts';
export type { CoordinatorEvent, CoordinatorEventType } from './workflow/events.ts';
export { CoordinatorEventSchema, workflowEventIds, workflowTaskId } from './workflow/events.ts';
export type {
  CoordinatorState,
  StepRun,
  StepStatus,
  TaskRef,
  WorkflowRun,
  WorkflowStatus,
  WorkflowTask,
  WorkflowTaskStatus,
} from './workflow/state.ts';
export {
  applyCoordinatorCommit,
  cloneCoordinatorState,
  evolveCoordinator,
  FINISHED_RUNS_KEPT,
  findTask,
  initialCoordinatorState,
  isStepFinished,
} from './workflow/state.ts';
export {
  COORDINATOR_STATE_VERSION,
  coordinatorFromSnapshot,
  coordinatorToSnapshot,
} from './workflow/snapshot.ts';
export type { CoordinatorCommand } from './workflow/decide.ts';
export { decideCoordinator } from './workflow/decide.ts';
export { workflowOutput } from './workflow/advance.ts';
export type { CoordinatorEffect, WorkflowStepView, WorkflowTaskView, WorkflowView } from './workflow/next.ts';
export { nextCoordinator, workflowResult, workflowView } from './workflow/next.ts';
export type { ActorPhase, ActorProbe, ModelCallObservation, ModelOperation, Observer } from './observer.ts';
export { noObserver } from './observer.ts';
export type { TraceContext } from './trace-context.ts';
export { TraceContextSchema, traceContextOf } from './trace-context.ts';
export type { ScheduleControl } from './schedule/control.ts';
export { parseScheduleControl, ScheduleControlSchema } from './schedule/control.ts';
export type { ScheduleCommand, ScheduleEvent } from './schedule/decide.ts';
export { backfillTimes, MAX_BACKFILL, renderScheduleInput } from './schedule/decide.ts';
export type { CatchUpPolicy, OverlapPolicy, ScheduleInput, ScheduleSpec } from './schedule/definition.ts';
export {
  cronProblem,
  isTimeZone,
  SCHEDULE_NAME_PATTERN,
  ScheduleSchema,
  validateSchedules,
} from './schedule/definition.ts';
export { formatDuration, parseDuration } from './schedule/duration.ts';
export type { FireKind, SkipReason } from './schedule/events.ts';
export type { ScheduleEffect } from './schedule/next.ts';
export type { PlanStep } from './schedule/plan.ts';
export { dueAt, MAX_OPEN_FIRES, ON_TIME_MS, planSchedule } from './schedule/plan.ts';
export type { ScheduleFire, ScheduleState } from './schedule/state.ts';
export { FIRES_KEPT, openFires } from './schedule/state.ts';
export { fireId, jitterOf, nextTimeAfter, timesBetween, timeToken, triggerId } from './schedule/times.ts';
export type { ScheduleFireView, ScheduleView } from './schedule/view.ts';
export { pileUp, schedulesView, scheduleView } from './schedule/view.ts';
export type { ScheduleStatus } from './status.ts';
export { ScheduleStatusSchema } from './status.ts';
export type { TimerEffect, TimerOptions, Timers } from './timers.ts';
export {
  DEFAULT_MAX_WAIT_MS,
  TimersSchema,
  timerOutcome,
  timerWakeAt,
  WAIT_TOOL,
  waitTool,
} from './timers.ts';
export type { CallPlan, CallPlanInput, CallRefusal, DailySpend, SpendLimit } from './call-budget.ts';
export {
  callLimits,
  ESTIMATE_MARGIN,
  estimateInputTokens,
  planCall,
  usd,
  worstCostUsd,
} from './call-budget.ts';
export type { SpendLedger } from './spend-ledger.ts';
export { addHold, emptyLedger, ledgerSpend, parseLedger, settleHold } from './spend-ledger.ts';
export type {
  AppliedRateLimit,
  Limits,
  RateBucket,
  RateCost,
  RateLimit,
  RateLimitView,
  TakeOutcome,
} from './rate-limits.ts';
export {
  capacityOf,
  fullBucket,
  giveBack,
  LimitsSchema,
  pause,
  RateLimitSchema,
  rateLimitFor,
  refill,
  take,
  viewOf,
  WAITING_TTL_MS,
  withWaiting,
} from './rate-limits.ts';
export { deadLettersOf } from './dead-letters.ts';

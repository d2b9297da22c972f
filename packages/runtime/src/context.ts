import type { Term } from '@spool/actor';
import type { ModelClient } from '@spool/claude';
import type {
  AgentEvent,
  AgentSpec,
  AgentState,
  Command,
  ControlMessage,
  Observer,
  Price,
  TaskMessage,
  ToolDefinition,
  TraceContext,
} from '@spool/core/internal';
import type { Inbox, LiveText, RateLimiter, Results, Spend, SubmitOutcome } from '@spool/jetstream';
import type { HeldMessages } from './held-messages.ts';
import type { McpTools } from './mcp-tools.ts';
import type { PoolIntake } from './pool-intake.ts';
import type { TaskAttempts } from './task-attempts.ts';
import type { TaskSpans } from './task-spans.ts';

/** Where an agent sends tasks and control messages to other agents (`submitTask` / `sendControl`). */
export interface SubmitPort {
  /** `trace`: the W3C trace context the sub-task continues (sent as message headers). */
  task(agent: string, task: TaskMessage, trace?: TraceContext): Promise<SubmitOutcome>;
  control(agent: string, message: ControlMessage, id: string): Promise<SubmitOutcome>;
}

/** Which instance of a keyed agent an actor is. */
export interface KeyedInstance {
  readonly agent: string;
  readonly key: string;
  /**
   * The key's first activation anywhere (it had no ownership record): its history is the key's
   * whole life, so its state knows every task the key finished until it starts dropping the
   * oldest ids (RECENTLY_DONE_KEEP), and no stored result needs looking up before that.
   */
  readonly firstActivation?: boolean;
}

/** The ports and settings an agent works with, the same in every term. */
export interface AgentPorts {
  readonly name: string;
  readonly spec: AgentSpec;
  readonly inbox: Inbox;
  /** Other agents' results that arrive as tasks (`spec.subscriptions`, in the same order). */
  readonly subscriptions: readonly Inbox[];
  /** Operator commands (pause, resume, cancel), journaled before they are acknowledged. */
  readonly control: Inbox;
  readonly results: Results;
  /** Where sub-tasks of `delegate` calls are sent (and cancelled); needed when the spec has `delegation`. */
  readonly submit?: SubmitPort | undefined;
  /** Where reply text goes as it streams (for `spool submit --follow`); none: not shown live. */
  readonly liveText?: Pick<LiveText, 'publish' | 'listening'> | undefined;
  readonly model: ModelClient;
  /** How long one inbox pull waits for messages. */
  readonly fetchExpiresMs: number;
  /** Interval of `working()` signals for held inbox messages (below the consumer's ack wait). */
  readonly keepAliveMs: number;
  /** A replica of an agent pool: the claims decide which replica journals a task (pool.ts). */
  readonly pool?: PoolIntake | undefined;
  /**
   * An instance of a keyed agent (keyed-host.ts): its results are `spool.results.<agent>.<key>.…`
   * and name the key, and its inbox messages are acked once journaled (a passivated instance
   * holds none; its history has the task, and its host adopts it should the process die).
   */
  readonly keyed?: KeyedInstance | undefined;
  /** Counts a keyed instance's attempts at journaling a redelivered task (its poison limit counts these). */
  readonly attempts?: TaskAttempts | undefined;
  /** Hash of the spec, recorded with each task. */
  readonly specHash: string;
  /** The tools of the spec's MCP servers, listed at start. */
  readonly mcp: McpTools;
  /** The tools as the Messages API takes them, built once from the spec (and the MCP servers). */
  readonly tools: ToolDefinition[];
  /** The model's price, for result costs and cost limits (undefined: unknown model). */
  readonly price: Price | undefined;
  /** Where tasks, model and tool calls are reported, for metrics. */
  readonly observer: Observer;
  /** Record prompt, reply and tool text in spans (an operator's opt-in; off by default). */
  readonly traceContent: boolean;
  /** The fleet's shared spend (`spool_spend`): holds and settles calls against `budget.dailyCostUsd`. */
  readonly spend?: Spend | undefined;
  /** The process's shared rate limits (`limits` in the config): every call waits its turn. */
  readonly rates?: RateLimiter | undefined;
}

/** What the agent's handlers share within one term. */
export interface AgentContext extends AgentPorts {
  readonly term: Term<AgentState, Command, AgentEvent>;
  /** Inbox messages of the tasks taken, acked once their result is out. */
  readonly held: HeldMessages;
  /** Each task's span in this term (traces). */
  readonly spans: TaskSpans;
  /** Aborted when the task is cancelled or fails (deadline), or when this term's work must stop. */
  stopSignal(taskId: string): AbortSignal;
  /** Aborts what runs for a task (model call, tools): it was cancelled or failed. */
  abortTask(taskId: string, reason: string): void;
  /** Its result is out: nothing of it runs any more. */
  forgetTask(taskId: string): void;
  /** The ISO time now, on the agent's clock. */
  now(): string;
}

/** The name the agent's results, live text and metrics go under: a pool's, whichever replica runs the task. */
export function publicName(ports: Pick<AgentPorts, 'name' | 'pool'>): string {
  return ports.pool?.name ?? ports.name;
}

/** The name metrics and spans report: a pool's, or a keyed instance's agent (labels stay bounded however many keys). */
export function observedName(ports: Pick<AgentPorts, 'name' | 'pool' | 'keyed'>): string {
  return ports.keyed?.agent ?? publicName(ports);
}

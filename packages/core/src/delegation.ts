import { createHash } from 'node:crypto';
import { z } from 'zod';
import { delegationEventIds } from './delegation-events.ts';
import { type AgentEvent, eventIds } from './agent-events.ts';
import type { TaskResult } from './result.ts';
import { isFinished, type TaskState, type ToolCall } from './state.ts';
import { AGENT_NAME_PATTERN } from './subjects.ts';
import { MAX_INPUT_CHARS } from './task.ts';
import type { ToolDefinition } from './tools.ts';

/**
 * Durable delegation: the built-in `delegate` tool hands a sub-task to another agent and
 * waits for its result. The sub-task is a normal task on the child's inbox, with a
 * deterministic id and `meta.delegation`, and the wait is journaled: a parent that restarts
 * finds the child's result (or keeps waiting) without sending the sub-task twice.
 */

export const DELEGATE_TOOL = 'delegate';
export const DEFAULT_MAX_DEPTH = 3;

/** An agent's `delegation` setting, as parsed. */
export interface Delegation {
  readonly agents: string[];
  /** Longest chain of delegations a sub-task of this agent may be at the end of. */
  readonly maxDepth: number;
  /** What each target agent does (its `description`), filled in from the config for the tool's description. */
  peers?: Record<string, string>;
}

export const DelegationSchema = z
  .strictObject({
    agents: z
      .array(
        z.string().regex(AGENT_NAME_PATTERN, 'agent names use lower-case letters, digits and dashes only'),
      )
      .min(1, 'must name at least one agent to delegate to')
      .refine((agents) => new Set(agents).size === agents.length, 'must not name an agent twice'),
    maxDepth: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(10, 'must be at most 10')
      .default(DEFAULT_MAX_DEPTH),
  })
  .transform((delegation): Delegation => delegation);

/** The parts of a parsed config the config-wide check reads. */
interface ConfigView {
  readonly agents: Record<
    string,
    { readonly delegation?: Delegation | undefined; readonly tools: readonly { readonly name: string }[] }
  >;
}

/** Config-wide check (a `.superRefine` of ConfigSchema): every target is another agent of the config. */
export function validateDelegation(config: ConfigView, ctx: z.RefinementCtx): void {
  const names = Object.keys(config.agents);
  for (const [name, spec] of Object.entries(config.agents)) {
    // Runs after field errors too (zod keeps checking): read defensively.
    const delegation = spec?.delegation;
    if (!Array.isArray(delegation?.agents)) continue;
    delegation.agents.forEach((target, i) => {
      const path = ['agents', name, 'delegation', 'agents', i];
      if (target === name)
        ctx.addIssue({ code: 'custom', path, message: 'an agent cannot delegate to itself' });
      else if (!names.includes(target))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `must name another agent of this config (${names.join(', ')})`,
        });
    });
    const clash = (spec.tools ?? []).findIndex((tool) => tool.name === DELEGATE_TOOL);
    if (clash >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'tools', clash],
        message: `"${DELEGATE_TOOL}" is the built-in tool of an agent with delegation: rename this tool`,
      });
  }
}

/** Fills each delegation's `peers` with its targets' descriptions (after `validateDelegation`). */
export function describePeers<C extends ConfigView & { agents: Record<string, { description?: string }> }>(
  config: C,
): C {
  for (const spec of Object.values(config.agents)) {
    if (spec.delegation === undefined) continue;
    spec.delegation.peers = Object.fromEntries(
      spec.delegation.agents.map((agent) => [agent, config.agents[agent]?.description ?? '']),
    );
  }
  return config;
}

/** The `delegate` tool as the Messages API takes it: the allowed agents, each with what it does. */
export function delegateTool(delegation: Delegation): ToolDefinition {
  const lines = delegation.agents.map((agent) => {
    const about = delegation.peers?.[agent]?.trim();
    return about ? `- ${agent}: ${about}` : `- ${agent}`;
  });
  return {
    name: DELEGATE_TOOL,
    description: [
      "Hands a sub-task to another agent and waits for its answer, which comes back as this tool's result.",
      'The agent does not see this conversation: put everything it needs in `task`.',
      'Several calls in one reply run in parallel. The agents:',
      ...lines,
    ].join('\n'),
    input_schema: {
      type: 'object',
      properties: {
        agent: {
          type: 'string',
          enum: [...delegation.agents],
          description: 'Which agent does the sub-task.',
        },
        task: { type: 'string', description: 'The sub-task, self-contained.' },
      },
      required: ['agent', 'task'],
      additionalProperties: false,
    },
  };
}

/** What `RecordReply` needs to judge `delegate` calls. */
export interface DelegationOptions {
  readonly agents: readonly string[];
  readonly maxDepth: number;
  /** The agent (pool) name this agent's results are published under: the chain's next link. */
  readonly self: string;
}

/** The delegation a tool call became, once accepted. */
export interface DelegationCall {
  readonly agent: string;
  readonly childTaskId: string;
  readonly input: string;
  readonly chain: readonly string[];
  /** The sub-task is on the child's inbox (journaled as `delegation.sent`). */
  sent: boolean;
}

const ParentMetaSchema = z.object({
  delegation: z.object({ chain: z.array(z.string()).max(100) }),
});

/** The agents a task was delegated through (empty for a task nobody delegated). */
export function parentChain(meta: Record<string, unknown> | undefined): string[] {
  const parsed = ParentMetaSchema.safeParse(meta);
  return parsed.success ? parsed.data.delegation.chain : [];
}

/** `dlg-<24 hex>`: deterministic, so a re-sent sub-task (restart, retry) is the same task. */
export function childTaskId(
  self: string,
  taskId: string,
  attempt: number,
  step: number,
  toolUseId: string,
): string {
  const hash = createHash('sha256').update(`${self}:${taskId}:${attempt}:${step}:${toolUseId}`);
  return `dlg-${hash.digest('hex').slice(0, 24)}`;
}

const DelegateInputSchema = z.object({
  agent: z.string(),
  task: z
    .string()
    .refine((task) => task.trim().length > 0, 'must not be empty')
    .refine((task) => task.length <= MAX_INPUT_CHARS, `must be at most ${MAX_INPUT_CHARS} characters`),
});

/**
 * For each `delegate` call of a reply (already journaled as `tool.requested`), the decision:
 * `delegation.requested`, or the call's `tool.completed` as an error the model reads when the
 * delegation is refused (bad input, an agent not allowed, a cycle, too deep).
 */
export function delegationDecisions(
  agent: string,
  task: TaskState,
  step: number,
  calls: readonly { readonly id: string; readonly name: string; readonly input: unknown }[],
  options: DelegationOptions,
  at: string,
): AgentEvent[] {
  const chain = [...parentChain(task.meta), options.self];
  return calls
    .filter((call) => call.name === DELEGATE_TOOL)
    .map((call): AgentEvent => {
      const refuse = (why: string): AgentEvent => ({
        id: eventIds.toolCompleted(agent, task.taskId, task.attempt, step, call.id),
        type: 'tool.completed',
        v: 1,
        data: {
          taskId: task.taskId,
          step,
          toolUseId: call.id,
          content: `delegation refused: ${why}`,
          isError: true,
          at,
        },
      });
      const input = DelegateInputSchema.safeParse(call.input);
      if (!input.success) {
        const problems = input.error.issues
          .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
          .join('; ');
        return refuse(`invalid input (${problems}); call it with {"agent": "<name>", "task": "<text>"}`);
      }
      const target = input.data.agent;
      if (!options.agents.includes(target))
        return refuse(
          `"${target}" is not an agent this one may delegate to (allowed: ${options.agents.join(', ')})`,
        );
      if (chain.includes(target))
        return refuse(
          `it would make a cycle ${[...chain, target].join(' → ')}; do this part yourself or ask another agent`,
        );
      if (chain.length > options.maxDepth)
        return refuse(
          `the chain ${[...chain, target].join(' → ')} would be ${chain.length} delegations deep, past the limit of ${options.maxDepth} (delegation.maxDepth); do this part yourself`,
        );
      return {
        id: delegationEventIds.requested(agent, task.taskId, task.attempt, step, call.id),
        type: 'delegation.requested',
        v: 1,
        data: {
          taskId: task.taskId,
          step,
          toolUseId: call.id,
          agent: target,
          childTaskId: childTaskId(options.self, task.taskId, task.attempt, step, call.id),
          input: input.data.task,
          chain,
          at,
        },
      };
    });
}

/** The runtime published the sub-task: journal it (once) so the call only waits from now on. */
export interface MarkDelegationSent {
  readonly type: 'MarkDelegationSent';
  readonly taskId: string;
  readonly step: number;
  readonly toolUseId: string;
  readonly inboxSeq: number;
  readonly at: string;
}

/** `delegation.sent` for an open, accepted, not yet sent delegation call; nothing otherwise. */
export function decideDelegationSent(
  agent: string,
  task: TaskState | undefined,
  call: ToolCall | undefined,
  command: MarkDelegationSent,
): AgentEvent[] {
  // A parent that ended meanwhile keeps no record: it already cancelled the child (see the runtime).
  if (task === undefined || isFinished(task.phase) || call?.delegation === undefined || call.delegation.sent)
    return [];
  return [
    {
      id: delegationEventIds.sent(agent, task.taskId, task.attempt, command.step, command.toolUseId),
      type: 'delegation.sent',
      v: 1,
      data: {
        taskId: task.taskId,
        step: command.step,
        toolUseId: command.toolUseId,
        inboxSeq: command.inboxSeq,
        at: command.at,
      },
    },
  ];
}

/** What the runtime does for an open delegation call. */
export type DelegationEffect =
  /** Publish the sub-task (same id every time), then journal `delegation.sent`. */
  | {
      type: 'send-delegation';
      taskId: string;
      step: number;
      toolUseId: string;
      agent: string;
      childTaskId: string;
      input: string;
      meta: Record<string, unknown>;
    }
  /** Wait for the sub-task's result, then journal it as the call's `tool.completed`. */
  | {
      type: 'await-delegation';
      taskId: string;
      step: number;
      toolUseId: string;
      agent: string;
      childTaskId: string;
    };

export function delegationEffect(
  task: TaskState,
  step: number,
  call: ToolCall,
): DelegationEffect | undefined {
  const d = call.delegation;
  if (d === undefined) return undefined;
  const where = {
    taskId: task.taskId,
    step,
    toolUseId: call.toolUseId,
    agent: d.agent,
    childTaskId: d.childTaskId,
  };
  if (d.sent) return { type: 'await-delegation', ...where };
  return { type: 'send-delegation', ...where, input: d.input, meta: childMeta(task.taskId, d.chain) };
}

/** A sub-task's meta: who to answer, and the chain for the child's own cycle and depth checks. */
export function childMeta(parentTaskId: string, chain: readonly string[]): Record<string, unknown> {
  return { delegation: { parent: { agent: chain.at(-1), taskId: parentTaskId }, chain: [...chain] } };
}

/** Running, with every open call of its current step a sent delegation: it only waits, on other agents. */
export function isParked(task: TaskState): boolean {
  if (task.phase !== 'running') return false;
  const open = task.steps.at(-1)?.tools.filter((call) => call.result === undefined) ?? [];
  return open.length > 0 && open.every((call) => call.delegation?.sent === true);
}

/**
 * Whether a task counts against the agent's concurrency: queued or running, unless parked on
 * delegations (a parent waiting for its children must not starve them, or other work).
 */
export function holdsSlot(task: TaskState): boolean {
  return (task.phase === 'queued' || task.phase === 'running') && !isParked(task);
}

/** What the model is told of a sub-task's outcome. */
export function delegationOutcome(result: TaskResult): { content: string; isError: boolean } {
  if (result.status === 'completed') return { content: result.output ?? '', isError: false };
  const why = result.error === undefined ? 'no error given' : `${result.error.code}: ${result.error.message}`;
  return { content: `${result.agent} task ${result.taskId} ended ${result.status}: ${why}`, isError: true };
}

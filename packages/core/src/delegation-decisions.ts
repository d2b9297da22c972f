import { z } from 'zod';
import { toolCallRefused } from './agent-event-builders.ts';
import type { AgentEvent } from './agent-events.ts';
import { childMeta, childTaskId, DELEGATE_TOOL, type DelegationOptions, parentChain } from './delegation.ts';
import { delegationEventIds } from './delegation-events.ts';
import type { TaskResult } from './result.ts';
import { isFinished, type TaskState, type ToolCall } from './state.ts';
import { MAX_INPUT_CHARS } from './task.ts';

/**
 * What delegation decides and asks for, given the state: which `delegate` calls become
 * sub-tasks (or refusals the model reads), when one is journaled as sent, what the runtime
 * must do for an open one, and what the model is told of its outcome (see `delegation.ts`).
 */

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
      const refuse = (why: string): AgentEvent =>
        toolCallRefused(agent, task, step, call.id, `delegation refused: ${why}`, at);
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

/** Running, with every open call of its current step a sent delegation or a timer: it only waits (on other agents, or the clock). */
export function isParked(task: TaskState): boolean {
  if (task.phase !== 'running') return false;
  const open = task.steps.at(-1)?.tools.filter((call) => call.result === undefined) ?? [];
  return open.length > 0 && open.every((call) => call.delegation?.sent === true || call.timer !== undefined);
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

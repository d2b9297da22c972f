import { failTask } from './agent-event-builders.ts';
import { type AgentEvent, eventIds } from './agent-events.ts';
import type { Command, ModelReply } from './commands.ts';
import { type ContentBlock, StopReason, textOf } from './content.ts';
import { delegationDecisions } from './delegation-decisions.ts';
import { ErrorCode } from './errors.ts';
import type { TaskError } from './result.ts';
import type { AgentState } from './state.ts';
import { timerDecisions } from './timers.ts';

/**
 * What a model reply leads to, journaled with it in one commit: the tool calls it asks for
 * (and the decisions about its `delegate` calls), or the task's end (completed with its text,
 * or failed: a refusal, a tool loop past its limits, tool use without tools).
 */
export function decideReply(
  state: AgentState,
  command: Extract<Command, { type: 'RecordReply' }>,
): AgentEvent[] {
  const agent = state.agent;
  const task = state.active.get(command.taskId);
  if (task === undefined || task.phase !== 'running' || command.step !== task.steps.length) return [];
  const { reply } = command;
  const responded: AgentEvent = {
    id: eventIds.responded(agent, task.taskId, task.attempt, command.step),
    type: 'model.responded',
    v: 1,
    data: {
      taskId: task.taskId,
      step: command.step,
      model: reply.model,
      content: [...reply.content],
      stopReason: reply.stopReason,
      usage: reply.usage,
      ...(reply.requestId === undefined ? {} : { requestId: reply.requestId }),
      at: command.at,
    },
  };
  if (reply.stopReason === StopReason.ToolUse && command.toolsEnabled === true) {
    const calls = toolUses(reply.content);
    const turns = command.step + 1;
    const toolCalls = task.steps.reduce((n, step) => n + step.tools.length, 0) + calls.length;
    const tooMany = toolCalls > (command.maxToolCalls ?? Number.POSITIVE_INFINITY);
    if (calls.length > 0 && !tooMany && turns < (command.maxTurns ?? Number.POSITIVE_INFINITY)) {
      return [
        responded,
        ...calls.map(
          (call): AgentEvent => ({
            id: eventIds.toolRequested(agent, task.taskId, task.attempt, command.step, call.id),
            type: 'tool.requested',
            v: 1,
            data: {
              taskId: task.taskId,
              step: command.step,
              toolUseId: call.id,
              name: call.name,
              input: call.input,
              key: `${agent}:${task.taskId}:${command.step}:${call.id}`,
              at: command.at,
            },
          }),
        ),
        // In the same commit: a restart never finds a delegate call without its decision.
        ...(command.delegation === undefined
          ? []
          : delegationDecisions(agent, task, command.step, calls, command.delegation, command.at)),
        ...(command.timers === undefined
          ? []
          : timerDecisions(agent, task, command.step, calls, command.timers, command.at)),
      ];
    }
    const error =
      calls.length === 0
        ? {
            code: ErrorCode.InvalidModelReply,
            message: 'the model stopped for tool use but asked for no tool',
          }
        : tooMany
          ? {
              code: ErrorCode.BudgetExceeded,
              message: `the model asked for tool call ${toolCalls}, past the task's limit of ${command.maxToolCalls} (budget.maxToolCalls)`,
            }
          : {
              code: ErrorCode.BudgetExceeded,
              message: `the task reached its limit of ${command.maxTurns} model calls (maxTurns) while the model still wanted tools`,
            };
    return [responded, failTask(agent, task.taskId, task.attempt, error, command.at)];
  }
  const outcome = outcomeOf(reply);
  const finished: AgentEvent = outcome.ok
    ? {
        id: eventIds.completed(agent, task.taskId, task.attempt),
        type: 'task.completed',
        v: 1,
        data: { taskId: task.taskId, output: outcome.output, at: command.at },
      }
    : failTask(agent, task.taskId, task.attempt, outcome.error, command.at);
  return [responded, finished];
}

type Outcome = { ok: true; output: string } | { ok: false; error: TaskError };

/** The tool_use blocks of a reply that are well formed (an id and a name). */
function toolUses(content: readonly ContentBlock[]): { id: string; name: string; input: unknown }[] {
  const calls: { id: string; name: string; input: unknown }[] = [];
  for (const block of content) {
    if (block.type !== 'tool_use') continue;
    const { id, name, input } = block as { id?: unknown; name?: unknown; input?: unknown };
    if (typeof id === 'string' && typeof name === 'string') calls.push({ id, name, input });
  }
  return calls;
}

/** What a final reply means for the task. Tools arrive with a later issue: tool_use is refused for now. */
function outcomeOf(reply: ModelReply): Outcome {
  switch (reply.stopReason) {
    case StopReason.ToolUse:
      return {
        ok: false,
        error: {
          code: ErrorCode.UnexpectedToolUse,
          message: 'the model asked to use a tool, but this agent has no tools configured',
        },
      };
    case StopReason.Refusal:
      return { ok: false, error: { code: ErrorCode.ModelRefused, message: 'the model declined to answer' } };
    default:
      return { ok: true, output: textOf(reply.content) };
  }
}

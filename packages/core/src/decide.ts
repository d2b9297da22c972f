import { StopReason, textOf } from './content.ts';
import type { ContentBlock } from './content.ts';
import type { DelegationOptions } from './delegation.ts';
import {
  decideDelegationSent,
  delegationDecisions,
  type MarkDelegationSent,
} from './delegation-decisions.ts';
import { ErrorCode } from './errors.ts';
import { type AgentEvent, eventIds } from './agent-events.ts';
import type { TaskError } from './result.ts';
import { decideRetry, type RetryPolicy } from './retry-policy.ts';
import { type AgentState, isFinished, isKnownTask, openToolCall } from './state.ts';
import type { TaskMessage } from './task.ts';
import type { Usage } from './usage.ts';

/** A model reply as the runtime received it, before it is journaled. */
export interface ModelReply {
  readonly model: string;
  readonly content: readonly ContentBlock[];
  readonly stopReason: string | null;
  readonly usage: Usage;
  readonly requestId?: string | undefined;
}

/** What the runtime asks of the agent's logic. Imperative names; `decide` answers with events. */
export type Command =
  | { type: 'ReceiveTask'; task: TaskMessage; inboxSeq?: number; at: string }
  | { type: 'StartTask'; taskId: string; specHash: string; at: string }
  | {
      type: 'RecordReply';
      taskId: string;
      step: number;
      reply: ModelReply;
      /** The agent has tools: a `tool_use` reply starts tool calls instead of failing the task. */
      toolsEnabled?: boolean;
      /** Model calls per task; a tool loop that would need more fails with `budget_exceeded`. */
      maxTurns?: number;
      /** Tool calls per task; a reply that asks for more fails the task with `budget_exceeded`. */
      maxToolCalls?: number;
      /** The agent may delegate: its `delegate` calls become sub-tasks (or refusals the model reads). */
      delegation?: DelegationOptions;
      at: string;
    }
  | {
      type: 'RecordToolResult';
      taskId: string;
      step: number;
      toolUseId: string;
      content: string;
      isError: boolean;
      at: string;
    }
  | { type: 'FailTask'; taskId: string; error: TaskError; at: string }
  | { type: 'RejectMessage'; taskId: string; inboxSeq: number; error: TaskError; excerpt: string; at: string }
  | { type: 'MarkPublished'; taskId: string; resultSeq?: number; at: string }
  | {
      type: 'RecordModelFailure';
      taskId: string;
      step: number;
      error: TaskError;
      retryable: boolean;
      /** The least wait the server asked for (`retry-after`). */
      retryAfterMs?: number;
      /** The agent's retry policy (its `retry` config): when the next call goes out, and whether. */
      retry: RetryPolicy;
      /** A uniform draw in [0, 1) for the backoff's jitter, made by the runtime: decide stays pure. */
      draw: number;
      at: string;
    }
  | { type: 'ResumeTask'; taskId: string; maxInterruptions: number; at: string }
  | { type: 'Retry'; taskId: string; controlSeq: number; at: string }
  | { type: 'Drop'; taskId: string; controlSeq: number; at: string }
  | { type: 'RecordSpec'; specHash: string; at: string }
  | { type: 'RecordCompaction'; summary: string; upTo: number; tokens: number; reply: ModelReply; at: string }
  | { type: 'StartTool'; taskId: string; step: number; toolUseId: string; at: string }
  | { type: 'RequestApproval'; taskId: string; step: number; toolUseId: string; reason: string; at: string }
  | {
      type: 'DecideApproval';
      taskId: string;
      approved: boolean;
      reason?: string;
      controlSeq: number;
      at: string;
    }
  | { type: 'Cancel'; taskId: string; reason: string; controlSeq?: number; at: string }
  | { type: 'Pause'; controlSeq: number; reason?: string; at: string }
  | { type: 'Resume'; controlSeq: number; at: string }
  | MarkDelegationSent;

/**
 * Decides which events a command leads to, from the state alone. Pure. A command that no
 * longer applies (a task already known, a step already journaled) yields no events, which
 * makes every command safe to repeat after a crash.
 */
export function decide(state: AgentState, command: Command): AgentEvent[] {
  const agent = state.agent;
  switch (command.type) {
    case 'ReceiveTask': {
      const { task } = command;
      if (isKnownTask(state, task.id)) return [];
      const received: AgentEvent = {
        id: eventIds.received(agent, task.id),
        type: 'task.received',
        v: 1,
        data: {
          taskId: task.id,
          input: task.input,
          ...(task.meta === undefined ? {} : { meta: task.meta }),
          ...(command.inboxSeq === undefined ? {} : { inboxSeq: command.inboxSeq }),
          at: command.at,
        },
      };
      // Cancelled before it arrived: it ends at once, with a `cancelled` result.
      const reason = state.cancelRequests.get(task.id);
      return reason === undefined ? [received] : [received, cancelled(agent, task.id, 0, reason, command.at)];
    }
    case 'StartTask': {
      const task = state.active.get(command.taskId);
      if (task === undefined || task.phase !== 'queued') return [];
      const attempt = task.attempt + 1;
      return [
        {
          id: eventIds.started(agent, task.taskId, attempt),
          type: 'task.started',
          v: 1,
          data: {
            taskId: task.taskId,
            attempt,
            specHash: command.specHash,
            memoryUpTo: state.exchanges,
            at: command.at,
          },
        },
      ];
    }
    case 'RecordReply': {
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
    case 'RecordToolResult': {
      const task = state.active.get(command.taskId);
      const call = openToolCall(state, command.taskId, command.step, command.toolUseId);
      if (task === undefined || call === undefined) return [];
      return [
        {
          id: eventIds.toolCompleted(agent, task.taskId, task.attempt, command.step, command.toolUseId),
          type: 'tool.completed',
          v: 1,
          data: {
            taskId: task.taskId,
            step: command.step,
            toolUseId: command.toolUseId,
            content: command.content,
            isError: command.isError,
            at: command.at,
          },
        },
      ];
    }
    case 'FailTask': {
      const task = state.active.get(command.taskId);
      if (task === undefined || isFinished(task.phase)) return [];
      return [failTask(agent, task.taskId, task.attempt, command.error, command.at)];
    }
    case 'RejectMessage': {
      if (isKnownTask(state, command.taskId)) return [];
      return [
        {
          id: eventIds.rejected(agent, command.taskId),
          type: 'task.rejected',
          v: 1,
          data: {
            taskId: command.taskId,
            error: command.error,
            inboxSeq: command.inboxSeq,
            excerpt: command.excerpt,
            at: command.at,
          },
        },
      ];
    }
    case 'MarkPublished': {
      const task = state.active.get(command.taskId);
      if (task === undefined || !isFinished(task.phase)) return [];
      return [
        {
          id: eventIds.published(agent, task.taskId, task.attempt),
          type: 'result.published',
          v: 1,
          data: {
            taskId: task.taskId,
            ...(command.resultSeq === undefined ? {} : { resultSeq: command.resultSeq }),
            at: command.at,
          },
        },
      ];
    }
    case 'Cancel': {
      const task = state.active.get(command.taskId);
      // Too late once it has finished; already asked when a request is on record.
      if (state.done.has(command.taskId) || (task !== undefined && isFinished(task.phase))) return [];
      if (task === undefined && state.cancelRequests.has(command.taskId)) return [];
      return [
        cancelled(agent, command.taskId, task?.attempt ?? 0, command.reason, command.at, command.controlSeq),
      ];
    }
    case 'RecordModelFailure': {
      const task = state.active.get(command.taskId);
      if (task === undefined || task.phase !== 'running' || command.step !== task.steps.length) return [];
      const call = task.failedCalls + 1;
      // When the next call goes out, or whether there is one: the retry policy's to say.
      const next = decideRetry(command.retry, {
        attempt: call,
        retryable: command.retryable,
        retryAfterMs: command.retryAfterMs,
        draw: command.draw,
      });
      const retryAt = next.retry ? new Date(Date.parse(command.at) + next.delayMs).toISOString() : undefined;
      const failed: AgentEvent = {
        id: eventIds.modelFailed(agent, task.taskId, task.attempt, command.step, call),
        type: 'model.failed',
        v: 1,
        data: {
          taskId: task.taskId,
          step: command.step,
          call,
          error: command.error,
          retryable: command.retryable,
          ...(retryAt === undefined ? {} : { retryAt }),
          at: command.at,
        },
      };
      if (next.retry) return [failed];
      const why = command.retryable ? ` (gave up after ${call} call(s))` : '';
      const error = { code: command.error.code, message: `${command.error.message}${why}` };
      return [failed, failTask(agent, task.taskId, task.attempt, error, command.at)];
    }
    case 'ResumeTask': {
      const task = state.active.get(command.taskId);
      if (task === undefined || task.phase !== 'running') return [];
      const interruptions = task.interruptions + 1;
      const resumed: AgentEvent = {
        id: eventIds.resumed(agent, task.taskId, task.attempt, interruptions),
        type: 'task.resumed',
        v: 1,
        data: { taskId: task.taskId, interruptions, at: command.at },
      };
      if (interruptions <= command.maxInterruptions) return [resumed];
      // The writer keeps dying on this task: stop resuming it rather than crash-loop forever.
      const error = {
        code: ErrorCode.CrashLoop,
        message: `the agent stopped ${interruptions} times while running this task (limit ${command.maxInterruptions}); it is not resumed again`,
      };
      return [resumed, failTask(agent, task.taskId, task.attempt, error, command.at)];
    }
    case 'Retry':
    case 'Drop': {
      // Both act on the dead-letter view only; either is one event named after its control message.
      if (!state.dead.has(command.taskId)) return [];
      return [
        {
          id: eventIds.control(agent, command.controlSeq),
          type: command.type === 'Retry' ? 'task.retried' : 'task.dropped',
          v: 1,
          data: { taskId: command.taskId, controlSeq: command.controlSeq, at: command.at },
        },
      ];
    }
    case 'StartTool':
    case 'RequestApproval': {
      const task = state.active.get(command.taskId);
      const call = openToolCall(state, command.taskId, command.step, command.toolUseId);
      if (task === undefined || call === undefined) return [];
      if (command.type === 'StartTool') {
        const run = (call.starts ?? 0) + 1;
        return [
          {
            id: eventIds.toolStarted(agent, task.taskId, task.attempt, command.step, call.toolUseId, run),
            type: 'tool.started',
            v: 1,
            data: { taskId: task.taskId, step: command.step, toolUseId: call.toolUseId, run, at: command.at },
          },
        ];
      }
      if (call.approval?.state === 'pending') return [];
      const asked = (call.approvals ?? 0) + 1;
      return [
        {
          id: eventIds.approvalRequested(
            agent,
            task.taskId,
            task.attempt,
            command.step,
            call.toolUseId,
            asked,
          ),
          type: 'approval.requested',
          v: 1,
          data: {
            taskId: task.taskId,
            step: command.step,
            toolUseId: call.toolUseId,
            name: call.name,
            input: call.input,
            reason: command.reason,
            at: command.at,
          },
        },
      ];
    }
    case 'DecideApproval': {
      if (state.active.get(command.taskId)?.phase !== 'waiting') return [];
      return [
        {
          id: eventIds.control(agent, command.controlSeq),
          type: 'approval.decided',
          v: 1,
          data: {
            taskId: command.taskId,
            approved: command.approved,
            ...(command.reason === undefined ? {} : { reason: command.reason }),
            controlSeq: command.controlSeq,
            at: command.at,
          },
        },
      ];
    }
    case 'RecordCompaction': {
      if (command.upTo <= (state.memorySummary?.upTo ?? 0)) return [];
      return [
        {
          id: eventIds.compacted(agent, command.upTo),
          type: 'memory.compacted',
          v: 1,
          data: {
            summary: command.summary,
            upTo: command.upTo,
            tokens: command.tokens,
            model: command.reply.model,
            usage: command.reply.usage,
            at: command.at,
          },
        },
      ];
    }
    case 'RecordSpec': {
      // Only a change is news: the first spec is recorded by the first task that runs under it.
      if (state.specHash === undefined || state.specHash === command.specHash) return [];
      return [
        {
          id: eventIds.specChanged(agent, state.seq),
          type: 'agent.spec_changed',
          v: 1,
          data: { from: state.specHash, to: command.specHash, at: command.at },
        },
      ];
    }
    case 'Pause': {
      if (state.paused) return [];
      return [
        {
          id: eventIds.control(agent, command.controlSeq),
          type: 'agent.paused',
          v: 1,
          data: {
            ...(command.reason === undefined ? {} : { reason: command.reason }),
            controlSeq: command.controlSeq,
            at: command.at,
          },
        },
      ];
    }
    case 'Resume': {
      if (!state.paused) return [];
      return [
        {
          id: eventIds.control(agent, command.controlSeq),
          type: 'agent.resumed',
          v: 1,
          data: { controlSeq: command.controlSeq, at: command.at },
        },
      ];
    }
    case 'MarkDelegationSent': {
      const call = openToolCall(state, command.taskId, command.step, command.toolUseId);
      return decideDelegationSent(agent, state.active.get(command.taskId), call, command);
    }
    default:
      return assertNever(command);
  }
}

function failTask(agent: string, taskId: string, attempt: number, error: TaskError, at: string): AgentEvent {
  return {
    id: eventIds.failed(agent, taskId, attempt),
    type: 'task.failed',
    v: 1,
    data: { taskId, error, at },
  };
}

function cancelled(
  agent: string,
  taskId: string,
  attempt: number,
  reason: string,
  at: string,
  controlSeq?: number,
): AgentEvent {
  return {
    id: eventIds.cancelled(agent, taskId, attempt),
    type: 'task.cancelled',
    v: 1,
    data: { taskId, reason, ...(controlSeq === undefined ? {} : { controlSeq }), at },
  };
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

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

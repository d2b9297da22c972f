import { cancelled, failTask } from './agent-event-builders.ts';
import { type AgentEvent, eventIds } from './agent-events.ts';
import type { Command } from './commands.ts';
import { decideReply } from './decide-reply.ts';
import { decideDelegationSent } from './delegation-decisions.ts';
import { ErrorCode } from './errors.ts';
import { decideRetry } from './retry-policy.ts';
import { type AgentState, isDoneTask, isFinished, isKnownTask, openToolCall } from './state.ts';

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
          ...(command.trace === undefined ? {} : { trace: command.trace }),
          at: command.at,
        },
      };
      // Cancelled before it arrived: it ends at once, with a `cancelled` result.
      const reason = state.cancelRequests.get(task.id);
      if (reason !== undefined) return [received, cancelled(agent, task.id, 0, reason, command.at)];
      return command.startNow === undefined
        ? [received]
        : [received, started(state, task.id, 1, command.startNow.specHash, command.at)];
    }
    case 'StartTask': {
      const task = state.active.get(command.taskId);
      if (task === undefined || task.phase !== 'queued') return [];
      return [started(state, task.taskId, task.attempt + 1, command.specHash, command.at)];
    }
    case 'RecordReply':
      return decideReply(state, command);
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
            ...(command.images?.length ? { images: [...command.images] } : {}),
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
      if (isDoneTask(state, command.taskId) || (task !== undefined && isFinished(task.phase))) return [];
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
    case 'RefuseCall': {
      const task = state.active.get(command.taskId);
      if (task === undefined || task.phase !== 'running' || command.step !== task.steps.length) return [];
      const { refusal } = command;
      const refused: AgentEvent = {
        id: eventIds.modelRefused(agent, task.taskId, task.attempt, command.step),
        type: 'model.refused',
        v: 1,
        data: {
          taskId: task.taskId,
          step: command.step,
          limit: refusal.limit,
          unit: refusal.unit,
          max: refusal.max,
          used: refusal.used,
          needed: refusal.needed,
          message: refusal.message,
          at: command.at,
        },
      };
      const error = { code: ErrorCode.BudgetExceeded, message: refusal.message };
      return [refused, failTask(agent, task.taskId, task.attempt, error, command.at)];
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

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

/** A task's attempt starts, under the spec it runs with and the memory it sees (what came before). */
function started(
  state: AgentState,
  taskId: string,
  attempt: number,
  specHash: string,
  at: string,
): AgentEvent {
  return {
    id: eventIds.started(state.agent, taskId, attempt),
    type: 'task.started',
    v: 1,
    data: { taskId, attempt, specHash, memoryUpTo: state.exchanges, at },
  };
}

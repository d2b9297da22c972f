import type { CallRefusal } from './call-budget.ts';
import type { ContentBlock, ToolImage } from './content.ts';
import type { TraceContext } from './trace-context.ts';
import type { DelegationOptions } from './delegation.ts';
import type { MarkDelegationSent } from './delegation-decisions.ts';
import type { TaskError } from './result.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { TaskMessage } from './task.ts';
import type { TimerOptions } from './timers.ts';
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
  | {
      type: 'ReceiveTask';
      task: TaskMessage;
      inboxSeq?: number;
      trace?: TraceContext;
      at: string;
      /**
       * Started in the same commit (attempt 1 under this spec): the runtime asks it only when
       * `next` would start the task at once (a free slot, nothing queued before it, not
       * paused, no daily budget to check), saving a keyed instance one append per task.
       */
      startNow?: { specHash: string };
    }
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
      /** The agent has timers: its `wait` calls park the task until their time (or are refused). */
      timers?: TimerOptions;
      at: string;
    }
  | {
      type: 'RecordToolResult';
      taskId: string;
      step: number;
      toolUseId: string;
      content: string;
      isError: boolean;
      images?: readonly ToolImage[] | undefined;
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
  /** The next call could pass a spending limit (call-budget.ts): it is not made, the task fails. */
  | { type: 'RefuseCall'; taskId: string; step: number; refusal: CallRefusal; at: string }
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

import { type Context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ModelRequest } from '@spool/claude';
import type { ModelOperation } from '@spool/core/internal';
import { inputMessages, outputMessages, systemInstructions, usageAttributes } from './genai-conventions.ts';
import type { CallOutcome } from './model-call.ts';
import { tracer } from './task-spans.ts';

/**
 * Spans of model and tool calls, with the OpenTelemetry GenAI semantic conventions (semconv
 * v1.41.1, development status; README "Traces"). Prompt, reply and tool text are recorded
 * only when `content` is on (the operator's opt-in:
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true): they may hold anything.
 */

/** A model call's span (`chat <model>`, a compaction's too), started in its task's context. */
export function startModelSpan(
  parent: Context,
  request: ModelRequest,
  where: { taskId: string; step: number; operation: ModelOperation },
  content: boolean,
): Span {
  return tracer.startSpan(
    `chat ${request.model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        // The attribute gen_ai.provider.name replaced; kept for backends that still read it.
        'gen_ai.system': 'anthropic',
        'gen_ai.request.model': request.model,
        'gen_ai.request.max_tokens': request.maxTokens,
        'spool.task.id': where.taskId,
        'spool.step': where.step,
        // What the call is for: the task's step, or summarizing its older memory.
        'spool.operation': where.operation,
        ...(content
          ? {
              'gen_ai.system_instructions': systemInstructions(request.system),
              'gen_ai.input.messages': inputMessages(request.messages),
            }
          : {}),
      },
    },
    parent,
  );
}

/** Ends a model call's span with its reply (model, usage, finish reason) or its error. */
export function endModelSpan(span: Span, outcome: CallOutcome, content: boolean): void {
  if (outcome.ok) {
    const { reply } = outcome;
    span.setAttributes({
      'gen_ai.response.model': reply.model,
      ...(reply.requestId === undefined ? {} : { 'gen_ai.response.id': reply.requestId }),
      'gen_ai.response.finish_reasons': [reply.stopReason ?? 'unknown'],
      ...usageAttributes(reply.usage),
      ...(content ? { 'gen_ai.output.messages': outputMessages(reply) } : {}),
    });
  } else if ('abandoned' in outcome) {
    span.setAttribute('spool.call.abandoned', true);
  } else {
    span.setAttribute('error.type', outcome.error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message.slice(0, 300) });
  }
  span.end();
}

/** A tool call's span (`execute_tool <name>`), started in its task's context. */
export function startToolSpan(
  parent: Context,
  call: { name: string; toolUseId: string; taskId: string; input: unknown; mcp: boolean },
  content: boolean,
): Span {
  return tracer.startSpan(
    `execute_tool ${call.name}`,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': call.name,
        'gen_ai.tool.call.id': call.toolUseId,
        'gen_ai.tool.type': call.mcp ? 'extension' : 'function',
        'spool.task.id': call.taskId,
        ...(content ? { 'gen_ai.tool.call.arguments': JSON.stringify(call.input) } : {}),
      },
    },
    parent,
  );
}

/** Ends a tool call's span: its result's text only with `content` on. */
export function endToolSpan(
  span: Span,
  outcome: { isError: boolean; content: string } | undefined,
  content: boolean,
): void {
  if (outcome === undefined) span.setAttribute('spool.call.abandoned', true);
  else {
    // The conventions record a result only of a call that succeeded.
    if (content && !outcome.isError) span.setAttribute('gen_ai.tool.call.result', outcome.content);
    if (outcome.isError) {
      span.setAttribute('error.type', 'tool_error');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}

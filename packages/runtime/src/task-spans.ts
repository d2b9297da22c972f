import {
  type Attributes,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { type AgentState, type TaskResult, type TraceContext, traceContextOf } from '@spool/core/internal';
import { usageAttributes } from './genai-conventions.ts';

/**
 * Spool's spans go through @opentelemetry/api alone: without an SDK registered (no exporter
 * configured) every span is the API's no-op, and the trace context still passes through.
 */
export const tracer = trace.getTracer('@spool/runtime');

/**
 * One span per task in this process, from its receipt (or its resumption after a restart)
 * to its result, parented by the trace context journaled with it: a task resumed by another
 * process continues the same trace. Model and tool calls are its children.
 */
export class TaskSpans {
  private readonly open = new Map<string, Span>();

  constructor(
    private readonly agent: string,
    private readonly model: string,
    private readonly state: () => AgentState,
    /** A keyed instance's key: on its spans (unlike metric labels, span attributes may be many). */
    private readonly key?: string,
  ) {}

  /** The task was just journaled as received here: its span starts now. */
  received(taskId: string): void {
    this.start(taskId, false);
  }

  /** The context of the task's span, to start its model and tool calls' spans in. */
  context(taskId: string): Context {
    return trace.setSpan(ROOT_CONTEXT, this.open.get(taskId) ?? this.start(taskId, true));
  }

  /** The trace context to send with a sub-task of this task (W3C), if there is a trace. */
  propagate(taskId: string): TraceContext | undefined {
    const carrier: Record<string, string> = {};
    propagation.inject(this.context(taskId), carrier);
    return traceContextOf(carrier);
  }

  /** The task's result is out: its span ends with the outcome. */
  published(taskId: string, result: TaskResult): void {
    const span = this.open.get(taskId) ?? this.start(taskId, true);
    this.open.delete(taskId);
    span.setAttributes({
      'spool.task.status': result.status,
      'spool.task.attempts': result.attempts,
      'spool.task.steps': result.steps,
      ...usageAttributes(result.usage),
      ...(result.costUsd === undefined ? {} : { 'spool.task.cost_usd': result.costUsd }),
    });
    if (result.error !== undefined) {
      span.setAttribute('error.type', result.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message.slice(0, 300) });
    }
    span.end();
  }

  /** The term ends (stop, lost lease): the spans of unfinished tasks end here; whoever resumes them starts new ones. */
  interrupted(): void {
    for (const span of this.open.values()) {
      span.setAttribute('spool.task.interrupted', true);
      span.end();
    }
    this.open.clear();
  }

  private start(taskId: string, resumed: boolean): Span {
    const task = this.state().active.get(taskId);
    const parent = task?.trace === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, task.trace);
    const attributes: Attributes = {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.agent.name': this.agent,
      'gen_ai.request.model': this.model,
      'spool.task.id': taskId,
      ...(this.key === undefined ? {} : { 'spool.agent.key': this.key }),
      ...(resumed ? { 'spool.task.resumed': true } : {}),
    };
    // CONSUMER, not the conventions' INTERNAL for an in-process agent: the task arrives as a
    // message, and service graphs draw an edge from a PRODUCER span to its CONSUMER only.
    const span = tracer.startSpan(
      `invoke_agent ${this.agent}`,
      { kind: SpanKind.CONSUMER, attributes },
      parent,
    );
    this.open.set(taskId, span);
    return span;
  }
}

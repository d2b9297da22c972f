import { propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  type CoordinatorEvent,
  type CoordinatorState,
  type TraceContext,
  traceContextOf,
} from '@spool/core/internal';

const tracer = trace.getTracer('@spool/coordinator');

/**
 * Spans of workflow runs and their steps in this process (no-ops without an SDK registered).
 * A run's span continues the trace context its start message carried (journaled with it);
 * each step's span is its child, and a step's tasks carry the step's context to their agents.
 * After a restart the spans of runs and steps still open start again, marked resumed.
 */
export class WorkflowSpans {
  private readonly runs = new Map<string, Span>();
  private readonly steps = new Map<string, Span>();

  constructor(private readonly state: () => CoordinatorState) {}

  /** Opens and closes spans as the events say (after each journaled decision). */
  observe(events: readonly CoordinatorEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'workflow.started':
          this.startRun(event.data.workflowId, false);
          break;
        case 'workflow.step_started':
          this.startStep(event.data.workflowId, event.data.step, false);
          break;
        case 'workflow.step_finished': {
          const { workflowId, step, status, error } = event.data;
          const span = this.steps.get(key(workflowId, step)) ?? this.startStep(workflowId, step, true);
          this.steps.delete(key(workflowId, step));
          end(span, status, error);
          break;
        }
        case 'workflow.finished': {
          const { workflowId, status, error } = event.data;
          for (const [k, span] of this.steps)
            if (k.startsWith(`${workflowId}\u0000`)) {
              this.steps.delete(k);
              end(span, status);
            }
          const span = this.runs.get(workflowId) ?? this.startRun(workflowId, true);
          this.runs.delete(workflowId);
          end(span, status, error);
          break;
        }
        default:
          break;
      }
    }
  }

  /** The trace context a step's task carries to its agent (W3C), if there is a trace. */
  taskTrace(taskId: string): TraceContext | undefined {
    const ref = this.state().tasks.get(taskId);
    if (ref === undefined) return undefined;
    const span =
      this.steps.get(key(ref.workflowId, ref.step)) ?? this.startStep(ref.workflowId, ref.step, true);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    return traceContextOf(carrier);
  }

  /** The term ends: open spans end here, marked interrupted (the next writer resumes them). */
  interrupted(): void {
    for (const span of [...this.steps.values(), ...this.runs.values()]) {
      span.setAttribute('spool.interrupted', true);
      span.end();
    }
    this.steps.clear();
    this.runs.clear();
  }

  private startRun(workflowId: string, resumed: boolean): Span {
    const run = this.state().workflows.get(workflowId);
    const parent = run?.trace === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, run.trace);
    const name = run?.workflow ?? workflowId;
    // The GenAI conventions' workflow span (invoke_workflow), CONSUMER rather than their
    // INTERNAL: the run starts from a message, and service graphs pair PRODUCER with CONSUMER.
    const span = tracer.startSpan(
      `invoke_workflow ${name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'gen_ai.operation.name': 'invoke_workflow',
          'gen_ai.workflow.name': name,
          'spool.workflow.id': workflowId,
          'spool.workflow.name': run?.workflow ?? '',
          ...(resumed ? { 'spool.resumed': true } : {}),
        },
      },
      parent,
    );
    this.runs.set(workflowId, span);
    return span;
  }

  private startStep(workflowId: string, step: string, resumed: boolean): Span {
    const run = this.runs.get(workflowId) ?? this.startRun(workflowId, true);
    const span = tracer.startSpan(
      `step ${step}`,
      {
        attributes: {
          'spool.workflow.id': workflowId,
          'spool.workflow.step': step,
          ...(resumed ? { 'spool.resumed': true } : {}),
        },
      },
      trace.setSpan(ROOT_CONTEXT, run),
    );
    this.steps.set(key(workflowId, step), span);
    return span;
  }
}

const key = (workflowId: string, step: string) => `${workflowId}\u0000${step}`;

function end(span: Span, status: string, error?: { code: string; message: string }): void {
  span.setAttribute('spool.status', status);
  if (error !== undefined) {
    span.setAttribute('error.type', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message.slice(0, 300) });
  }
  span.end();
}

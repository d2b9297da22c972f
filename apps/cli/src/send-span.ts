import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type TraceContext, traceContextOf } from '@spool/core/internal';

const tracer = trace.getTracer('@spool/cli');

/**
 * Publishes a message in a producer span (`send <subject>`) and hands `publish` the trace
 * context to send with it (W3C headers), so the agent's or coordinator's spans join this
 * trace. A TRACEPARENT (and TRACESTATE) in the environment, as a CI job or a script sets it,
 * is this span's parent. Without tracing set up the span is a no-op, and no context is sent
 * unless TRACEPARENT passes one through.
 */
export async function sendInSpan<T>(
  subject: string,
  id: string,
  publish: (trace: TraceContext | undefined) => Promise<T>,
): Promise<T> {
  const fromEnv = traceContextOf({
    ...(process.env.TRACEPARENT === undefined ? {} : { traceparent: process.env.TRACEPARENT }),
    ...(process.env.TRACESTATE === undefined ? {} : { tracestate: process.env.TRACESTATE }),
  });
  const parent = fromEnv === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, fromEnv);
  const span = tracer.startSpan(
    `send ${subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': subject,
        'messaging.message.id': id,
      },
    },
    parent,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  try {
    return await publish(traceContextOf(carrier) ?? fromEnv);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

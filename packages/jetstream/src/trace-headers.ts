import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { type TraceContext, traceContextOf } from '@spool/core/internal';

/** A message's W3C trace context as NATS headers (`traceparent`, `tracestate`), to publish with it. */
export function traceHeaders(trace: TraceContext | undefined): { headers?: MsgHdrs } {
  if (trace === undefined) return {};
  const h = natsHeaders();
  h.set('traceparent', trace.traceparent);
  if (trace.tracestate !== undefined && trace.tracestate !== '') h.set('tracestate', trace.tracestate);
  return { headers: h };
}

/** The trace context a received message carries, if any (a malformed one is ignored). */
export function traceOf(h: MsgHdrs | undefined): TraceContext | undefined {
  const traceparent = h?.get('traceparent');
  if (h === undefined || traceparent === undefined || traceparent === '') return undefined;
  const tracestate = h.get('tracestate');
  return traceContextOf({ traceparent, ...(tracestate === '' ? {} : { tracestate }) });
}

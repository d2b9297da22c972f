import { z } from 'zod';

/**
 * W3C Trace Context of a message (its `traceparent` / `tracestate` NATS headers), journaled
 * with the task or workflow run it started, so a resumed one continues the same trace.
 */
export const TraceContextSchema = z.object({
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
  tracestate: z.string().max(512).optional(),
});
export type TraceContext = z.infer<typeof TraceContextSchema>;

/** The trace context in a message's headers; undefined when absent or malformed (ignored, as W3C says). */
export function traceContextOf(
  headers: Readonly<Record<string, string>> | undefined,
): TraceContext | undefined {
  if (headers?.traceparent === undefined) return undefined;
  const parsed = TraceContextSchema.safeParse({
    traceparent: headers.traceparent.trim().toLowerCase(),
    ...(headers.tracestate === undefined ? {} : { tracestate: headers.tracestate.slice(0, 512) }),
  });
  return parsed.success ? parsed.data : undefined;
}

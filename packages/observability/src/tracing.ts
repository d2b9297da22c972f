import { DiagLogLevel, diag, propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';

/** An OTEL_* setting Spool cannot honour: one line saying which and what to set instead. */
export class TracingSettingsError extends Error {
  override readonly name = 'TracingSettingsError';
}

export interface Tracing {
  /** Where spans go (`otlp http/json`, `otlp http/protobuf`, `console`), or undefined: tracing is off. */
  readonly exporter: string | undefined;
  /** Sends what is buffered and stops (before the process exits). */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Where the SDK's own warnings and errors go (a pino logger fits). */
export interface TracingLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface TracingOptions {
  /** Default process.env; the SDK itself reads OTEL_BSP_*, headers and timeouts from process.env. */
  readonly env?: Env;
  /** The SDK's warnings (spans dropped, a bad setting) and errors (an export failed); default: none. */
  readonly log?: TracingLog;
}

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

/** The batch span processor's settings (SDK defaults: 5000 ms, 30000 ms, 2048 spans, 512 spans). */
const BATCH_SETTINGS = [
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
] as const;

/**
 * Sets up tracing from the standard OpenTelemetry environment: OTEL_TRACES_EXPORTER (otlp,
 * console, none), OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
 * (http/protobuf, the default, or http/json), OTEL_EXPORTER_OTLP_[TRACES_]HEADERS,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED, and the
 * batch span processor's OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
 * OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE (read by the SDK: the processor
 * is built without settings of its own so that they apply).
 * Tracing is on when an exporter is named or an OTLP endpoint is set; otherwise no SDK is
 * registered and every span is the API's no-op. The W3C propagator is registered either
 * way, so a trace context that comes with a task still goes on to its sub-tasks.
 */
export function startTracing(serviceName: string, options: TracingOptions = {}): Tracing {
  const env = options.env ?? process.env;
  const exporterName = chooseExporter(env);
  if (exporterName === undefined) {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return { exporter: undefined, shutdown: async () => undefined };
  }
  checkBatchSettings(env);
  if (options.log !== undefined) forwardDiagnostics(options.log);
  let exporter: SpanExporter;
  let described: string;
  if (exporterName === 'console') {
    exporter = new ConsoleSpanExporter();
    described = 'console';
  } else {
    const protocol = otlpProtocol(env);
    exporter = protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
    described = `otlp ${protocol}`;
  }
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the command's name.
  const resource = resourceFromAttributes({ 'service.name': serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  // No settings given to the processor: the SDK fills each from its OTEL_BSP_* variable.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    exporter: described,
    shutdown: () => provider.shutdown().catch(() => undefined),
  };
}

/** `otlp`, `console`, or undefined when tracing is off. */
function chooseExporter(env: Env): 'otlp' | 'console' | undefined {
  if (setting(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const named = setting(env, 'OTEL_TRACES_EXPORTER');
  if (named === undefined)
    return setting(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined ||
      setting(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined
      ? 'otlp'
      : undefined;
  const names = named.split(',').map((n) => n.trim().toLowerCase());
  if (names.includes('none')) return undefined;
  const unsupported = names.filter((n) => n !== 'otlp' && n !== 'console');
  if (unsupported.length > 0 || names.length > 1)
    throw new TracingSettingsError(
      `OTEL_TRACES_EXPORTER="${named}": Spool exports spans to one of otlp, console or none (for Jaeger or Zipkin, use their OTLP endpoint)`,
    );
  return names[0] as 'otlp' | 'console';
}

function otlpProtocol(env: Env): (typeof PROTOCOLS)[number] {
  const name = setting(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = setting(env, name) ?? 'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocol))
    throw new TracingSettingsError(
      `${name}="${protocol}": Spool exports OTLP over http/protobuf (the default) or http/json; grpc is not supported (a collector's 4318 port takes http)`,
    );
  return protocol as (typeof PROTOCOLS)[number];
}

function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * OTEL_BSP_* must be whole numbers (the SDK would only warn and use its default): a delay or
 * timeout in ms, a queue or batch size in spans (at least 1).
 */
function checkBatchSettings(env: Env): void {
  for (const name of BATCH_SETTINGS) {
    const value = setting(env, name);
    if (value === undefined) continue;
    const sized = name.endsWith('_SIZE');
    if (!/^[0-9]+$/.test(value) || (sized && Number(value) < 1))
      throw new TracingSettingsError(
        `${name}="${value}": give a whole number of ${sized ? 'spans, at least 1' : 'milliseconds'}`,
      );
  }
}

/** The same SDK message (a collector that stays down) is logged at most once a minute. */
const REPEAT_AFTER_MS = 60_000;

/**
 * The SDK reports its trouble through `diag`, silent unless a logger is set: spans dropped
 * because the queue was full (said once the queue takes spans again, with how many), a
 * failed export, a setting it ignored. They go to the process's log.
 */
function forwardDiagnostics(log: TracingLog): void {
  const last = new Map<string, number>();
  const forward =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) => {
      const now = Date.now();
      if (now - (last.get(message) ?? Number.NEGATIVE_INFINITY) < REPEAT_AFTER_MS) return;
      last.set(message, now);
      const detail = args.map((a) => readable(a instanceof Error ? a.message : String(a))).join(' ');
      const dropped = /^Dropped (\d+) spans/.exec(message);
      const fields = { source: 'opentelemetry', ...(dropped ? { droppedSpans: Number(dropped[1]) } : {}) };
      const hint = dropped
        ? ': the exporter did not keep up; raise OTEL_BSP_MAX_QUEUE_SIZE, or check the collector'
        : '';
      log[level](fields, `traces: ${readable(message)}${detail === '' ? '' : ` ${detail}`}${hint}`);
    };
  const ignore = () => undefined;
  diag.setLogger(
    { error: forward('error'), warn: forward('warn'), info: ignore, debug: ignore, verbose: ignore },
    DiagLogLevel.WARN,
  );
}

/**
 * One line for the log: the SDK reports a failed export as the error serialized to JSON (its
 * stack included) and some errors as their stacks; the message's first line is what helps.
 */
function readable(text: string): string {
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') return readable(parsed.message);
    } catch {
      // not JSON after all: shown as it is
    }
  }
  return text.split('\n')[0] ?? '';
}

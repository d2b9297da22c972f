import { propagation } from '@opentelemetry/api';
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

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;

/**
 * Sets up tracing from the standard OpenTelemetry environment: OTEL_TRACES_EXPORTER (otlp,
 * console, none), OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
 * (http/protobuf, the default, or http/json), OTEL_EXPORTER_OTLP_[TRACES_]HEADERS,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_SDK_DISABLED.
 * Tracing is on when an exporter is named or an OTLP endpoint is set; otherwise no SDK is
 * registered and every span is the API's no-op. The W3C propagator is registered either
 * way, so a trace context that comes with a task still goes on to its sub-tasks.
 */
export function startTracing(serviceName: string, env: Env = process.env): Tracing {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporterName = chooseExporter(env);
  if (exporterName === undefined) return { exporter: undefined, shutdown: async () => undefined };
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

// Spool's metrics and tracing at the edge: prom-client and the OpenTelemetry SDK. The runtime
// and the coordinator know only core's Observer port and @opentelemetry/api.
export type { SpoolMetrics } from './metrics.ts';
export { spoolMetrics } from './metrics.ts';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.ts';
export { serveMetrics } from './metrics-server.ts';
export type { Tracing, TracingLog, TracingOptions } from './tracing.ts';
export { startTracing, TracingSettingsError } from './tracing.ts';

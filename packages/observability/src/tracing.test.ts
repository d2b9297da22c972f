import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTracing, TracingSettingsError } from './tracing.ts';

/** A collector on loopback (OTLP/HTTP JSON) whose first export hangs until `release()`. */
async function stalledCollector() {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let exports = 0;
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      exports += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: unknown[] }[] }[];
      };
      spans += body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length;
      if (exports === 1) await held;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    spans: () => spans,
    release: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const SET = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
];
afterEach(() => {
  for (const name of SET) delete process.env[name];
  // A process sets tracing up once; each test here is a process of its own, as far as the API knows.
  for (const api of [trace, context, propagation]) api.disable();
});

describe('tracing set-up', () => {
  it('honours OTEL_BSP_*: behind a stalled collector a queue of 4 drops spans, and the log says how many', async () => {
    const collector = await stalledCollector();
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_MAX_QUEUE_SIZE: '4',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
      OTEL_BSP_SCHEDULE_DELAY: '10',
    });
    const warnings: { fields: object; message: string }[] = [];
    const tracing = startTracing('bsp-test', {
      log: { warn: (fields, message) => warnings.push({ fields, message }), error: () => undefined },
    });
    try {
      const tracer = trace.getTracer('bsp-test');
      // The first batch (2 spans) goes out and hangs; the queue holds 4 more; the rest is dropped.
      for (let i = 0; i < 20; i++) tracer.startSpan(`span ${i}`).end();
      await vi.waitFor(() => expect(collector.exports()).toBe(1));
      expect(warnings).toEqual([]);
      collector.release();
      // Once the queue takes spans again, the SDK says how many it dropped.
      let sent = 20;
      await vi.waitFor(() => {
        tracer.startSpan('after').end();
        sent += 1;
        expect(warnings.length).toBeGreaterThan(0);
      });
      await tracing.shutdown();
      for (const { message } of warnings)
        expect(message).toMatch(
          /^traces: Dropped \d+ spans because maxQueueSize reached: the exporter did not keep up; raise OTEL_BSP_MAX_QUEUE_SIZE/,
        );
      const dropped = warnings.reduce((n, w) => n + (w.fields as { droppedSpans: number }).droppedSpans, 0);
      // 2 in the hung export and 4 queued got through; with the default queue (2048) all would.
      expect(dropped).toBeGreaterThanOrEqual(20 - 2 - 4);
      expect(collector.spans() + dropped).toBe(sent);
    } finally {
      collector.release();
      await tracing.shutdown();
      await collector.close();
    }
  });

  it('logs a failed export in one line, once a minute however many batches fail', async () => {
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', // nothing listens there
      OTEL_EXPORTER_OTLP_TIMEOUT: '500', // bounds the exporter's retries
      OTEL_BSP_SCHEDULE_DELAY: '10',
    });
    const errors: string[] = [];
    const tracing = startTracing('unreachable', {
      log: { warn: () => undefined, error: (_fields, message) => errors.push(message) },
    });
    const tracer = trace.getTracer('unreachable');
    tracer.startSpan('first').end();
    await vi.waitFor(() => expect(errors).toEqual(['traces: connect ECONNREFUSED 127.0.0.1:1']), 20_000);
    tracer.startSpan('second').end();
    await tracing.shutdown(); // exports (and fails) the second batch
    expect(errors).toHaveLength(1);
  });

  it('refuses an OTEL_BSP_* value that is not a whole number, naming it', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_BSP_MAX_QUEUE_SIZE: 'lots' };
    expect(() => startTracing('bad', { env })).toThrow(TracingSettingsError);
    expect(() => startTracing('bad', { env })).toThrow(
      'OTEL_BSP_MAX_QUEUE_SIZE="lots": give a whole number of spans, at least 1',
    );
    expect(() =>
      startTracing('bad', { env: { OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '1.5s' } }),
    ).toThrow('OTEL_BSP_SCHEDULE_DELAY="1.5s": give a whole number of milliseconds');
  });
});

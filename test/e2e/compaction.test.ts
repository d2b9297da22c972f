import { applyCommit, initialState, isAgentEvent, toSnapshot } from '@spool/core/internal';
import { results, submitTask } from '@spool/jetstream';
import { spoolMetrics, startTracing, type Tracing } from '@spool/observability';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { parsePrometheus, sample } from '../support/prometheus.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, type World } from '../support/world.ts';

let world: World;
/** Answers the summarizer with a short summary, everything else with a long reply. */
const responder = (body: MessagesBody) => {
  const system = JSON.stringify(body.system ?? '');
  if (system.includes('compress'))
    return `SUMMARY covering ${String(body.messages?.[0]?.content ?? '').split('User:').length - 1} exchange(s)`;
  const question = body.messages?.at(-1)?.content;
  return `Answer to ${typeof question === 'string' ? question.slice(0, 20) : 'that'}: ${'details '.repeat(40)}`;
};

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let tracing: Tracing;
/** The OTEL_* settings of this test process's tracing (the SDK reads them from the environment). */
const OTEL_ENV = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_BSP_SCHEDULE_DELAY'];
beforeAll(async () => {
  world = await startWorld({ responder });
  receiver = await startOtlpReceiver();
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  tracing = startTracing('compaction-test');
});
afterAll(async () => {
  await tracing?.shutdown();
  for (const name of OTEL_ENV) delete process.env[name];
  await receiver?.close();
  await world?.close();
});

describe('memory compaction', () => {
  it('summarizes older exchanges when a request would pass the window share; replay rebuilds it without the model', async () => {
    const spec = analystSpec({
      memory: { exchanges: 50, maxChars: 1_000_000, contextWindow: 2_000, compactAt: 0.5, keepRecent: 1 },
    });
    const metrics = spoolMetrics();
    const agent = await runAgentInProcess(world, 'compacting', spec, { observer: metrics });
    for (let i = 0; i < 8; i++) {
      await submitTask(world.connection, 'compacting', {
        id: `c-${i}`,
        input: `Question ${i}: ${'context '.repeat(30)}`,
      });
      await results(world.connection).wait('compacting', `c-${i}`, AbortSignal.timeout(20_000));
    }
    // The last result is out before its publication is journaled: wait until nothing is active.
    await waitFor('the last publication to be journaled', () => agent.state()?.active.size === 0);
    const live = toSnapshot(agent.state() ?? initialState('compacting'));
    await agent.stop();

    const history = await world.probe.history('compacting');
    const compactions = history.flatMap((c) => c.events).filter((e) => e.type === 'memory.compacted');
    expect(compactions.length).toBeGreaterThan(0);
    expect(world.fake.requests.some((r) => r.path === '/v1/messages/count_tokens')).toBe(true);

    // The summarizing call has its own system prompt; later requests carry the summary, not the old turns.
    const calls = world.fake.requests.filter((r) => r.path === '/v1/messages');
    const summarizer = calls.find((r) =>
      JSON.stringify((r.body as MessagesBody).system).includes('compress'),
    );
    expect(summarizer).toBeDefined();
    const last = calls.at(-1)?.body as MessagesBody;
    expect(JSON.stringify(last.messages)).toContain('A summary of our earlier work');
    expect(JSON.stringify(last.messages)).not.toContain('Question 0:');
    // Every request stays within reach of the window: compaction kept the conversation bounded.
    expect(JSON.stringify(last).length / 4).toBeLessThan(2_000);

    // The summarizing calls are counted and traced as compaction, apart from the tasks' calls.
    const summaries = calls.filter((r) =>
      JSON.stringify((r.body as MessagesBody).system).includes('compress'),
    );
    const m = parsePrometheus(await metrics.registry.metrics());
    const modelCalls = (operation: string) =>
      sample(m, 'spool_model_calls_total', {
        agent: 'compacting',
        model: spec.model,
        operation,
        outcome: 'ok',
      });
    expect(modelCalls('compaction')).toBe(summaries.length);
    expect(modelCalls('task')).toBe(calls.length - summaries.length);
    const tokens = (operation: string) =>
      sample(m, 'spool_tokens_total', { agent: 'compacting', model: spec.model, operation, kind: 'output' });
    expect(tokens('compaction')).toBeGreaterThan(0);
    expect(tokens('task')).toBeGreaterThan(0);
    await tracing.shutdown(); // sends what is buffered
    const chats = receiver.spans.filter((sp) => sp.name === `chat ${spec.model}`);
    const compactionSpans = chats.filter((sp) => sp.attributes['spool.operation'] === 'compaction');
    expect(compactionSpans).toHaveLength(summaries.length);
    expect(chats.filter((sp) => sp.attributes['spool.operation'] === 'task')).toHaveLength(
      calls.length - summaries.length,
    );
    for (const span of compactionSpans) {
      expect(span.attributes['gen_ai.operation.name']).toBe('chat');
      expect(span.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
      // A child of its task's span, as the task's own calls are.
      const task = receiver.spans.find((sp) => sp.spanId === span.parentSpanId);
      expect(task?.name).toBe('invoke_agent compacting');
      expect(task?.attributes['spool.task.id']).toBe(span.attributes['spool.task.id']);
    }

    // Replay folds the same state from the history alone: no model is called.
    const before = world.fake.requests.length;
    const replayed = initialState('compacting');
    for (const commit of history)
      applyCommit(replayed, { ...commit, events: commit.events.filter(isAgentEvent) });
    expect(toSnapshot(replayed)).toEqual(live);
    expect(world.fake.requests.length).toBe(before);
    expect(replayed.memorySummary?.text).toMatch(/^SUMMARY covering/);
  });
});

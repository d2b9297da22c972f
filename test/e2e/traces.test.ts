import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startCli, writeConfig } from '../support/cli.ts';
import { type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { plannerResponder } from '../support/planner-responder.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/**
 * Traces end to end: `spool submit`, a planner agent and the writer it delegates to, each its
 * own process, export spans over OTLP/HTTP (http/json) to a receiver this test runs. One trace
 * id runs from the submit through the planner to the delegated child; model calls carry the
 * GenAI attributes; no prompt or reply text unless opted in.
 */

const SECRET = 'SECRET-PROMPT-42';
const responder = plannerResponder(`${SECRET} child`, `reply to ${SECRET}`);

const CONFIG = {
  agents: {
    writer: { instructions: 'Writer.', model: 'claude-sonnet-4-6' },
    planner: { instructions: 'Planner.', model: 'claude-sonnet-4-6', delegation: { agents: ['writer'] } },
  },
  workflows: { single: { steps: { only: { agent: 'writer', input: 'step {{input}}' } } } },
};

let world: World;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let config: string;
const processes: CliProcess[] = [];
const env = (service?: string) => ({
  natsUrl: world.nats.url,
  anthropicBaseUrl: world.fake.url,
  extraEnv: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...(service === undefined ? {} : { OTEL_SERVICE_NAME: service }),
  },
});

beforeAll(async () => {
  world = await startWorld({ responder });
  receiver = await startOtlpReceiver();
  config = writeConfig(CONFIG);
  for (const args of [['agent', 'planner'], ['agent', 'writer'], ['coordinator']]) {
    const p = startCli([...args, '--config', config], env());
    processes.push(p);
    await p.waitForLog('exporting traces');
  }
  await Promise.all(processes.map((p) => p.waitForLog('replayed')));
}, 60_000);
afterEach((context) => {
  for (const p of processes) printLogOnFailure(context, p);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill('SIGTERM')));
  await receiver?.close();
  await world?.close();
});

const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe('traces', () => {
  it('one trace from spool submit through the planner to its delegated child, GenAI attributes, no prompt text', async () => {
    const out = await runCli(
      ['submit', 'planner', `${SECRET} plan`, '--id', 'tr-1', '--wait', '--json'],
      env(),
    );
    expect(out.code).toBe(0);
    const send = await waitFor('the submit span', () =>
      receiver.spans.find(
        (s) => s.name === 'send spool.inbox.planner' && s.attributes['messaging.message.id'] === 'tr-1',
      ),
    );
    expect(send.service).toBe('spool-submit');
    // Five more spans in the trace: planner task, its 2 model calls, writer task, its model call.
    const spans = await waitFor(
      () => `the trace's spans (so far: ${JSON.stringify(spansOf(send.traceId).map((s) => s.name))})`,
      () => {
        const found = spansOf(send.traceId);
        return found.length >= 6 ? found : undefined;
      },
    );
    const [planner] = byName(spans, 'invoke_agent planner');
    const [writer] = byName(spans, 'invoke_agent writer');
    expect(planner?.parentSpanId).toBe(send.spanId);
    expect(planner?.service).toBe('spool-agent');
    expect(writer?.parentSpanId).toBe(planner?.spanId);
    // Journaled with the task: a process that resumes it continues this trace.
    const received = (await world.probe.history('planner'))
      .flatMap((c) => c.events)
      .find((e) => e.type === 'task.received' && (e.data as { taskId: string }).taskId === 'tr-1');
    expect((received?.data as { trace?: { traceparent: string } } | undefined)?.trace?.traceparent).toBe(
      `00-${send.traceId}-${send.spanId}-01`,
    );
    const chats = byName(spans, 'chat claude-sonnet-4-6');
    expect(
      chats
        .map((c) =>
          c.parentSpanId === planner?.spanId ? 'planner' : c.parentSpanId === writer?.spanId ? 'writer' : '?',
        )
        .sort(),
    ).toEqual(['planner', 'planner', 'writer']);
    for (const chat of chats) {
      expect(chat.kind).toBe(3); // CLIENT
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.system': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-6',
        'gen_ai.response.model': 'claude-sonnet-4-6',
      });
      expect(chat.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(chat.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
      expect(['end_turn', 'tool_use']).toContain(
        (chat.attributes['gen_ai.response.finish_reasons'] as string[])[0],
      );
    }
    expect(planner?.attributes).toMatchObject({
      'spool.task.status': 'completed',
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.agent.name': 'planner',
      'gen_ai.request.model': 'claude-sonnet-4-6',
    });
    // Neither the prompt nor the reply is in any span by default.
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET);
  });

  it('a workflow run: spool run → the coordinator run and step spans → the step task on its agent', async () => {
    const out = await runCli(['run', 'single', 'go', '--id', 'tr-wf', '--wait', '--json', '--quiet'], env());
    expect(out.code).toBe(0);
    const send = await waitFor('the run span', () =>
      receiver.spans.find(
        (s) => s.name === 'send spool.inbox.coordinator' && s.attributes['messaging.message.id'] === 'tr-wf',
      ),
    );
    const spans = await waitFor('the run, step, task and call spans', () => {
      const found = spansOf(send.traceId);
      return found.some((s) => s.name === 'invoke_workflow single') &&
        found.some((s) => s.name.startsWith('chat '))
        ? found
        : undefined;
    });
    const [run] = byName(spans, 'invoke_workflow single');
    const [step] = byName(spans, 'step only');
    const [task] = byName(spans, 'invoke_agent writer');
    expect(run?.parentSpanId).toBe(send.spanId);
    expect(run?.service).toBe('spool-coordinator');
    expect(step?.parentSpanId).toBe(run?.spanId);
    expect(task?.parentSpanId).toBe(step?.spanId);
    expect(run?.attributes).toMatchObject({
      'spool.status': 'completed',
      'gen_ai.operation.name': 'invoke_workflow',
      'gen_ai.workflow.name': 'single',
    });
  });
});

import { join } from 'node:path';
import { results } from '@spool/jetstream';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startCli } from '../support/cli.ts';
import { type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { plannerResponder, systemOf } from '../support/planner-responder.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/**
 * Traces end to end: `spool submit`, a planner agent and the writer it delegates to, each its
 * own process, export spans over OTLP/HTTP (http/json) to a receiver this test runs. One trace
 * id runs from the submit through the planner to the delegated child; model calls carry the
 * GenAI attributes; no prompt or reply text unless opted in. A tool-using agent in a process
 * that opted in shows its tool calls and the text; an agent SIGKILLed mid-task is resumed by
 * another process in the same trace.
 */

const SECRET = 'SECRET-PROMPT-42';
/** The tool-using agent's text: its process opted in, so this may be in its spans. */
const OPTED_IN = 'OPTED-IN-77';
const planner = plannerResponder(`${SECRET} child`, `reply to ${SECRET}`);
const answered = (body: MessagesBody) => {
  const last = body.messages?.at(-1)?.content;
  return Array.isArray(last) && last.some((b) => b.type === 'tool_result');
};
/** The toolsmith calls both its tools at once (a defineTool tool, an MCP one), then answers. */
const responder = (body: MessagesBody) =>
  systemOf(body).startsWith('Toolsmith.') && !answered(body)
    ? {
        content: [
          { type: 'tool_use', id: 'tu_lookup', name: 'lookup', input: { q: `${OPTED_IN} order` } },
          { type: 'tool_use', id: 'tu_key', name: 'mcp__echo__key', input: {} },
        ],
        stopReason: 'tool_use',
      }
    : planner(body);

const CONFIG = join(import.meta.dirname, 'traces-fixture', 'spool.config.ts');

let world: World;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
const processes: CliProcess[] = [];
const env = (extra: Record<string, string> = {}) => ({
  natsUrl: world.nats.url,
  anthropicBaseUrl: world.fake.url,
  extraEnv: {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  },
});
/** Starts `spool <args>` with tracing on, once it exports and has replayed. */
async function start(args: string[], extra: Record<string, string> = {}): Promise<CliProcess> {
  const p = startCli([...args, '--config', CONFIG], env(extra));
  processes.push(p);
  await p.waitForLog('exporting traces');
  await p.waitForLog('replayed');
  return p;
}

beforeAll(async () => {
  world = await startWorld({ responder });
  receiver = await startOtlpReceiver();
  for (const args of [['agent', 'planner'], ['agent', 'writer'], ['coordinator']]) await start(args);
  // The content opt-in, on this process only.
  await start(['agent', 'toolsmith'], {
    OTEL_SERVICE_NAME: 'spool-toolsmith',
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true',
  });
}, 90_000);
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
/** The span of that name whose attribute `key` is `value` (a task or message id), once received. */
const spanOf = (name: string, key: string, value: string) =>
  waitFor(`the span ${name} of ${value}`, () =>
    receiver.spans.find((s) => s.name === name && s.attributes[key] === value),
  );

describe('traces', () => {
  it('one trace from spool submit through the planner to its delegated child, GenAI attributes, no prompt text', async () => {
    const out = await runCli(
      ['submit', 'planner', `${SECRET} plan`, '--id', 'tr-1', '--wait', '--json'],
      env(),
    );
    expect(out.code).toBe(0);
    const send = await spanOf('send spool.inbox.planner', 'messaging.message.id', 'tr-1');
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
    const contentKeys = ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.system_instructions'];
    for (const span of spans) for (const k of contentKeys) expect(span.attributes[k]).toBeUndefined();
    // The SDK had nothing to complain about (its diagnostics go to the log, source opentelemetry).
    for (const p of processes) expect(p.stderr).not.toContain('"source":"opentelemetry"');
  });

  it('a workflow run: spool run → the coordinator run and step spans → the step task on its agent', async () => {
    const out = await runCli(['run', 'single', 'go', '--id', 'tr-wf', '--wait', '--json', '--quiet'], env());
    expect(out.code).toBe(0);
    const send = await spanOf('send spool.inbox.coordinator', 'messaging.message.id', 'tr-wf');
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

  it("tool calls: an execute_tool span per call (defineTool and MCP), and with the opt-in the text in the conventions' shape", async () => {
    const out = await runCli(
      ['submit', 'toolsmith', `${OPTED_IN} where is my order?`, '--id', 'tr-tools', '--wait'],
      env(),
    );
    expect(out.code).toBe(0);
    const task = await spanOf('invoke_agent toolsmith', 'spool.task.id', 'tr-tools');
    const spans = await waitFor('its two tool spans and two model calls', () => {
      const found = spansOf(task.traceId);
      return found.filter((s) => s.parentSpanId === task.spanId).length >= 4 ? found : undefined;
    });
    expect(task.service).toBe('spool-toolsmith');
    const [lookup] = byName(spans, 'execute_tool lookup');
    const [key] = byName(spans, 'execute_tool mcp__echo__key');
    for (const tool of [lookup, key]) {
      expect(tool?.parentSpanId).toBe(task.spanId);
      expect(tool?.kind).toBe(1); // INTERNAL
      expect(tool?.attributes['gen_ai.operation.name']).toBe('execute_tool');
    }
    expect(lookup?.attributes).toMatchObject({
      'gen_ai.tool.name': 'lookup',
      'gen_ai.tool.call.id': 'tu_lookup',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.arguments': JSON.stringify({ q: `${OPTED_IN} order` }),
      'gen_ai.tool.call.result': `found ${OPTED_IN} order`,
    });
    expect(key?.attributes).toMatchObject({
      'gen_ai.tool.name': 'mcp__echo__key',
      'gen_ai.tool.call.id': 'tu_key',
      'gen_ai.tool.type': 'extension',
      'gen_ai.tool.call.arguments': '{}',
    });
    // The MCP server echoes the journaled idempotency key the call carried.
    expect(key?.attributes['gen_ai.tool.call.result']).toMatch(/\S/);
    expect(key?.attributes['gen_ai.tool.call.result']).not.toBe('none');

    // The prompt, the reply and the instructions, opted in: the conventions' message schema.
    const chats = byName(spans, 'chat claude-sonnet-4-6');
    expect(chats).toHaveLength(2);
    const json = (span: ReceivedSpan | undefined, k: string) => JSON.parse(String(span?.attributes[k]));
    const [first, second] = [...chats].sort(
      (a, b) =>
        String(a.attributes['gen_ai.input.messages']).length -
        String(b.attributes['gen_ai.input.messages']).length,
    );
    expect(json(first, 'gen_ai.system_instructions')).toEqual([{ type: 'text', content: 'Toolsmith.' }]);
    expect(json(first, 'gen_ai.input.messages')).toEqual([
      { role: 'user', parts: [{ type: 'text', content: `${OPTED_IN} where is my order?` }] },
    ]);
    expect(json(first, 'gen_ai.output.messages')).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'tool_call', id: 'tu_lookup', name: 'lookup', arguments: { q: `${OPTED_IN} order` } },
          { type: 'tool_call', id: 'tu_key', name: 'mcp__echo__key', arguments: {} },
        ],
        finish_reason: 'tool_use',
      },
    ]);
    const toolTurn = (
      json(second, 'gen_ai.input.messages') as { role: string; parts: { type: string; id: string }[] }[]
    ).at(-1);
    expect(toolTurn?.role).toBe('tool');
    expect(toolTurn?.parts.map((p) => `${p.type}:${p.id}`)).toEqual([
      'tool_call_response:tu_lookup',
      'tool_call_response:tu_key',
    ]);
    expect(json(second, 'gen_ai.output.messages')[0]).toMatchObject({
      role: 'assistant',
      finish_reason: 'end_turn',
    });
  });

  it('an agent SIGKILLed mid-task: the process that resumes the task continues its trace', async () => {
    const first = await start(['agent', 'sleeper']);
    // Its model call never answers: the task is journaled as received, and in flight when killed.
    world.fake.stallNext();
    const sent = world.fake.requests.length;
    const out = await runCli(['submit', 'sleeper', 'sleep on it', '--id', 'tr-kill'], env());
    expect(out.code).toBe(0);
    await waitFor("the sleeper's model call", () =>
      world.fake.requests.slice(sent).some((r) => systemOf(r.body as MessagesBody).startsWith('Sleeper.')),
    );
    await first.kill('SIGKILL');
    const send = await spanOf('send spool.inbox.sleeper', 'messaging.message.id', 'tr-kill');
    // Another process takes the name once the dead one's lease expires, and finishes the task.
    await start(['agent', 'sleeper']);
    const result = await results(world.connection).wait('sleeper', 'tr-kill', AbortSignal.timeout(30_000));
    expect(result.status).toBe('completed');
    const resumed = await waitFor('the resumed task span and its model call', () => {
      const task = receiver.spans.find(
        (s) => s.name === 'invoke_agent sleeper' && s.attributes['spool.task.id'] === 'tr-kill',
      );
      const chat =
        task && receiver.spans.find((s) => s.parentSpanId === task.spanId && s.name.startsWith('chat '));
      return task === undefined || chat === undefined ? undefined : { task, chat };
    });
    expect(resumed.task.traceId).toBe(send.traceId);
    expect(resumed.task.parentSpanId).toBe(send.spanId);
    expect(resumed.task.attributes).toMatchObject({
      'spool.task.resumed': true,
      'spool.task.status': 'completed',
    });
    expect(resumed.chat.traceId).toBe(send.traceId);
  });
  it("a keyed agent's instance: its task span is the agent's, with the key as an attribute", async () => {
    const host = startCli(['agent', 'support', '--config', CONFIG], env());
    processes.push(host);
    await host.waitForLog('keyed agent host running');
    const out = await runCli(['submit', 'support/acme', 'hello', '--id', 'tr-key', '--wait'], env());
    expect(out.code).toBe(0);
    const send = await spanOf('send spool.inbox.support.acme', 'messaging.message.id', 'tr-key');
    const task = await spanOf('invoke_agent support', 'spool.task.id', 'tr-key');
    expect(task.traceId).toBe(send.traceId);
    expect(task.parentSpanId).toBe(send.spanId);
    expect(task.attributes).toMatchObject({ 'gen_ai.agent.name': 'support', 'spool.agent.key': 'acme' });
  });
});

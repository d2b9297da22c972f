/**
 * pnpm bench (fifth part): what an MCP call costs against a defineTool call. Two agents (one
 * process, concurrency 16, fake model at zero latency) run --mcp-tasks tasks each, every task
 * one tool call and an answer: `echo` made with defineTool, and server-everything's `echo` over
 * stdio (@modelcontextprotocol/server-everything, a child process). Reported: tasks/s, and the
 * median and p95 from `tool.requested` to `tool.completed` in the history (the call plus its
 * journaling; `at` has millisecond resolution).
 * Options: bench/args.ts (pnpm bench --help).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema, defineTool } from '@spool/core';
import { connect, historyStore, provision, results, submitTask } from '@spool/jetstream';
import { parseAgentCommit } from '@spool/core/internal';
import { startAgentOnNats } from '@spool/runtime';
import { type MessagesBody, startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { z } from 'zod';
import { benchArgs } from './args.ts';

const { values: args, json } = benchArgs('mcp');
const TASKS = args['mcp-tasks'];
const say = (line: string) => {
  if (!json) console.log(line);
};
const require = createRequire(import.meta.url);
const everything = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist',
  'index.js',
);

/** One tool call (the first tool offered), then an answer from its result. */
const responder = (body: MessagesBody) => {
  const last = body.messages?.at(-1);
  if (Array.isArray(last?.content) && last.content.some((b) => b.type === 'tool_result')) return 'done';
  const tool = (body.tools?.[0] as { name: string } | undefined)?.name ?? 'none';
  return { content: [{ type: 'tool_use', id: 'toolu_bench', name: tool, input: { message: 'hi' } }] };
};

const nats = await startNats();
const fake = await startFakeClaude({ responder });
try {
  const logger = pino({ level: 'silent' });
  const connection = await connect({ url: nats.url, name: 'bench-mcp', logger });
  await provision(connection);
  const model = anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 });
  const echo = defineTool({
    name: 'echo',
    description: 'Echoes the message.',
    input: z.object({ message: z.string() }),
    handler: ({ message }) => `Echo: ${message}`,
  });
  const base = { instructions: 'Bench.', model: 'claude-sonnet-4-6', concurrency: 16 };
  const kinds = {
    'bench-define-tool': AgentSpecSchema.parse({ ...base, tools: [echo] }),
    'bench-mcp-tool': AgentSpecSchema.parse({
      ...base,
      mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'], tools: ['echo'] } },
    }),
  };
  const report: Record<string, { tasksPerSec: number; medianMs: number; p95Ms: number }> = {};
  for (const [name, spec] of Object.entries(kinds)) {
    const agent = await startAgentOnNats(connection, { name, spec, holder: 'bench', model, logger });
    await agent.ready;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        submitTask(connection, name, { id: `m-${i}`, input: 'call it' }),
      ),
    );
    await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        results(connection).wait(name, `m-${i}`, AbortSignal.timeout(600_000)),
      ),
    );
    const elapsed = (performance.now() - started) / 1000;
    await agent.stop();
    const requested = new Map<string, number>();
    const spans: number[] = [];
    for await (const commit of historyStore(connection, parseAgentCommit).replay(name))
      for (const event of commit.events) {
        if (event.type === 'tool.requested') requested.set(event.data.taskId, Date.parse(event.data.at));
        if (event.type === 'tool.completed')
          spans.push(Date.parse(event.data.at) - (requested.get(event.data.taskId) ?? Number.NaN));
      }
    spans.sort((a, b) => a - b);
    const at = (q: number) => spans[Math.min(spans.length - 1, Math.floor(q * spans.length))] ?? Number.NaN;
    report[name] = { tasksPerSec: TASKS / elapsed, medianMs: at(0.5), p95Ms: at(0.95) };
    say(
      `${name}: ${TASKS} tasks, ${(TASKS / elapsed).toFixed(0)} tasks/s; tool.requested → tool.completed median ${at(0.5)} ms, p95 ${at(0.95)} ms`,
    );
  }
  if (json) console.log(JSON.stringify({ mcpTasks: TASKS, ...report }));
  await connection.close();
} finally {
  await fake.close();
  await nats.close();
}

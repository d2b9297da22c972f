import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '@spool/coordinator';
import { defineTool, type HistoryEvent, StatusReportSchema, subjects, taskIdOf } from '@spool/core';
import { specHash } from '@spool/core/internal';
import { requests, results, sendControl, submitTask } from '@spool/jetstream';
import { type AgentHandle, connectMcpTools } from '@spool/runtime';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../support/cli.ts';
import {
  everythingHttpServer,
  everythingServer,
  filesystemServer,
  keyEchoServer,
} from '../support/mcp-servers.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, testLogger, type World } from '../support/world.ts';

let world: World;
let running: AgentHandle[] = [];
let dir: string;
beforeAll(async () => {
  world = await startWorld();
  dir = await mkdtemp(join(tmpdir(), 'spool-mcp-e2e-'));
  await writeFile(join(dir, 'q3.csv'), 'region,revenue\nnorth,120\nsouth,80\n');
  await writeFile(join(dir, 'readme.txt'), 'sales data\n');
});
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  running = [];
});
afterAll(async () => {
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

const toolUse = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const submit = (agent: string, id: string, input: string) =>
  submitTask(world.connection, agent, { id, input });
const result = (agent: string, id: string) =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(30_000));
async function eventsOf(agent: string, taskId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(agent)).flatMap((c) => c.events).filter((e) => taskIdOf(e) === taskId);
}
type ToolResultBlock = { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };
const toolResults = (body: unknown): ToolResultBlock[] =>
  ((body as MessagesBody).messages ?? []).flatMap((m) =>
    Array.isArray(m.content) ? (m.content.filter((b) => b.type === 'tool_result') as ToolResultBlock[]) : [],
  );
const textOf = (block: ToolResultBlock | undefined): string =>
  typeof block?.content === 'string'
    ? block.content
    : ((block?.content as unknown as { text: string }[] | undefined) ?? []).map((b) => b.text).join('');

async function runWithMcp(name: string, overrides: Parameters<typeof analystSpec>[0]): Promise<AgentHandle> {
  const spec = analystSpec(overrides);
  const mcp = await connectMcpTools(spec, { logger: testLogger, initialBackoffMs: 50, maxBackoffMs: 200 });
  const agent = await runAgentInProcess(world, name, spec, { mcp });
  running.push(agent);
  return agent;
}

describe('mcp tools - agents use MCP servers, journaled like defineTool calls', () => {
  it('a tool loop through server-filesystem lists a directory, reads a file and answers from it', async () => {
    const agent = await runWithMcp('files-analyst', {
      mcpServers: { files: { ...filesystemServer(dir), tools: ['list_directory', 'read_text_file'] } },
    });
    expect(agent.mcpServers()).toEqual([
      expect.objectContaining({ name: 'files', status: 'ready', restarts: 0 }),
    ]);
    world.fake.script(
      { content: [toolUse('toolu_ls', 'mcp__files__list_directory', { path: dir })] },
      (body) => {
        const listing = textOf(toolResults(body).at(-1));
        const csv = /\[FILE\] (\S+\.csv)/.exec(listing)?.[1] ?? 'none.csv';
        return { content: [toolUse('toolu_cat', 'mcp__files__read_text_file', { path: join(dir, csv) })] };
      },
      (body) => {
        const csv = textOf(toolResults(body).at(-1));
        const total = [...csv.matchAll(/,(\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
        return `Total revenue is ${total}.`;
      },
    );
    const before = world.fake.requests.length;
    await submit('files-analyst', 'fs-1', 'What is the total revenue in the CSV file?');
    const done = await result('files-analyst', 'fs-1');
    expect(done).toMatchObject({ status: 'completed', output: 'Total revenue is 200.' });

    // Offered with the server's JSON Schema, under Claude Code's names; the allow list holds.
    const offered = (world.fake.requests[before]?.body as MessagesBody | undefined)?.tools as {
      name: string;
      input_schema: { properties?: Record<string, unknown> };
    }[];
    expect(offered.map((t) => t.name).sort()).toEqual([
      'mcp__files__list_directory',
      'mcp__files__read_text_file',
    ]);
    expect(
      offered.find((t) => t.name === 'mcp__files__list_directory')?.input_schema.properties,
    ).toHaveProperty('path');

    // Journaled as defineTool calls are: requested (with its key), then completed.
    const events = await eventsOf('files-analyst', 'fs-1');
    const requested = events.filter((e) => e.type === 'tool.requested');
    expect(requested.map((e) => e.data)).toEqual([
      expect.objectContaining({ name: 'mcp__files__list_directory', key: 'files-analyst:fs-1:0:toolu_ls' }),
      expect.objectContaining({ name: 'mcp__files__read_text_file', key: 'files-analyst:fs-1:1:toolu_cat' }),
    ]);
    const completed = events.filter((e) => e.type === 'tool.completed');
    expect(completed.map((e) => e.data)).toEqual([
      expect.objectContaining({ isError: false, content: expect.stringContaining('[FILE] q3.csv') }),
      expect.objectContaining({ isError: false, content: expect.stringContaining('north,120') }),
    ]);
    // Read-only tools are idempotent: no tool.started, no approval.
    expect(events.some((e) => e.type === 'tool.started' || e.type === 'approval.requested')).toBe(false);
    // The MCP tools are part of the spec hash.
    const started = events.find((e) => e.type === 'task.started');
    expect(started?.type === 'task.started' && started.data.specHash).not.toBe(specHash(analystSpec()));
  });

  it('write_file (destructiveHint) waits for approval by default, then writes once', async () => {
    await runWithMcp('files-writer', { mcpServers: { files: filesystemServer(dir) } });
    const path = join(dir, 'summary.txt');
    world.fake.script(
      { content: [toolUse('toolu_w', 'mcp__files__write_file', { path, content: 'total 200' })] },
      'Written.',
    );
    await submit('files-writer', 'fw-1', 'Write the summary.');
    await waitFor('the approval request', async () =>
      (await eventsOf('files-writer', 'fw-1')).some((e) => e.type === 'approval.requested'),
    );
    await expect(readFile(path, 'utf8')).rejects.toThrow();
    await sendControl(world.connection, 'files-writer', { type: 'approve', taskId: 'fw-1' }, 'approve-fw-1');
    expect(await result('files-writer', 'fw-1')).toMatchObject({ status: 'completed', output: 'Written.' });
    expect(await readFile(path, 'utf8')).toBe('total 200');
  });

  it.each([
    ['stdio', async () => ({ server: everythingServer(), close: async () => {} })],
    [
      'Streamable HTTP',
      async () => {
        const http = await everythingHttpServer();
        return { server: { url: http.url }, close: () => http[Symbol.asyncDispose]() };
      },
    ],
  ])(
    'server-everything over %s: structured content, an error result, a slow tool past its timeout',
    async (transport, start) => {
      const { server, close } = await start();
      try {
        const name = transport === 'stdio' ? 'everything-stdio' : 'everything-http';
        // The slow tool runs 5 s; 2 s leaves the quick ones room on a loaded machine.
        await runWithMcp(name, { mcpServers: { everything: { ...server, timeoutMs: 2_000 } } });
        world.fake.script(
          {
            content: [
              toolUse('toolu_w', 'mcp__everything__get-structured-content', { location: 'Chicago' }),
              toolUse('toolu_e', 'mcp__everything__get-sum', { a: 'one', b: 2 }),
              toolUse('toolu_s', 'mcp__everything__trigger-long-running-operation', {
                duration: 5,
                steps: 5,
              }),
              toolUse('toolu_i', 'mcp__everything__get-tiny-image', {}),
            ],
          },
          'Done.',
        );
        const before = world.fake.requests.length;
        await submit(name, 'ev-1', 'Try the tools.');
        expect(await result(name, 'ev-1')).toMatchObject({ status: 'completed', output: 'Done.' });
        const sent = toolResults(world.fake.requests[before + 1]?.body);
        const byId = new Map(sent.map((b) => [b.tool_use_id, b]));
        expect(JSON.parse(textOf(byId.get('toolu_w')))).toEqual({
          temperature: 36,
          conditions: 'Light rain / drizzle',
          humidity: 82,
        });
        expect(byId.get('toolu_w')?.is_error ?? false).toBe(false);
        expect(byId.get('toolu_e')?.is_error).toBe(true);
        expect(byId.get('toolu_s')?.is_error).toBe(true);
        expect(textOf(byId.get('toolu_s'))).toContain('did not answer within 2000 ms');
        // An image reaches the model as an image block after the result's text, journaled with it.
        const image = byId.get('toolu_i')?.content as unknown as Record<string, unknown>[];
        expect(image.map((b) => b.type)).toEqual(['text', 'image']);
        expect(image[0]?.text).toBe("Here's the image you requested:\nThe image above is the MCP logo.");
        expect(image[1]?.source).toMatchObject({ type: 'base64', media_type: 'image/png' });
        const journaled = (await eventsOf(name, 'ev-1')).find(
          (e) => e.type === 'tool.completed' && e.data.toolUseId === 'toolu_i',
        );
        expect(journaled?.type === 'tool.completed' && journaled.data.images?.[0]?.mediaType).toBe(
          'image/png',
        );
      } finally {
        await close();
      }
    },
  );

  it('a server that cannot start: a clear tool_unavailable error, and the agent’s other tools work', async () => {
    const mean = defineTool({
      name: 'mean',
      description: 'The arithmetic mean.',
      input: z.object({ values: z.array(z.number()) }),
      handler: ({ values }) => values.reduce((a, b) => a + b, 0) / values.length,
    });
    const agent = await runWithMcp('half-broken', {
      tools: [mean],
      mcpServers: { broken: { command: process.execPath, args: ['-e', 'process.exit(3)'] } },
    });
    expect(agent.mcpServers()[0]).toMatchObject({ name: 'broken', status: 'restarting', tools: 0 });
    world.fake.script(
      {
        content: [
          toolUse('toolu_m', 'mean', { values: [1, 2, 3] }),
          toolUse('toolu_b', 'mcp__broken__anything', {}),
        ],
      },
      'Mean is 2.',
    );
    const before = world.fake.requests.length;
    await submit('half-broken', 'hb-1', 'Mean of 1,2,3?');
    expect(await result('half-broken', 'hb-1')).toMatchObject({ status: 'completed' });
    const offered = ((world.fake.requests[before]?.body as MessagesBody | undefined)?.tools ?? []) as {
      name: string;
    }[];
    expect(offered.map((t) => t.name)).toEqual(['mean']);
    const sent = new Map(toolResults(world.fake.requests[before + 1]?.body).map((b) => [b.tool_use_id, b]));
    expect(textOf(sent.get('toolu_m'))).toBe('2');
    expect(sent.get('toolu_b')?.is_error).toBe(true);
    expect(textOf(sent.get('toolu_b'))).toMatch(/^tool_unavailable: MCP server "broken" is not running/);

    // Operators see the server's state in `spool status`: the agent's lease carries it.
    const coordinator = await startCoordinator({
      connection: world.connection,
      agents: ['half-broken'],
      logger: testLogger,
    });
    try {
      await coordinator.ready;
      const report = StatusReportSchema.parse(
        JSON.parse(await requests(world.connection).request(subjects.status, '{}', 5_000)),
      );
      const servers = report.agents.find((a) => a.name === 'half-broken')?.mcpServers;
      expect(servers).toEqual([
        expect.objectContaining({
          name: 'broken',
          status: 'restarting',
          tools: 0,
          lastError: expect.any(String),
        }),
      ]);
      expect(servers?.[0]?.failures).toBeGreaterThan(0);
      const cli = await runCli(['status'], { natsUrl: world.nats.url });
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/^ {2}mcp broken: restarting after \d+ failed attempt\(s\) \(.+\)$/m);
    } finally {
      await coordinator.stop();
    }
  });

  it.each<[string, { idempotent?: boolean }]>([
    ['read-only: run again on the restarted server', {}],
    ['not idempotent: waits for an operator', { idempotent: false }],
  ])('the server killed during a call is restarted; %s', async (_, safety) => {
    const name = safety.idempotent === false ? 'server-dies-unsafe' : 'server-dies';
    const agent = await runWithMcp(name, {
      mcpServers: {
        everything: {
          ...everythingServer(),
          timeoutMs: 20_000,
          overrides: { 'trigger-long-running-operation': safety },
        },
      },
    });
    const pid = agent.mcpServers()[0]?.pid;
    expect(pid).toBeTypeOf('number');
    world.fake.script(
      {
        content: [
          toolUse('toolu_slow', 'mcp__everything__trigger-long-running-operation', { duration: 2, steps: 2 }),
        ],
      },
      'Finished.',
    );
    await submit(name, 'die-1', 'Run it.');
    // A non-idempotent call is journaled as started just before it is sent.
    const running = safety.idempotent === false ? 'tool.started' : 'tool.requested';
    await waitFor('the call to be running', async () =>
      (await eventsOf(name, 'die-1')).some((e) => e.type === running),
    );
    process.kill(pid as number, 'SIGKILL');
    if (safety.idempotent === false) {
      await waitFor('the approval request', async () =>
        (await eventsOf(name, 'die-1')).some((e) => e.type === 'approval.requested'),
      );
      await sendControl(world.connection, name, { type: 'approve', taskId: 'die-1' }, 'approve-die-1');
    }
    expect(await result(name, 'die-1')).toMatchObject({ status: 'completed', output: 'Finished.' });
    const completed = (await eventsOf(name, 'die-1')).filter((e) => e.type === 'tool.completed');
    expect(completed.map((e) => e.data)).toEqual([
      expect.objectContaining({
        isError: false,
        content: expect.stringContaining('Long running operation completed'),
      }),
    ]);
    expect(agent.mcpServers()[0]).toMatchObject({ status: 'ready', restarts: 1 });
  });

  it('a call carries its journaled idempotency key in _meta, as a defineTool handler gets it', async () => {
    await runWithMcp('key-echo', { mcpServers: { echo: keyEchoServer() } });
    world.fake.script({ content: [toolUse('toolu_k', 'mcp__echo__key', {})] }, 'Noted.');
    await submit('key-echo', 'key-1', 'Which key?');
    expect(await result('key-echo', 'key-1')).toMatchObject({ status: 'completed' });
    const events = await eventsOf('key-echo', 'key-1');
    const requested = events.find((e) => e.type === 'tool.requested');
    const completed = events.find((e) => e.type === 'tool.completed');
    expect(requested?.type === 'tool.requested' && requested.data.key).toMatch(/^key-echo:key-1:/);
    expect(completed?.type === 'tool.completed' && completed.data.content).toBe(
      requested?.type === 'tool.requested' ? requested.data.key : 'no key',
    );
  });

  it('a server whose tools changed is journaled as a spec change', async () => {
    const name = 'files-drift';
    const run = async (tools: string[]) => {
      const agent = await runWithMcp(name, { mcpServers: { files: { ...filesystemServer(dir), tools } } });
      world.fake.script('ok');
      await submit(name, `drift-${tools.length}`, 'Hello.');
      await result(name, `drift-${tools.length}`);
      await agent.stop();
      running = running.filter((a) => a !== agent);
    };
    await run(['list_directory']);
    await run(['list_directory', 'read_text_file']);
    const changed = (await world.probe.history(name))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 'agent.spec_changed');
    expect(changed).toHaveLength(1);
  });
});

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMcpServer, type McpConnection, McpError, McpErrorCode } from '@spool/mcp';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { everythingHttpServer, everythingServer, filesystemServer } from '../support/mcp-servers.ts';
import { waitFor } from '../support/wait-for.ts';

const logger = pino({ level: 'silent' });
const open: McpConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function connect(...args: Parameters<typeof connectMcpServer>): McpConnection {
  const connection = connectMcpServer(...args);
  open.push(connection);
  return connection;
}

describe('mcp client - server-filesystem over stdio', () => {
  it('lists a directory, reads and writes a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spool-mcp-'));
    try {
      await writeFile(join(dir, 'notes.txt'), 'the answer is 42\n');
      const fs = connect('files', filesystemServer(dir), { logger });
      await fs.firstAttempt();
      expect(fs.state()).toMatchObject({ name: 'files', status: 'ready', restarts: 0 });
      const names = fs.tools().map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['list_directory', 'read_text_file', 'write_file']));
      expect(fs.tools().find((t) => t.name === 'read_text_file')?.annotations.readOnlyHint).toBe(true);

      const listing = await fs.call('list_directory', { path: dir }, { timeoutMs: 10_000 });
      expect(listing).toEqual({
        isError: false,
        content: expect.stringContaining('[FILE] notes.txt'),
        images: [],
      });
      const read = await fs.call('read_text_file', { path: join(dir, 'notes.txt') }, { timeoutMs: 10_000 });
      expect(read.content).toContain('the answer is 42');
      const written = await fs.call(
        'write_file',
        { path: join(dir, 'out.txt'), content: 'written by spool' },
        { timeoutMs: 10_000 },
      );
      expect(written.isError).toBe(false);
      expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('written by spool');
      // Outside the allowed directory: the server answers with an error result, not a throw.
      const denied = await fs.call('read_text_file', { path: '/etc/hostname' }, { timeoutMs: 10_000 });
      expect(denied.isError).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mcp client - server-everything', () => {
  it('renders structured content, returns error results and times out a slow tool (stdio)', async () => {
    const everything = connect('everything', everythingServer(), { logger });
    await everything.firstAttempt();
    expect(everything.state().status).toBe('ready');
    const weather = await everything.call(
      'get-structured-content',
      { location: 'Chicago' },
      { timeoutMs: 10_000 },
    );
    expect(weather.isError).toBe(false);
    expect(JSON.parse(weather.content)).toEqual({
      temperature: 36,
      conditions: 'Light rain / drizzle',
      humidity: 82,
    });

    const bad = await everything.call('get-sum', { a: 'one', b: 2 }, { timeoutMs: 10_000 });
    expect(bad.isError).toBe(true);

    const slow = everything.call(
      'trigger-long-running-operation',
      { duration: 5, steps: 5 },
      { timeoutMs: 300 },
    );
    await expect(slow).rejects.toMatchObject({ name: 'McpError', code: McpErrorCode.Timeout });
    // The connection survives a timed-out call.
    expect(
      (await everything.call('echo', { message: 'still here' }, { timeoutMs: 10_000 })).content,
    ).toContain('still here');
  });

  it('works over Streamable HTTP with headers from the environment', async () => {
    await using server = await everythingHttpServer();
    const everything = connect(
      'everything',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
      { url: server.url, headers: { 'x-token': '${SPOOL_TEST_MCP_TOKEN}' } },
      { logger, env: { SPOOL_TEST_MCP_TOKEN: 'secret' } },
    );
    await everything.firstAttempt();
    expect(everything.state().status).toBe('ready');
    const echoed = await everything.call('echo', { message: 'over http' }, { timeoutMs: 10_000 });
    expect(echoed).toEqual({ isError: false, content: 'Echo: over http', images: [] });
    const weather = await everything.call(
      'get-structured-content',
      { location: 'New York' },
      { timeoutMs: 10_000 },
    );
    expect(JSON.parse(weather.content)).toMatchObject({ temperature: 33 });
  });
});

describe('mcp client - faults', () => {
  it('a server that cannot start is retried with backoff, and its calls fail with tool_unavailable', async () => {
    const broken = connect(
      'broken',
      { command: process.execPath, args: ['-e', 'process.stderr.write("no config\\n"); process.exit(3)'] },
      { logger, initialBackoffMs: 20, maxBackoffMs: 50 },
    );
    await broken.firstAttempt();
    await waitFor('two failed starts', () => broken.state().failures >= 2);
    expect(broken.state()).toMatchObject({ status: 'restarting', tools: 0 });
    expect(broken.state().lastError).toContain('no config');
    const call = broken.call('anything', {}, { timeoutMs: 100 });
    await expect(call).rejects.toBeInstanceOf(McpError);
    await expect(call).rejects.toMatchObject({ code: McpErrorCode.ToolUnavailable });
    await expect(call).rejects.toThrow(/tool_unavailable: MCP server "broken" is not running/);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
  it('a missing ${VAR} is named (never a value) and the server is not started', async () => {
    const server = connect(
      'files',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
      { ...filesystemServer(tmpdir()), env: { TOKEN: '${SPOOL_TEST_UNSET_VAR}' } },
      {
        logger,
        env: {},
        initialBackoffMs: 10_000,
      },
    );
    await server.firstAttempt();
    expect(server.state().lastError).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
      'env.TOKEN of MCP server "files" uses ${SPOOL_TEST_UNSET_VAR}',
    );
  });

  it('a server killed mid-run is restarted and the next call works', async () => {
    const everything = connect('everything', everythingServer(), { logger, initialBackoffMs: 20 });
    await everything.firstAttempt();
    const pid = everything.state().pid;
    expect(pid).toBeTypeOf('number');
    const inFlight = everything.call(
      'trigger-long-running-operation',
      { duration: 10, steps: 10 },
      { timeoutMs: 20_000 },
    );
    process.kill(pid as number, 'SIGKILL');
    await expect(inFlight).rejects.toMatchObject({ code: McpErrorCode.ConnectionLost });
    const echoed = await everything.call('echo', { message: 'back' }, { timeoutMs: 20_000 });
    expect(echoed.content).toContain('back');
    expect(everything.state()).toMatchObject({ status: 'ready', restarts: 1 });
  });
});

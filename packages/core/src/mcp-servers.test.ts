import { describe, expect, it } from 'vitest';
import { parseConfig, specHash } from './config.ts';
import { mcpToolName, mcpToolSafety } from './mcp-servers.ts';

const agent = { instructions: 'Help.', model: 'claude-sonnet-4-6' };
const files = { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] };

describe('mcp-servers - config', () => {
  it('an agent names its own server or a shared top-level one; its own fields win', () => {
    const config = parseConfig({
      mcpServers: { files: { ...files, timeoutMs: 5_000 } },
      agents: {
        a: { ...agent, mcpServers: { files: { tools: ['read_text_file'] } } },
        b: { ...agent, mcpServers: { api: { url: 'https://mcp.example.com/mcp', headers: { auth: 'x' } } } },
        c: agent,
      },
    });
    expect(config.agents.a?.mcpServers.files).toEqual({
      ...files,
      timeoutMs: 5_000,
      tools: ['read_text_file'],
    });
    expect(config.agents.b?.mcpServers.api?.url).toBe('https://mcp.example.com/mcp');
    expect(config.agents.c?.mcpServers).toEqual({});
  });

  it.each([
    [
      { a: { ...agent, mcpServers: { files: {} } } },
      {},
      'agents.a.mcpServers.files: needs "command" or "url", or a top-level mcpServers.files to share',
    ],
    [
      { a: agent },
      { files: { tools: [] } },
      'mcpServers.files: needs "command" (stdio) or "url" (Streamable HTTP)',
    ],
    [
      { a: { ...agent, mcpServers: { x: { command: 'a', url: 'http://h/mcp' } } } },
      {},
      'agents.a.mcpServers.x.url: give "command" (stdio) or "url" (HTTP), not both',
    ],
    [
      { a: { ...agent, mcpServers: { x: { url: 'http://h/mcp', env: {} } } } },
      {},
      'agents.a.mcpServers.x.env: is for a stdio server: add "command"',
    ],
    [
      { a: { ...agent, mcpServers: { my_server: files } } },
      {},
      'agents.a.mcpServers.my_server: invalid MCP server name: MCP server names use letters',
    ],
    [
      { a: { ...agent, mcpServers: { x: { ...files, port: 1 } } } },
      {},
      'agents.a.mcpServers.x: unknown field "port": remove it (MCP server fields are command',
    ],
  ])('a bad entry is one line naming the field and the fix (%#)', (agents, mcpServers, message) => {
    expect(() => parseConfig({ agents, mcpServers }, 'spool.config.json')).toThrow(message);
  });
});

describe('mcp-servers - safety from annotations, overridden by the config', () => {
  it.each([
    [{ readOnlyHint: true }, { idempotent: true, requiresApproval: false }],
    [{ idempotentHint: true }, { idempotent: true, requiresApproval: false }],
    [{}, { idempotent: false, requiresApproval: false }],
    [
      { readOnlyHint: false, idempotentHint: true, destructiveHint: true },
      { idempotent: true, requiresApproval: true },
    ],
    [
      { readOnlyHint: true, destructiveHint: true },
      { idempotent: true, requiresApproval: false },
    ],
  ])('annotations %j → %j', (annotations, safety) => {
    expect(mcpToolSafety({ command: 'x' }, 't', annotations)).toEqual(safety);
  });

  it('the server, then the tool, wins over the annotations', () => {
    const server = { command: 'x', requiresApproval: false, overrides: { move_file: { idempotent: true } } };
    expect(mcpToolSafety(server, 'write_file', { destructiveHint: true, idempotentHint: true })).toEqual({
      idempotent: true,
      requiresApproval: false,
    });
    expect(mcpToolSafety(server, 'move_file', { destructiveHint: true })).toEqual({
      idempotent: true,
      requiresApproval: false,
    });
    expect(mcpToolSafety({ command: 'x', idempotent: true }, 'edit', {}).idempotent).toBe(true);
  });

  it('names tools as Claude Code does', () => {
    expect(mcpToolName('files', 'read_text_file')).toBe('mcp__files__read_text_file');
  });
});

describe('mcp-servers - spec hash', () => {
  it('is unchanged without MCP tools, and changes with the tools a server lists', () => {
    const spec = parseConfig({ agents: { a: agent } }).agents.a;
    if (spec === undefined) throw new Error('no spec');
    const tool = { name: 'mcp__f__read', description: 'Read.', input_schema: { type: 'object' } };
    const safe = { idempotent: true, requiresApproval: false };
    expect(specHash(spec, [])).toBe(specHash(spec));
    const one = specHash(spec, [{ ...tool, ...safe }]);
    expect(one).not.toBe(specHash(spec));
    expect(specHash(spec, [{ ...tool, ...safe, description: 'Read a file.' }])).not.toBe(one);
    expect(specHash(spec, [{ ...tool, ...safe, requiresApproval: true }])).not.toBe(one);
  });
});

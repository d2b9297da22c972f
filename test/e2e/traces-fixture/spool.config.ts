import { fileURLToPath } from 'node:url';
import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

// The traces test's agents. `toolsmith` calls a defineTool tool and an MCP server's tool (the
// key-echo server of packages/mcp's tests); `sleeper` is the one the test kills mid-task;
// `support` is keyed.
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks an order up.',
  input: z.object({ q: z.string() }),
  handler: ({ q }) => `found ${q}`,
});
const keyEcho = fileURLToPath(new URL('../../../packages/mcp/test/key-echo-server.mjs', import.meta.url));

export default defineConfig({
  agents: {
    writer: { instructions: 'Writer.', model: 'claude-sonnet-4-6' },
    planner: { instructions: 'Planner.', model: 'claude-sonnet-4-6', delegation: { agents: ['writer'] } },
    toolsmith: {
      instructions: 'Toolsmith.',
      model: 'claude-sonnet-4-6',
      tools: [lookup],
      mcpServers: { echo: { command: process.execPath, args: [keyEcho] } },
    },
    sleeper: { instructions: 'Sleeper.', model: 'claude-sonnet-4-6', leaseTtlMs: 2_000 },
    support: { instructions: 'Support.', model: 'claude-sonnet-4-6', keyed: true },
  },
  workflows: { single: { steps: { only: { agent: 'writer', input: 'step {{input}}' } } } },
});

// A stdio MCP server for tests, built on the official SDK: its one tool answers with the
// idempotency key the client sent in the request's _meta (or "none").
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'key-echo', version: '1.0.0' });
server.registerTool(
  'key',
  { description: 'Says which idempotency key the call carried.', annotations: { idempotentHint: true } },
  async (extra) => ({
    content: [{ type: 'text', text: String(extra?._meta?.['dev.spool/idempotency-key'] ?? 'none') }],
  }),
);
await server.connect(new StdioServerTransport());

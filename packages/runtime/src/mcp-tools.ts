import {
  type AgentSpec,
  DEFAULT_MCP_TIMEOUT_MS,
  MCP_TOOL_PREFIX,
  type McpServerSpec,
  type McpToolHashEntry,
  mcpToolName,
  mcpToolSafety,
  type ToolDefinition,
} from '@spool/core/internal';
import { connectMcpServer, type McpConnection, type McpServerConfig, type McpServerState } from '@spool/mcp';
import type { Logger } from 'pino';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** One MCP tool as the agent offers it. */
export interface McpToolEntry {
  /** `mcp__<server>__<tool>`: what the model calls and the journal records. */
  readonly name: string;
  readonly server: string;
  /** The tool's name on its server. */
  readonly tool: string;
  readonly definition: ToolDefinition;
  readonly idempotent: boolean;
  readonly requiresApproval: boolean;
  readonly timeoutMs: number;
  readonly connection: McpConnection;
}

/**
 * The agent's MCP servers and the tools they listed at start. The offered list is fixed for
 * the agent's life (it is part of the spec hash); a server that restarts serves the same names.
 */
export interface McpTools {
  readonly entries: readonly McpToolEntry[];
  definitions(): ToolDefinition[];
  hashEntries(): McpToolHashEntry[];
  /** The entry for `name`; for a configured server whose tool was not listed (down at start), a conservative one. */
  find(name: string): McpToolEntry | undefined;
  states(): McpServerState[];
  close(): Promise<void>;
}

export interface McpToolsOptions {
  readonly logger: Logger;
  /** How long the agent waits at start for each server's first attempt (default 60 s). */
  readonly startTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** No servers: what an agent without `mcpServers` has. */
export const noMcpTools: McpTools = {
  entries: [],
  definitions: () => [],
  hashEntries: () => [],
  find: () => undefined,
  states: () => [],
  close: async () => {},
};

/**
 * Connects the spec's MCP servers and lists their tools. Waits for each server's first
 * attempt: a server that fails it offers no tools now, keeps restarting in the background,
 * and its calls fail with `tool_unavailable`; the agent's other tools work.
 */
export async function connectMcpTools(spec: AgentSpec, options: McpToolsOptions): Promise<McpTools> {
  const servers = Object.entries(spec.mcpServers);
  if (servers.length === 0) return noMcpTools;
  const { logger } = options;
  const connections = new Map<string, { spec: McpServerSpec; connection: McpConnection }>();
  for (const [name, server] of servers)
    connections.set(name, {
      spec: server,
      connection: connectMcpServer(name, transportOf(server), {
        logger,
        ...(options.initialBackoffMs === undefined ? {} : { initialBackoffMs: options.initialBackoffMs }),
        ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
      }),
    });
  await Promise.all([...connections.values()].map((c) => c.connection.firstAttempt(options.startTimeoutMs)));

  const taken = new Set(spec.tools.map((t) => t.name));
  const entries: McpToolEntry[] = [];
  for (const [server, { spec: serverSpec, connection }] of connections) {
    const listed = connection.tools();
    if (connection.state().status !== 'ready')
      logger.error(
        { mcpServer: server, err: connection.state().lastError },
        'MCP server did not start: its tools are not offered and its calls fail with tool_unavailable',
      );
    const allowed = serverSpec.tools;
    for (const missing of allowed?.filter((t) => !listed.some((l) => l.name === t)) ?? [])
      if (connection.state().status === 'ready')
        logger.warn(
          { mcpServer: server, tool: missing },
          'MCP tool in the allow list is not listed by its server',
        );
    for (const tool of listed) {
      if (allowed !== undefined && !allowed.includes(tool.name)) continue;
      const name = mcpToolName(server, tool.name);
      if (!TOOL_NAME.test(name) || taken.has(name)) {
        logger.warn(
          { mcpServer: server, tool: tool.name, name },
          'MCP tool skipped: its name is too long, invalid or taken',
        );
        continue;
      }
      taken.add(name);
      entries.push({
        name,
        server,
        tool: tool.name,
        definition: { name, description: tool.description, input_schema: tool.inputSchema },
        ...mcpToolSafety(serverSpec, tool.name, tool.annotations),
        timeoutMs: serverSpec.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS,
        connection,
      });
    }
  }
  return {
    entries,
    definitions: () => entries.map((e) => e.definition),
    hashEntries: () =>
      entries.map((e) => ({
        ...e.definition,
        idempotent: e.idempotent,
        requiresApproval: e.requiresApproval,
      })),
    find: (name) => entries.find((e) => e.name === name) ?? unlisted(name, connections),
    states: () => [...connections.values()].map((c) => c.connection.state()),
    close: async () => {
      await Promise.all([...connections.values()].map((c) => c.connection.close()));
    },
  };
}

/**
 * A call to a configured server's tool that was not offered at start (the server was down, or
 * a call journaled before a restart): it goes to the server, which may be back, with the
 * safety of an unannotated tool unless the config says otherwise.
 */
function unlisted(
  name: string,
  connections: ReadonlyMap<string, { spec: McpServerSpec; connection: McpConnection }>,
): McpToolEntry | undefined {
  if (!name.startsWith(MCP_TOOL_PREFIX)) return undefined;
  const rest = name.slice(MCP_TOOL_PREFIX.length);
  const split = rest.indexOf('__');
  if (split <= 0) return undefined;
  const server = rest.slice(0, split);
  const tool = rest.slice(split + 2);
  const found = connections.get(server);
  if (found === undefined || tool === '') return undefined;
  if (found.spec.tools !== undefined && !found.spec.tools.includes(tool)) return undefined;
  return {
    name,
    server,
    tool,
    definition: { name, description: '', input_schema: { type: 'object' } },
    ...mcpToolSafety(found.spec, tool, {}),
    timeoutMs: found.spec.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS,
    connection: found.connection,
  };
}

function transportOf(server: McpServerSpec): McpServerConfig {
  if (server.command !== undefined)
    return { command: server.command, args: server.args, env: server.env, cwd: server.cwd };
  if (server.url !== undefined) return { url: server.url, headers: server.headers };
  // The config's check makes every resolved server one or the other.
  throw new Error('an MCP server needs command or url');
}

import { z } from 'zod';

/** A call to an MCP tool that has not answered after this long fails with `timeout` (the model is told). */
export const DEFAULT_MCP_TIMEOUT_MS = 60_000;

/** Server names: no underscores, so `mcp__<server>__<tool>` splits one way only. */
export const MCP_SERVER_NAME_PATTERN = /^[a-zA-Z0-9-]{1,32}$/;

/** Prefix of the tools an agent gets from MCP servers (Claude Code's naming). */
export const MCP_TOOL_PREFIX = 'mcp__';

const SafetySchema = z.strictObject({
  /** Safe to run again after a crash between request and result (default: from the tool's annotations). */
  idempotent: z.boolean().optional(),
  /** Every call waits for `spool approve` (default: from the tool's annotations). */
  requiresApproval: z.boolean().optional(),
});

const Strings = z.record(z.string(), z.string());

/**
 * One MCP server: `command` (stdio, a child of the agent process) or `url` (Streamable HTTP).
 * On an agent, an entry with neither names the top-level server of the same name and may set
 * `tools`, `timeoutMs` and the safety fields for this agent. `${VAR}` in `env` and `headers`
 * is read from the environment when connecting: the config, journal and logs never hold it.
 */
export const McpServerSpecSchema = z
  .strictObject({
    command: z.string().trim().min(1, 'must be a non-empty command (or use "url")').optional(),
    args: z.array(z.string()).optional(),
    env: Strings.optional(),
    cwd: z.string().min(1).optional(),
    url: z.url('must be an http(s) URL of a Streamable HTTP MCP endpoint').optional(),
    headers: Strings.optional(),
    /** Only these of the server's tools are offered (default: all it lists). */
    tools: z.array(z.string().min(1)).optional(),
    /** Per call (default 60000). */
    timeoutMs: z
      .number()
      .int('must be a whole number')
      .min(100, 'must be at least 100 (ms)')
      .max(3_600_000, 'must be at most 3600000 (ms)')
      .optional(),
    ...SafetySchema.shape,
    /** Per tool (by the server's tool name), over the server-wide fields and the annotations. */
    overrides: z.record(z.string(), SafetySchema).optional(),
  })
  .superRefine((server, ctx) => {
    if (server.command !== undefined && server.url !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'give "command" (stdio) or "url" (HTTP), not both',
      });
    const stdioOnly = (['args', 'env', 'cwd'] as const).filter((f) => server[f] !== undefined);
    if (server.command === undefined && stdioOnly.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: [stdioOnly[0] as string],
        message: 'is for a stdio server: add "command"',
      });
    if (server.headers !== undefined && server.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['headers'], message: 'is for an HTTP server: add "url"' });
  });
export type McpServerSpec = z.infer<typeof McpServerSpecSchema>;

export const McpServersSchema = z
  .record(
    z.string().regex(MCP_SERVER_NAME_PATTERN, 'MCP server names use letters, digits and dashes (up to 32)'),
    McpServerSpecSchema,
  )
  .default({});

/** The parts of a parsed config the config-wide check reads. */
interface ConfigView {
  readonly mcpServers?: Record<string, McpServerSpec>;
  readonly agents: Record<string, { readonly mcpServers?: Record<string, McpServerSpec> }>;
}

const isDefined = (server: McpServerSpec): boolean =>
  server.command !== undefined || server.url !== undefined;

/** Config-wide check: a top-level server says how to reach it; an agent's reference names one. */
export function validateMcpServers(config: ConfigView, ctx: z.RefinementCtx): void {
  const shared = config.mcpServers ?? {};
  for (const [name, server] of Object.entries(shared))
    if (server !== undefined && !isDefined(server))
      ctx.addIssue({
        code: 'custom',
        path: ['mcpServers', name],
        message: 'needs "command" (stdio) or "url" (Streamable HTTP)',
      });
  for (const [agent, spec] of Object.entries(config.agents ?? {}))
    for (const [name, server] of Object.entries(spec?.mcpServers ?? {}))
      if (server !== undefined && !isDefined(server) && shared[name] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['agents', agent, 'mcpServers', name],
          message: `needs "command" or "url", or a top-level mcpServers.${name} to share`,
        });
}

/** Resolves each agent's references to top-level servers: the agent's own fields win. */
export function resolveMcpServers<C extends ConfigView>(config: C): C {
  const shared = config.mcpServers ?? {};
  const agents = Object.fromEntries(
    Object.entries(config.agents).map(([agent, spec]) => {
      const own = spec.mcpServers ?? {};
      if (Object.keys(own).length === 0) return [agent, spec];
      const resolved = Object.fromEntries(
        Object.entries(own).map(([name, server]) => [
          name,
          isDefined(server) ? server : { ...shared[name], ...withoutUndefined(server) },
        ]),
      );
      return [agent, { ...spec, mcpServers: resolved }];
    }),
  );
  return { ...config, agents };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What an MCP server says about a tool (hints only). */
export interface McpAnnotations {
  readonly readOnlyHint?: boolean | undefined;
  readonly destructiveHint?: boolean | undefined;
  readonly idempotentHint?: boolean | undefined;
}

export interface McpToolSafety {
  readonly idempotent: boolean;
  readonly requiresApproval: boolean;
}

/**
 * The safety of one MCP tool. From its annotations: read-only or idempotent → may run again
 * after a crash; neither → not idempotent (an interrupted call waits for an operator); an
 * explicit `destructiveHint: true` on a tool that is not read-only → every call waits for
 * approval. MCP reads a missing `destructiveHint` as destructive, but gating every unannotated
 * tool would make most servers unusable, so only an explicit hint gates. The server's fields,
 * then the tool's `overrides`, win over the annotations.
 */
export function mcpToolSafety(
  server: McpServerSpec,
  tool: string,
  annotations: McpAnnotations,
): McpToolSafety {
  const readOnly = annotations.readOnlyHint === true;
  const override = server.overrides?.[tool];
  return {
    idempotent:
      override?.idempotent ?? server.idempotent ?? (readOnly || annotations.idempotentHint === true),
    requiresApproval:
      override?.requiresApproval ??
      server.requiresApproval ??
      (!readOnly && annotations.destructiveHint === true),
  };
}

/** `mcp__<server>__<tool>`, as Claude Code names MCP tools. */
export function mcpToolName(server: string, tool: string): string {
  return `${MCP_TOOL_PREFIX}${server}__${tool}`;
}

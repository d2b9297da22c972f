import { z } from 'zod';

/** What a tool handler gets besides its input. */
export interface ToolContext {
  /** `<agent>:<taskId>:<step>:<toolUseId>`: the same on every run of this call, so a handler can deduplicate side effects. */
  readonly key: string;
  /** The agent's name (a keyed agent's instance: `<agent>.<key>`). */
  readonly agent: string;
  readonly taskId: string;
  /** Aborted when the task is cancelled or the agent stops. */
  readonly signal: AbortSignal;
  /**
   * A keyed agent's instance: its agent and key, e.g. the customer whose records a lookup
   * tool may read (and no other's).
   */
  readonly keyed?: { readonly agent: string; readonly key: string };
}

/**
 * A tool an agent may use: a name, a description, a zod input schema (sent to Claude as
 * JSON Schema) and a handler. Tools run at least once per call: after a crash between the
 * request and the journaled result, the handler runs again with the same `key`.
 */
export interface Tool<I = unknown> {
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<I>;
  readonly handler: (input: I, context: ToolContext) => unknown;
  /**
   * Safe to run twice for one call (default true). A tool marked false is journaled as
   * started before it runs; if the agent stops before its result is journaled, the call waits
   * for an operator (approve: run it again; deny: the model is told it failed) instead of
   * running again blindly.
   */
  readonly idempotent?: boolean;
  /** Every call waits for an operator's approval (`spool approve` / `spool deny`) before it runs. */
  readonly requiresApproval?: boolean;
}

/** Typed helper: the handler's input type comes from the schema. */
export function defineTool<S extends z.ZodType>(tool: {
  readonly name: string;
  readonly description: string;
  readonly input: S;
  readonly handler: (input: z.infer<S>, context: ToolContext) => unknown;
  readonly idempotent?: boolean;
  readonly requiresApproval?: boolean;
}): Tool {
  return tool as unknown as Tool;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Validates a tool given in a config (a .ts config: JSON cannot hold handlers). */
export const ToolSchema = z.custom<Tool>((value) => {
  const tool = value as Partial<Tool> | null;
  return (
    typeof tool === 'object' &&
    tool !== null &&
    typeof tool.name === 'string' &&
    TOOL_NAME.test(tool.name) &&
    typeof tool.description === 'string' &&
    tool.description.trim().length > 0 &&
    typeof (tool.input as { safeParse?: unknown } | undefined)?.safeParse === 'function' &&
    typeof tool.handler === 'function'
  );
}, 'must be a tool made with defineTool: a name ([a-zA-Z0-9_-], up to 64), a description, a zod input schema and a handler function (tools need a spool.config.ts)');

/** A tool as the Messages API takes it. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
}

/** The tools' definitions for the Messages API: the zod schemas as JSON Schema. */
export function toolDefinitions(tools: readonly Tool[]): ToolDefinition[] {
  return tools.map((tool) => {
    const { $schema: _schema, ...schema } = z.toJSONSchema(tool.input, { io: 'input' }) as Record<
      string,
      unknown
    >;
    return { name: tool.name, description: tool.description, input_schema: schema };
  });
}

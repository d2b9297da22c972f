/** How to reach one MCP server: a child process over stdio, or a Streamable HTTP endpoint. */
export type McpServerConfig =
  | {
      readonly command: string;
      readonly args?: readonly string[] | undefined;
      /** Added to a minimal inherited environment (PATH, HOME…); `${VAR}` is read from ours. */
      readonly env?: Readonly<Record<string, string>> | undefined;
      readonly cwd?: string | undefined;
    }
  | {
      readonly url: string;
      /** Sent with every request; `${VAR}` is read from the environment. */
      readonly headers?: Readonly<Record<string, string>> | undefined;
    };

/** What a server says about a tool's behaviour (hints: MCP does not guarantee them). */
export interface McpToolAnnotations {
  readonly readOnlyHint?: boolean | undefined;
  readonly destructiveHint?: boolean | undefined;
  readonly idempotentHint?: boolean | undefined;
  readonly openWorldHint?: boolean | undefined;
}

/** A tool as the server lists it. */
export interface McpTool {
  readonly name: string;
  readonly description: string;
  /** The tool's input JSON Schema, as the server gives it. */
  readonly inputSchema: Record<string, unknown>;
  readonly annotations: McpToolAnnotations;
}

/** The outcome of one call, rendered as text for a `tool_result`. */
/** An image a tool returned, of a type the model reads. */
export interface McpImage {
  readonly mediaType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
  /** base64 */
  readonly data: string;
}

export interface McpCallResult {
  readonly content: string;
  /** Images shown to the model with the text (see renderResult). */
  readonly images: readonly McpImage[];
  /** The server said the call failed (`isError`): the model reads it as an error. */
  readonly isError: boolean;
}

export const McpServerStatus = {
  Starting: 'starting',
  Ready: 'ready',
  /** Failed to start or died; the next attempt comes after a backoff. */
  Restarting: 'restarting',
  Stopped: 'stopped',
} as const;
export type McpServerStatus = (typeof McpServerStatus)[keyof typeof McpServerStatus];

/** A server's state, for logs and status. Never holds env or header values. */
export interface McpServerState {
  readonly name: string;
  readonly status: McpServerStatus;
  /** Connections made after the first one. */
  readonly restarts: number;
  /** Failed attempts since the last successful connection. */
  readonly failures: number;
  readonly tools: number;
  /** A stdio server's process id while it is connected. */
  readonly pid?: number | undefined;
  readonly lastError?: string | undefined;
}

/** pino-compatible; the package never writes to the console. */
export interface McpLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

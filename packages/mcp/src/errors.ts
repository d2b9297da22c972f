export const McpErrorCode = {
  /** The server is not connected (never came up, or died and is not back within the call's time). */
  ToolUnavailable: 'tool_unavailable',
  /** The connection closed while the call was in flight: it may or may not have taken effect. */
  ConnectionLost: 'connection_lost',
  /** The call got no answer within its `timeoutMs`; it may still take effect on the server. */
  Timeout: 'timeout',
  /** `${VAR}` in env or headers names a variable that is not set. */
  MissingVariable: 'missing_variable',
} as const;
export type McpErrorCode = (typeof McpErrorCode)[keyof typeof McpErrorCode];

/** An MCP call that did not produce a result. Branch on `code`, never on the message. */
export class McpError extends Error {
  override readonly name = 'McpError';
  readonly code: McpErrorCode;
  readonly server: string;
  constructor(code: McpErrorCode, server: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.server = server;
  }
}

export function ensureError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

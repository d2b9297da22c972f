export type { McpCallOptions, McpConnection, McpConnectOptions } from './connection.ts';
export { connectMcpServer } from './connection.ts';
export { McpError, McpErrorCode } from './errors.ts';
export type { CallToolResultLike } from './render.ts';
export { renderResult } from './render.ts';
export type {
  McpCallResult,
  McpLogger,
  McpServerConfig,
  McpServerState,
  McpTool,
  McpToolAnnotations,
} from './types.ts';
export { McpServerStatus } from './types.ts';
export { expandVariables } from './variables.ts';

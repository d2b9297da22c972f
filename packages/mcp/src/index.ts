export { connectMcpServer, IDEMPOTENCY_KEY_META } from './connection.ts';
export type { McpCallOptions, McpConnection, McpConnectOptions } from './connection.ts';
export { McpError, McpErrorCode } from './errors.ts';
export { MAX_IMAGE_CHARS, renderResult } from './render.ts';
export type { CallToolResultLike, RenderedResult } from './render.ts';
export { McpServerStatus } from './types.ts';
export type {
  McpCallResult,
  McpImage,
  McpLogger,
  McpServerConfig,
  McpServerState,
  McpTool,
  McpToolAnnotations,
} from './types.ts';
export { expandVariables } from './variables.ts';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError as SdkMcpError } from '@modelcontextprotocol/sdk/types.js';
import { ensureError, McpError, McpErrorCode } from './errors.ts';
import { type CallToolResultLike, renderResult } from './render.ts';
import {
  type McpCallResult,
  type McpLogger,
  type McpServerConfig,
  type McpServerState,
  McpServerStatus,
  type McpTool,
} from './types.ts';
import { expandVariables } from './variables.ts';

export interface McpConnectOptions {
  readonly logger: McpLogger;
  /** Where `${VAR}` is read from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** First wait before a restart (default 500 ms), doubled per failure up to `maxBackoffMs` (default 30 s). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long one connection attempt (spawn or request, then initialize and list) may take (default 30 s). */
  readonly connectTimeoutMs?: number;
}

export interface McpCallOptions {
  /** The call fails with `timeout` after this long without an answer. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /**
   * The call's idempotency key (the same on a re-run after a crash), sent in the request's
   * `_meta` as IDEMPOTENCY_KEY_META so a server can recognise a repeated call.
   */
  readonly idempotencyKey?: string;
}

/** The `_meta` field of a tools/call request that carries Spool's idempotency key. */
export const IDEMPOTENCY_KEY_META = 'dev.spool/idempotency-key';

/**
 * One MCP server, kept connected: a server that fails to start or dies is restarted with
 * backoff (logged by name) until `close()`. A stdio server is a child of this process and is
 * stopped by `close()`; if this process dies, the child sees its stdin close.
 */
export interface McpConnection {
  readonly name: string;
  /** Resolves after the first attempt settles (connected or failed), or after `timeoutMs`. */
  firstAttempt(timeoutMs?: number): Promise<void>;
  /** The tools listed at the newest connection (empty before the first one). */
  tools(): readonly McpTool[];
  /**
   * Calls a tool. Resolves with its result (`isError` included); rejects with an `McpError`:
   * `tool_unavailable` if the server never came up, or is restarting and not back within `timeoutMs`; `timeout` if the
   * call is not answered in time, `connection_lost` if the server died during the call.
   */
  call(tool: string, input: unknown, options: McpCallOptions): Promise<McpCallResult>;
  state(): McpServerState;
  close(): Promise<void>;
}

/** Starts connecting to a server (in the background) and returns its connection. */
export function connectMcpServer(
  name: string,
  config: McpServerConfig,
  options: McpConnectOptions,
): McpConnection {
  return new KeptConnection(name, config, options);
}

const STDERR_LINES = 20;

class KeptConnection implements McpConnection {
  private status: McpServerStatus = McpServerStatus.Starting;
  private client: Client | undefined;
  private listed: McpTool[] = [];
  private restarts = 0;
  private failures = 0;
  private connections = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly waiters = new Set<() => void>();
  private readonly settled: Promise<void>;
  private settle!: () => void;
  private stderr: string[] = [];
  private pid: number | undefined;

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    private readonly options: McpConnectOptions,
  ) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    void this.attempt();
  }

  async firstAttempt(timeoutMs = 60_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settled,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  tools(): readonly McpTool[] {
    return this.listed;
  }

  state(): McpServerState {
    return {
      name: this.name,
      status: this.status,
      restarts: this.restarts,
      failures: this.failures,
      tools: this.listed.length,
      ...(this.pid === undefined || this.status !== McpServerStatus.Ready ? {} : { pid: this.pid }),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  async call(tool: string, input: unknown, options: McpCallOptions): Promise<McpCallResult> {
    const started = Date.now();
    const client = await this.connected(options.timeoutMs, options.signal);
    if (client === undefined) {
      const why = this.lastError === undefined ? '' : ` (last error: ${this.lastError})`;
      throw new McpError(
        McpErrorCode.ToolUnavailable,
        this.name,
        `tool_unavailable: MCP server "${this.name}" is not running${why}; its tools cannot be used now`,
      );
    }
    const timeout = Math.max(1, options.timeoutMs - (Date.now() - started));
    try {
      const result = (await client.callTool(
        {
          name: tool,
          arguments: (input ?? {}) as Record<string, unknown>,
          ...(options.idempotencyKey === undefined
            ? {}
            : { _meta: { [IDEMPOTENCY_KEY_META]: options.idempotencyKey } }),
        },
        undefined,
        { timeout, ...(options.signal === undefined ? {} : { signal: options.signal }) },
      )) as CallToolResultLike;
      return { ...renderResult(result), isError: result.isError === true };
    } catch (err) {
      throw this.callError(tool, options.timeoutMs, err);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    this.status = McpServerStatus.Stopped;
    this.wake();
    this.settle();
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }

  private callError(tool: string, timeoutMs: number, err: unknown): Error {
    if (err instanceof SdkMcpError && err.code === ErrorCode.RequestTimeout)
      return new McpError(
        McpErrorCode.Timeout,
        this.name,
        `timeout: ${tool} on MCP server "${this.name}" did not answer within ${timeoutMs} ms`,
        { cause: err },
      );
    if (err instanceof SdkMcpError && err.code === ErrorCode.ConnectionClosed)
      return new McpError(
        McpErrorCode.ConnectionLost,
        this.name,
        `connection_lost: MCP server "${this.name}" stopped while ${tool} was running`,
        { cause: err },
      );
    // A protocol error (unknown tool, invalid params) is an answer: the caller shows it to the model.
    return ensureError(err);
  }

  /** The client once connected, waiting up to `timeoutMs` for a restart in progress. */
  private async connected(timeoutMs: number, signal?: AbortSignal): Promise<Client | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.client === undefined || this.status !== McpServerStatus.Ready) {
      // A server that never came up fails its calls at once (the model reads why); one that
      // was up and is restarting is waited for, within the call's time.
      if (this.connections === 0 && this.failures > 0) return undefined;
      const left = deadline - Date.now();
      if (left <= 0 || this.closing || signal?.aborted === true) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
    return this.client;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async attempt(): Promise<void> {
    if (this.closing) return;
    this.stderr = [];
    const client = new Client({ name: 'spool', version: '0.1.0' });
    try {
      const transport = this.transport();
      await client.connect(transport, { timeout: this.options.connectTimeoutMs ?? 30_000 });
      const tools = await this.listTools(client);
      if (this.closing) {
        await client.close().catch(() => undefined);
        return;
      }
      client.onclose = () => this.lost(client);
      this.client = client;
      this.pid = transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      this.listed = tools;
      if (this.connections > 0) this.restarts += 1;
      this.connections += 1;
      this.failures = 0;
      this.lastError = undefined;
      this.status = McpServerStatus.Ready;
      this.options.logger.info(
        { mcpServer: this.name, tools: tools.length, restarts: this.restarts },
        'MCP server connected',
      );
      this.settle();
      this.wake();
    } catch (err) {
      await client.close().catch(() => undefined);
      if (this.closing) return;
      const tail = this.stderr.length === 0 ? '' : `; stderr: ${this.stderr.slice(-3).join(' | ')}`;
      this.fail(`${ensureError(err).message}${tail}`);
    }
  }

  private lost(client: Client): void {
    if (this.client !== client || this.closing) return;
    this.client = undefined;
    const tail = this.stderr.length === 0 ? '' : `; stderr: ${this.stderr.slice(-3).join(' | ')}`;
    this.fail(`the server closed the connection${tail}`);
  }

  private fail(message: string): void {
    this.failures += 1;
    this.lastError = message;
    this.status = McpServerStatus.Restarting;
    const initial = this.options.initialBackoffMs ?? 500;
    const delay = Math.min(
      this.options.maxBackoffMs ?? 30_000,
      initial * 2 ** Math.min(this.failures - 1, 20),
    );
    this.options.logger.warn(
      { mcpServer: this.name, failures: this.failures, retryInMs: delay, err: message },
      'MCP server failed; restarting after a backoff',
    );
    this.settle();
    this.wake();
    this.timer = setTimeout(() => void this.attempt(), delay);
    this.timer.unref();
  }

  private transport(): Transport {
    const env = this.options.env ?? process.env;
    if ('command' in this.config) {
      const transport = new StdioClientTransport({
        command: this.config.command,
        args: [...(this.config.args ?? [])],
        env: { ...getDefaultEnvironment(), ...expandVariables(this.name, 'env', this.config.env, env) },
        ...(this.config.cwd === undefined ? {} : { cwd: this.config.cwd }),
        // Kept for error messages; a server's stderr is not ours to print.
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim() !== '') this.stderr.push(line.trim().slice(0, 300));
        if (this.stderr.length > STDERR_LINES) this.stderr.splice(0, this.stderr.length - STDERR_LINES);
      });
      return transport;
    }
    const headers = expandVariables(this.name, 'headers', this.config.headers, env);
    return new StreamableHTTPClientTransport(new URL(this.config.url), {
      ...(headers === undefined ? {} : { requestInit: { headers } }),
    });
  }

  private async listTools(client: Client): Promise<McpTool[]> {
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      for (const tool of page.tools)
        tools.push({
          name: tool.name,
          description: tool.description ?? tool.title ?? tool.name,
          inputSchema: tool.inputSchema as Record<string, unknown>,
          annotations: tool.annotations ?? {},
        });
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  }
}

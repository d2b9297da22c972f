import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  ERROR_TYPES,
  estimateTokens,
  type FakeReply,
  type MessagesBody,
  messageFor,
  type Responder,
  sseEventsFor,
  textOfContent,
} from './fake-claude-protocol.ts';

export interface RecordedRequest {
  /** Date.now() when the request arrived. */
  readonly at: number;
  readonly path: string;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly stream: boolean;
  /** The status answered (0 while stalled or dropped). */
  status: number;
}

export interface FakeClaudeOptions {
  /** Answers a request when no scripted reply is queued (default: an echo of the last user text). */
  readonly responder?: Responder;
  /** Delay before every reply, ms (for tests that need calls in flight). */
  readonly latencyMs?: number;
}

export interface FailOptions {
  readonly count?: number;
  readonly retryAfterSeconds?: number;
  /** Overrides the error type in the body (e.g. "overloaded_error"). */
  readonly type?: string;
}

/** A real HTTP server on loopback that speaks the Messages API for the real SDK. */
export interface FakeClaude {
  readonly url: string;
  /** Every request, faults included, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Queues replies used in order before the responder (a function sees the request body). */
  script(...replies: (FakeReply | string | Responder)[]): void;
  /** The next `count` message requests answer `status` with the API's error body. */
  failNext(status: number, options?: FailOptions): void;
  /** The next `count` requests never answer (or answer after `ms`). */
  stallNext(options?: { count?: number; ms?: number }): void;
  /** The next request's connection is reset without an answer. */
  dropNext(): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

type Fault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; type?: string }
  | { kind: 'stall'; ms?: number }
  | { kind: 'drop' };

export const echoResponder: Responder = (body) => {
  const last = body.messages?.filter((m) => m.role === 'user').at(-1);
  return `fake reply to: ${last === undefined ? '' : textOfContent(last.content)}`;
};

export async function startFakeClaude(options: FakeClaudeOptions = {}): Promise<FakeClaude> {
  const requests: RecordedRequest[] = [];
  const scripted: (FakeReply | string | Responder)[] = [];
  const faults: Fault[] = [];
  const cache = new Set<string>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = options.latencyMs ?? 0;
  const responder = options.responder ?? echoResponder;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    let body: MessagesBody;
    try {
      body = JSON.parse(raw || '{}') as MessagesBody;
    } catch {
      const record = { at: Date.now(), path, body: raw, headers: req.headers, stream: false, status: 400 };
      requests.push(record);
      return sendError(res, 400, 'invalid_request_error', 'body is not JSON');
    }
    const record: RecordedRequest = {
      at: Date.now(),
      path,
      body,
      headers: req.headers,
      stream: body.stream === true,
      status: 0,
    };
    requests.push(record);
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
      record.status = 404;
      return sendError(res, 404, 'not_found_error', `no route ${req.method} ${path}`);
    }
    if (path === '/v1/messages/count_tokens') {
      record.status = 200;
      return sendJson(res, 200, {
        input_tokens: estimateTokens({ s: body.system, m: body.messages, t: body.tools }),
      });
    }
    const fault = faults.shift();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'stall') {
      if (fault.ms === undefined) return; // never answers; the socket is destroyed on close()
      return later(fault.ms, () => answer(body, res, record));
    }
    if (fault?.kind === 'status') {
      record.status = fault.status;
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return sendError(
        res,
        fault.status,
        fault.type ?? ERROR_TYPES[fault.status] ?? 'api_error',
        `injected ${fault.status}`,
        headers,
      );
    }
    if (latencyMs > 0) later(latencyMs, () => answer(body, res, record));
    else answer(body, res, record);
  };

  const answer = (body: MessagesBody, res: ServerResponse, record: RecordedRequest) => {
    if (res.destroyed) return;
    const next = scripted.shift() ?? responder;
    const produced = typeof next === 'function' ? next(body) : next;
    const reply: FakeReply = typeof produced === 'string' ? { text: produced } : produced;
    const message = messageFor(body, reply, cache, `msg_fake_${randomBytes(8).toString('hex')}`);
    record.status = 200;
    if (body.stream) {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'request-id': requestId(),
      });
      for (const event of sseEventsFor(message)) res.write(event);
      res.end();
    } else {
      sendJson(res, 200, message);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => sendError(res, 500, 'api_error', String(err)));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const close = async () => {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => scripted.push(...replies),
    failNext: (status, opts = {}) => {
      for (let i = 0; i < (opts.count ?? 1); i++) {
        faults.push({
          kind: 'status',
          status,
          ...(opts.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: opts.retryAfterSeconds }),
          ...(opts.type === undefined ? {} : { type: opts.type }),
        });
      }
    },
    stallNext: (opts = {}) => {
      for (let i = 0; i < (opts.count ?? 1); i++)
        faults.push({ kind: 'stall', ...(opts.ms === undefined ? {} : { ms: opts.ms }) });
    },
    dropNext: () => faults.push({ kind: 'drop' }),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function requestId(): string {
  return `req_fake_${randomBytes(8).toString('hex')}`;
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId(), ...headers });
  res.end(JSON.stringify(value));
}

function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  // The SDK retries on its own unless told not to; tests set maxRetries themselves.
  sendJson(res, status, { type: 'error', error: { type, message } }, headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

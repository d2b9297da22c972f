import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  ERROR_TYPES,
  estimateTokens,
  type MessagesBody,
  messageFor,
  type Reply,
  sseEventsFor,
} from './messages-protocol.ts';

/** One request the server received, as it arrived; `status` is what it answered (0 while unanswered). */
export interface MessagesRequest {
  /** Date.now() when the request arrived. */
  readonly at: number;
  readonly path: string;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly stream: boolean;
  status: number;
}

/** When a streamed reply's content and its end go out (each when its promise resolves). */
export interface StreamPacing {
  readonly content?: Promise<void>;
  readonly end?: Promise<void>;
}

/** How an `answer` callback answers one `POST /v1/messages`: once, now or later. */
export interface MessagesReply {
  /**
   * 200 with the message: plain JSON, or its SSE event sequence when the request streams.
   * `pacing` holds the stream open: its start is sent at once, its content once
   * `content` resolves, its end once `end` resolves (a reply whose text is on the wire but not
   * complete, as a slow model's is); a plain (non-streamed) reply is sent whole once `end` resolves.
   */
  message(reply: Reply, pacing?: StreamPacing): void;
  /** An error status with the API's error body (`type` defaults to the API's for the status). */
  error(
    status: number,
    options?: { type?: string; message?: string; headers?: Record<string, string> },
  ): void;
  /** Resets the connection without an answer. */
  drop(): void;
}

export interface MessagesServerOptions {
  /** Answers one Messages request (count_tokens and unknown routes are answered by the server). */
  readonly answer: (body: MessagesBody, reply: MessagesReply) => void;
  /** Sees every request, including bad ones, before it is answered. */
  readonly onRequest?: (request: MessagesRequest) => void;
  /** The model name replies carry (default: the one the request asked for). */
  readonly model?: string;
}

/** A real HTTP server on loopback that speaks the Claude Messages API to the real SDK. */
export interface MessagesServer {
  /** `http://127.0.0.1:<port>`: the SDK's `baseURL`. */
  readonly url: string;
  /** Stops listening and drops open connections (stalled requests included). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves `POST /v1/messages` (JSON, or SSE when the body has `stream: true`) and
 * `POST /v1/messages/count_tokens` on a free loopback port. Usage is estimated at about 4
 * characters a token, prompt caching included (see messages-protocol.ts).
 */
export async function startMessagesServer(options: MessagesServerOptions): Promise<MessagesServer> {
  const cache = new Set<string>();
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    let body: MessagesBody;
    try {
      body = JSON.parse(raw || '{}') as MessagesBody;
    } catch {
      options.onRequest?.({
        at: Date.now(),
        path,
        body: raw,
        headers: req.headers,
        stream: false,
        status: 400,
      });
      return sendError(res, 400, 'invalid_request_error', 'body is not JSON');
    }
    const record: MessagesRequest = {
      at: Date.now(),
      path,
      body,
      headers: req.headers,
      stream: body.stream === true,
      status: 0,
    };
    options.onRequest?.(record);
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
    options.answer(body, {
      message: (reply, pacing) => {
        if (res.destroyed) return;
        record.status = 200;
        const asked = options.model === undefined ? body : { ...body, model: options.model };
        const message = messageFor(asked, reply, cache, `msg_${randomBytes(8).toString('hex')}`);
        if (!body.stream) {
          // A plain call held by `pacing` is answered whole at its end.
          if (pacing === undefined) return sendJson(res, 200, message, reply.headers);
          void (pacing.end ?? Promise.resolve()).then(() => {
            if (!res.destroyed) sendJson(res, 200, message, reply.headers);
          });
          return;
        }
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          'request-id': requestId(),
          ...reply.headers,
        });
        const events = sseEventsFor(message);
        if (pacing === undefined) {
          for (const event of events) res.write(event);
          res.end();
          return;
        }
        // message_start and ping; the content blocks; message_delta and message_stop.
        const write = (part: string[]) => {
          if (!res.destroyed) for (const event of part) res.write(event);
        };
        write(events.slice(0, 2));
        void (async () => {
          await pacing.content;
          write(events.slice(2, -2));
          await pacing.end;
          write(events.slice(-2));
          res.end();
        })();
      },
      error: (status, opts = {}) => {
        record.status = status;
        sendError(
          res,
          status,
          opts.type ?? ERROR_TYPES[status] ?? 'api_error',
          opts.message ?? `error ${status}`,
          opts.headers,
        );
      },
      drop: () => req.socket.destroy(),
    });
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
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}

function requestId(): string {
  return `req_${randomBytes(8).toString('hex')}`;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
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

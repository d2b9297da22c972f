import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isNatsReachable, liveText, permissionRefusal, type SpoolConnection } from '@spool/jetstream';
import type { Logger } from 'pino';
import { NoCoordinatorError } from '../operator/coordinator-api.ts';
import { poolOfReplica } from '../operator/task-owner.ts';
import { ApiError } from './api-error.ts';
import { type RouteContext, route } from './routes.ts';
import { AgentNameSchema, KeySchema, TaskIdSchema } from './schemas.ts';
import { contentSecurityPolicy, loadStaticFiles, type StaticFile } from './static-files.ts';
import { taskHistories } from './task-history.ts';
import { historyName, taskIndex } from './task-index.ts';
import { accessRefusal, isLoopback } from './token.ts';

export interface ConsoleOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** The NATS servers, safe to show (no userinfo), for the page's messages. */
  readonly natsUrl: string;
  /** The connection once there is one (the console serves its page before NATS answers). */
  readonly connection: () => SpoolConnection | undefined;
  readonly logger: Logger;
}

export interface ConsoleHandle {
  /** e.g. http://127.0.0.1:4380/ */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/**
 * Longest a request waits for NATS. Reads retry while the connection is lost (as an agent's
 * must), so without a deadline the page would wait a minute for a server that is down; the
 * read goes on and serves the next request once NATS is back.
 */
const REQUEST_DEADLINE_MS = 5_000;

class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineError(`NATS did not answer within ${REQUEST_DEADLINE_MS / 1000} s; retrying`)),
      REQUEST_DEADLINE_MS,
    );
  });
  work.catch(() => undefined); // a read that fails after the deadline is answered already
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The web console: static files, a JSON API under /api/ and live reply text as server-sent
 * events. Actions (POST) always need the token; reads need it too when it listens on
 * anything but loopback. On loopback, a request naming another host is refused (a page of
 * another site cannot reach it through DNS rebinding).
 */
export async function startConsole(options: ConsoleOptions): Promise<ConsoleHandle> {
  const files = await loadStaticFiles();
  const csp = contentSecurityPolicy(files.get('/') as StaticFile);
  const loopback = isLoopback(options.host);
  const log = options.logger.child({ component: 'console' });
  let index: RouteContext | undefined;
  const contextFor = (connection: SpoolConnection) => {
    if (index?.connection !== connection) {
      const tasks = taskIndex(connection);
      index = { connection, tasks, histories: taskHistories(connection, tasks), logger: log };
    }
    return index;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'console request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? 'GET';
    const refused = accessRefusal(
      { method, path: url.pathname, host: req.headers.host, authorization: req.headers.authorization },
      { loopback, token: options.token },
    );
    if (refused !== undefined) {
      sendJson(res, refused.status, { error: { code: refused.code, message: refused.message } });
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      const file = files.get(url.pathname);
      if (file === undefined || method !== 'GET') {
        // Any other page path is the app's own route (#/… is preferred, but a reload must not 404).
        sendFile(req, res, files.get('/') as StaticFile, csp);
        return;
      }
      sendFile(req, res, file, csp);
      return;
    }
    const parts = url.pathname
      .slice('/api/'.length)
      .split('/')
      .filter((p) => p !== '')
      .map((p) => decodeURIComponent(p));
    if (parts[0] === 'session') {
      sendJson(res, 200, {
        nats: options.natsUrl,
        connected: options.connection() !== undefined,
        readsNeedToken: !loopback,
      });
      return;
    }
    const connection = options.connection();
    if (connection === undefined) {
      sendJson(res, 503, {
        error: {
          code: 'nats_unavailable',
          message: `not connected to NATS at ${options.natsUrl} yet: start it (spool up, or nats-server -js), or set NATS_URL; the console connects as soon as it answers`,
        },
      });
      return;
    }
    try {
      if (parts[0] === 'live' && method === 'GET') {
        await streamLiveText(res, connection, parts.slice(1));
        return;
      }
      const body = method === 'POST' ? await readJson(req) : undefined;
      const answer = await withinDeadline(
        route(method, { parts, query: url.searchParams, body }, contextFor(connection)),
      );
      if (answer === undefined)
        throw new ApiError(404, 'not_found', `no such API: ${method} ${url.pathname}`);
      sendJson(res, 200, answer);
    } catch (err) {
      const error = await explain(err);
      if (error.status >= 500) log.warn({ err: error.message, path: url.pathname }, 'console request failed');
      sendJson(res, error.status, { error: { code: error.code, message: error.message } });
    }
  }

  const natsDown = () => ({
    status: 503,
    code: 'nats_unavailable',
    message: `NATS does not answer at ${options.natsUrl}: start it again (the console reconnects by itself)`,
  });

  /** Errors as the page shows them: what went wrong and what to do, never a stack trace. */
  async function explain(err: unknown): Promise<{ status: number; code: string; message: string }> {
    if (err instanceof ApiError) return err;
    if (err instanceof DeadlineError) {
      if (!(await isNatsReachable(options.natsUrl, 1_000))) return natsDown();
      return { status: 503, code: 'slow', message: err.message };
    }
    if (err instanceof NoCoordinatorError) {
      if (!(await isNatsReachable(options.natsUrl, 1_000))) return natsDown();
      return { status: 503, code: 'no_coordinator', message: err.message };
    }
    const refused = permissionRefusal(err);
    if (refused !== undefined) return { status: 403, code: 'permission_denied', message: refused.message };
    const message = err instanceof Error ? err.message : String(err);
    if (!(await isNatsReachable(options.natsUrl, 1_000))) return natsDown();
    return { status: 500, code: 'internal', message };
  }

  /**
   * `GET /api/live/<agent>/<taskId>`: the reply text as it streams, as server-sent events. A
   * pool's replica publishes under the pool's name (`spool.stream.<pool>.<taskId>`, as
   * `spool submit <pool> --follow` reads it), so a replica's task is followed there. A keyed
   * instance's task is `/api/live/<agent>/<key>/<taskId>` (`spool.stream.<agent>.<key>.<taskId>`).
   */
  async function streamLiveText(res: ServerResponse, connection: SpoolConnection, parts: string[]) {
    const agent = AgentNameSchema.safeParse(parts[0]);
    const key = parts.length === 3 ? KeySchema.safeParse(parts[1]) : undefined;
    const taskId = TaskIdSchema.safeParse(parts.at(-1));
    if (
      (parts.length !== 2 && parts.length !== 3) ||
      !agent.success ||
      key?.success === false ||
      !taskId.success
    )
      throw new ApiError(
        400,
        'invalid_request',
        'live text is at /api/live/<agent>/<taskId> (a keyed instance: /api/live/<agent>/<key>/<taskId>)',
      );
    const shownAs =
      key?.data === undefined
        ? ((await poolOfReplica(connection, agent.data)) ?? agent.data)
        : historyName(agent.data, key.data);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const stop = await liveText(connection).followConfirmed(shownAs, taskId.data, (chunk) => {
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    });
    // The first bytes go out once the subscription is in place: from then on no text is missed.
    res.write(
      `: live reply text on spool.stream.${shownAs}.${taskId.data}; the history keeps each complete reply\n\n`,
    );
    if (res.destroyed) {
      stop(); // the page left while the subscription was made
      return;
    }
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(keepAlive);
      stop();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: StaticFile, csp: string): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    'content-type': file.type,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': csp,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(gzip ? file.gzipped : file.body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(400, 'too_large', `the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', 'the request body is not JSON');
  }
}

import { randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's token: SPOOL_CONSOLE_TOKEN, else a new random one printed at start. */
export function consoleToken(fromEnv = process.env.SPOOL_CONSOLE_TOKEN?.trim()): string {
  return fromEnv === undefined || fromEnv === '' ? randomBytes(18).toString('base64url') : fromEnv;
}

/** Whether `Authorization: Bearer <token>` carries this token (compared in constant time). */
export function carriesToken(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Loopback addresses: the console binds one of them unless told otherwise. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** The host of a Host header, without its port: `127.0.0.1:4380` → `127.0.0.1`, `[::1]:80` → `[::1]`. */
export function hostOf(header: string | undefined): string {
  if (header === undefined) return '';
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : (header.split(':')[0] ?? '');
}

/** Why the console refuses a request before reading it: its HTTP status and a sentence. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly code: 'wrong_host' | 'token_required';
  readonly message: string;
}

/**
 * Whether a request may go on. On loopback, a request naming another host is refused (a page
 * of another site cannot reach the console through DNS rebinding); the page and its files need
 * no token; under /api/, actions (anything but GET) always need the token, and reads need it
 * too when the console listens on anything but loopback.
 */
export function accessRefusal(
  request: {
    readonly method: string;
    readonly path: string;
    readonly host: string | undefined;
    readonly authorization: string | undefined;
  },
  server: { readonly loopback: boolean; readonly token: string },
): Refusal | undefined {
  if (server.loopback && !isLoopback(hostOf(request.host)))
    return {
      status: 403,
      code: 'wrong_host',
      message: 'the console answers on its loopback address only',
    };
  if (!request.path.startsWith('/api/')) return undefined;
  const needsToken = request.method !== 'GET' || !server.loopback;
  if (needsToken && !carriesToken(request.authorization, server.token))
    return {
      status: 401,
      code: 'token_required',
      message:
        'this needs the console token: the one printed when the console started (or SPOOL_CONSOLE_TOKEN)',
    };
  return undefined;
}

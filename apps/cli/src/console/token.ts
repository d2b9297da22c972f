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

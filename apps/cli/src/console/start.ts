import type { SpoolConnection } from '@spool/jetstream';
import type { Logger } from 'pino';
import { UsageError } from '../usage-error.ts';
import { type ConsoleHandle, startConsole } from './server.ts';
import { consoleToken, isLoopback } from './token.ts';

/** The console's port unless told otherwise (--port, SPOOL_CONSOLE_PORT). */
export const DEFAULT_CONSOLE_PORT = 4380;

/** --port, else SPOOL_CONSOLE_PORT, else the default; a bad value is a UsageError naming it. */
export function consolePort(flag: string | undefined, command: string): number {
  const raw = flag ?? process.env.SPOOL_CONSOLE_PORT?.trim();
  if (raw === undefined || raw === '') return DEFAULT_CONSOLE_PORT;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n > 65_535)
    throw new UsageError(
      `spool ${command}: ${flag === undefined ? 'SPOOL_CONSOLE_PORT' : '--port'} must be a port number 0-65535 (got "${raw}")`,
    );
  return n;
}

/**
 * Starts the console and says where, with its token, in one line on stderr. `fallback`:
 * when the port is taken, take a free one instead (`spool up`, where the console is a
 * convenience) rather than fail (`spool console`, where it is the point).
 */
export async function startConsoleAndSay(options: {
  host: string;
  port: number;
  natsUrl: string;
  connection: () => SpoolConnection | undefined;
  logger: Logger;
  fallback: boolean;
}): Promise<ConsoleHandle> {
  const token = consoleToken();
  const start = (port: number) => startConsole({ ...options, port, token });
  let handle: ConsoleHandle;
  try {
    handle = await start(options.port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' || !options.fallback) {
      if (code === 'EADDRINUSE')
        throw new UsageError(`spool console: port ${options.port} is in use; choose another with --port`);
      throw err;
    }
    handle = await start(0);
    options.logger.warn(`console: port ${options.port} is in use; listening on ${handle.url} instead`);
  }
  const fromEnv = process.env.SPOOL_CONSOLE_TOKEN?.trim() ? ' (SPOOL_CONSOLE_TOKEN)' : '';
  const reads = isLoopback(options.host) ? 'actions' : 'every request (not on loopback)';
  console.error(`console: ${handle.url}#token=${token}  (token for ${reads}${fromEnv}: ${token})`);
  return handle;
}

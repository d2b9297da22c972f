import { type Logger, pino } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Structured logs on stderr (stdout is for results and `--json`): pino JSON, pretty on a
 * terminal. SPOOL_LOG_LEVEL overrides the command's default level.
 */
export function createLogger(defaultLevel: (typeof LEVELS)[number] = 'info'): Logger {
  const requested = process.env.SPOOL_LOG_LEVEL?.trim().toLowerCase();
  const level = LEVELS.find((l) => l === requested) ?? defaultLevel;
  if (process.stderr.isTTY) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}

/** Flushes buffered pretty output before the process exits. */
export async function flushLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
}

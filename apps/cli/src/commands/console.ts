import { redactUrl } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { consolePort, startConsoleAndSay } from '../console/start.ts';
import { natsTarget } from '../env.ts';
import { openConnectionWhenUp } from '../host.ts';
import { untilSignal } from '../signals.ts';

/**
 * `spool console [--port P] [--host H]`: the web console until SIGINT/SIGTERM. It serves its
 * page at once and connects to NATS as soon as a server answers (the page says it waits).
 */
export async function consoleCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'console',
    argv,
    { port: { type: 'string' }, host: { type: 'string' } },
    { required: [] },
  );
  const port = consolePort(values.port, 'console');
  const host = values.host ?? '127.0.0.1';
  const target = natsTarget({ role: 'operator' });
  const stop = untilSignal();
  let connection: Awaited<ReturnType<typeof openConnectionWhenUp>>;
  const handle = await startConsoleAndSay({
    host,
    port,
    natsUrl: redactUrl(target.url),
    connection: () => connection,
    logger,
    fallback: false,
  });
  connection = await openConnectionWhenUp(target, 'spool-console', logger, stop);
  if (connection !== undefined) logger.info({ url: handle.url }, 'console connected to NATS');
  const signal = await stop;
  logger.info({ signal }, 'stopping the console');
  await handle.close();
  await connection?.close();
  return 0;
}

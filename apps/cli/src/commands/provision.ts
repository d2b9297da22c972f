import { snapshotStore } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { findConfigFile, loadConfig } from '../config-file.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';

/**
 * `spool provision [--config F]`: creates Spool's streams and KV buckets (run once, with the
 * admin role, where the other roles may create none).
 */
export async function provisionCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand('provision', argv, { config: { type: 'string' } }, { required: [] });
  const path = values.config ?? findConfigFile();
  const config = path === undefined ? undefined : (await loadConfig(path)).config;
  const target = natsTarget({ role: 'admin' }, config);
  const connection = await openConnection(target, 'spool-provision', logger);
  try {
    await snapshotStore(connection);
    console.log(
      `provisioned Spool's streams and buckets at ${connection.url}${target.namespace === undefined ? '' : ` (namespace ${target.namespace})`}`,
    );
  } finally {
    await connection.close();
  }
  return 0;
}

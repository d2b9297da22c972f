import { forgetInstance } from '@spool/jetstream';
import type { Logger } from 'pino';
import { addressOf } from '../address.ts';
import { parseCommand } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { UsageError } from '../usage-error.ts';

/**
 * `spool forget <agent>/<key>`: erases one instance of a keyed agent (history, results,
 * snapshot, records, queued messages), fencing a host that runs it first, and journals a
 * tombstone as its new first event. Needs admin credentials (it purges subjects).
 */
export async function forgetCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'forget',
    argv,
    { json: { type: 'boolean' } },
    { required: ['instance'] },
  );
  const address = addressOf('forget', positionals[0] as string);
  if (address.key === undefined)
    throw new UsageError(
      `spool forget: name one instance of a keyed agent as <agent>/<key> (got "${address.agent}"); a plain agent's history cannot be erased`,
    );
  const connection = await openConnection(natsTarget({ role: 'admin' }), 'spool-forget', logger);
  try {
    const outcome = await forgetInstance(connection, address.agent, address.key);
    if (values.json) console.log(JSON.stringify({ agent: address.agent, key: address.key, ...outcome }));
    else
      console.log(
        `forgot ${address.agent}/${address.key}: purged ${Object.entries(outcome.purged)
          .map(([what, n]) => `${n} ${what}`)
          .join(
            ', ',
          )}, its snapshot and records; a tombstone is its first event (sequence ${outcome.tombstoneSeq})`,
      );
    return 0;
  } finally {
    await connection.close();
  }
}

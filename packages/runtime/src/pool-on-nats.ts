import { replicaNames } from '@spool/core/internal';
import { claims, results, type SpoolConnection } from '@spool/jetstream';
import type { AgentHandle } from './agent.ts';
import { type AgentOnNatsOptions, startAgentOnNats } from './on-nats.ts';
import { startPool } from './pool.ts';

export interface PoolOnNatsOptions extends Omit<AgentOnNatsOptions, 'pool' | 'adopted'> {
  /** The pool's name (`options.name`) runs these replicas here, by index (default: all of them). */
  readonly replicas?: readonly number[];
}

/**
 * Starts replicas of the agent pool `options.name` (`spec.replicas` > 1) on a NATS connection,
 * and watches the others to adopt any that dies. The handle stands for the pool in this process.
 */
export async function startPoolOnNats(
  connection: SpoolConnection,
  options: PoolOnNatsOptions,
): Promise<AgentHandle> {
  const { name: pool, spec } = options;
  const all = replicaNames(pool, spec.replicas);
  const local = options.replicas === undefined ? all : options.replicas.map((k) => `${pool}-${k}`);
  for (const replica of local)
    if (!all.includes(replica))
      throw new RangeError(`${replica}: pool ${pool} has replicas ${pool}-1 … ${pool}-${spec.replicas}`);
  return startPool({
    pool,
    spec,
    local,
    claims: await claims(connection),
    results: results(connection),
    logger: options.logger,
    start: (replica, intake, adopted) =>
      startAgentOnNats(connection, { ...options, name: replica, pool: intake, adopted }),
  });
}

import type { ModelClient } from '@spool/claude';
import { replicaOf, type SpoolConfig } from '@spool/core/internal';
import { type CoordinatorHandle, startCoordinator } from '@spool/coordinator';
import { connect, NatsUnreachableError, provision, type SpoolConnection } from '@spool/jetstream';
import { type AgentHandle, startAgentOnNats, startPoolOnNats } from '@spool/runtime';
import type { Logger } from 'pino';
import { holderId } from './env.ts';

/** Connects with reconnect-forever and makes sure the streams and buckets exist. */
export async function openConnection(url: string, name: string, logger: Logger): Promise<SpoolConnection> {
  const connection = await connect({ url, name, logger });
  await provision(connection);
  return connection;
}

/** How often a long-running process tries NATS again while none answers at start. */
const NATS_WAIT_RETRY_MS = 2_000;

/**
 * For long-running processes (agent, coordinator): a NATS server that is down when they start
 * is waited for, as one that goes down later is (a supervisor restarting them during an
 * outage must not see them fail). Resolves undefined when `stopped` (SIGINT/SIGTERM) comes first.
 */
export async function openConnectionWhenUp(
  url: string,
  name: string,
  logger: Logger,
  stopped: Promise<unknown>,
): Promise<SpoolConnection | undefined> {
  let gaveUp = false;
  void stopped.then(() => {
    gaveUp = true;
  });
  for (let attempt = 1; ; attempt++) {
    try {
      return await openConnection(url, name, logger);
    } catch (err) {
      if (!(err instanceof NatsUnreachableError)) throw err;
      if (attempt === 1) logger.warn({ url }, `${err.message}; waiting for it (Ctrl-C to give up)`);
    }
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, NATS_WAIT_RETRY_MS))]);
    if (gaveUp) return undefined;
  }
}

/** Starts agents of the config in this process, sharing one connection. */
export async function runAgents(
  connection: SpoolConnection,
  config: SpoolConfig,
  names: readonly string[],
  model: ModelClient,
  logger: Logger,
): Promise<AgentHandle[]> {
  const holder = holderId();
  return Promise.all(
    names.map(async (name) => {
      // A pool runs all its replicas; one replica (`<pool>-<k>`) runs alone (a pool spread over processes).
      const replica = config.agents[name] === undefined ? replicaOf(config.agents, name) : undefined;
      const spec = config.agents[replica?.pool ?? name];
      if (spec === undefined) throw new Error(`no agent ${name} in the config`);
      const common = { spec, holder, model, logger, ackWaitMs: spec.ackWaitMs };
      if (replica !== undefined)
        return startPoolOnNats(connection, { ...common, name: replica.pool, replicas: [replica.index] });
      if (spec.replicas > 1) return startPoolOnNats(connection, { ...common, name });
      return startAgentOnNats(connection, { ...common, name });
    }),
  );
}

export async function runCoordinator(
  connection: SpoolConnection,
  config: SpoolConfig,
  logger: Logger,
): Promise<CoordinatorHandle> {
  const prices = Object.fromEntries(Object.entries(config.agents).map(([name, spec]) => [name, spec.prices]));
  return startCoordinator({
    connection,
    agents: Object.keys(config.agents),
    pools: Object.fromEntries(
      Object.entries(config.agents).flatMap(([name, spec]) =>
        spec.replicas > 1 ? [[name, spec.replicas]] : [],
      ),
    ),
    prices,
    workflows: config.workflows,
    leaseTtlMs: config.coordinator.leaseTtlMs,
    holder: holderId(),
    logger,
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

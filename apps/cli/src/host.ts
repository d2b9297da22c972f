import type { ModelClient } from '@spool/claude';
import { noObserver, type Observer, replicaOf, type SpoolConfig } from '@spool/core/internal';
import { type CoordinatorHandle, startCoordinator } from '@spool/coordinator';
import {
  connect,
  NatsUnreachableError,
  provision,
  rateLimiter,
  type SpoolConnection,
  warnIfOldServer,
} from '@spool/jetstream';
import { type AgentHandle, startAgentOnNats, startKeyedOnNats, startPoolOnNats } from '@spool/runtime';
import type { Logger } from 'pino';
import { captureMessageContent, holderId, type NatsTarget } from './env.ts';

/**
 * Connects with reconnect-forever and makes sure the streams and buckets exist, with the
 * replicas SPOOL_REPLICAS or the config's nats.replicas asks for.
 */
export async function openConnection(
  target: NatsTarget,
  name: string,
  logger: Logger,
): Promise<SpoolConnection> {
  const connection = await connect({
    url: target.url,
    credentials: target.credentials,
    namespace: target.namespace,
    inboxPrefix: target.inboxPrefix,
    name,
    logger,
  });
  await provision(connection, { replicas: target.replicas, logger });
  return connection;
}

/** How often a long-running process tries NATS again while none answers at start. */
const NATS_WAIT_RETRY_MS = 2_000;

/**
 * For long-running processes (agent, coordinator): a NATS server that is down when they start
 * is waited for (refused credentials are not), as one that goes down later is (a supervisor restarting them during an
 * outage must not see them fail). Resolves undefined when `stopped` (SIGINT/SIGTERM) comes first.
 */
export async function openConnectionWhenUp(
  target: NatsTarget,
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
      const connection = await openConnection(target, name, logger);
      warnIfOldServer(connection, logger);
      return connection;
    } catch (err) {
      // Refused credentials or a failed TLS handshake end the process at once: waiting will not help.
      if (!(err instanceof NatsUnreachableError)) throw err;
      if (attempt === 1) logger.warn(`${err.message}; waiting for it (Ctrl-C to give up)`);
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
  observer: Observer = noObserver,
): Promise<AgentHandle[]> {
  const holder = holderId();
  // One limiter for every agent of the process: its waiting calls take turns across them.
  const limited = config.limits.default !== undefined || Object.keys(config.limits.models).length > 0;
  const rates = limited ? await rateLimiter(connection, config.limits, { holder, logger }) : undefined;
  if (rates !== undefined)
    logger.info({ limits: config.limits }, 'model calls wait for the shared rate limits');
  return Promise.all(
    names.map(async (name) => {
      // A pool runs all its replicas; one replica (`<pool>-<k>`) runs alone (a pool spread over processes).
      const replica = config.agents[name] === undefined ? replicaOf(config.agents, name) : undefined;
      const spec = config.agents[replica?.pool ?? name];
      if (spec === undefined) throw new Error(`no agent ${name} in the config`);
      const traceContent = captureMessageContent();
      const common = {
        spec,
        holder,
        model,
        logger,
        observer,
        traceContent,
        ackWaitMs: spec.ackWaitMs,
        ...(rates === undefined ? {} : { rates }),
      };
      // A keyed agent: this process hosts any of its instances (as many processes as wanted share them).
      if (spec.keyed !== undefined) return startKeyedOnNats(connection, { ...common, name });
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
  observer: Observer = noObserver,
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
    keyed: Object.entries(config.agents).flatMap(([name, spec]) => (spec.keyed === undefined ? [] : [name])),
    prices,
    workflows: config.workflows,
    schedules: config.schedules,
    leaseTtlMs: config.coordinator.leaseTtlMs,
    snapshotEvery: config.coordinator.snapshotEvery,
    spending: {
      agents: Object.fromEntries(
        Object.entries(config.agents).map(([name, spec]) => [
          name,
          { model: spec.model, dailyCostUsd: spec.budget.dailyCostUsd },
        ]),
      ),
      limits: config.limits,
    },
    holder: holderId(),
    logger,
    observer,
  });
}

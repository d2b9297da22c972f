import { COORDINATOR, ensureError, subjects } from '@spool/core';
import {
  type HistoryWatch,
  leases,
  openInbox,
  requests,
  type SpoolConnection,
  watchHistories,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { type AgentLiveness, TaskRegistry } from './registry.ts';

export interface CoordinatorOptions {
  readonly connection: SpoolConnection;
  /** Agents of the config: reported even before they have a history. */
  readonly agents: readonly string[];
  readonly logger: Logger;
}

export interface CoordinatorHandle {
  /** Resolves once the registry has caught up with the histories that existed at start. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The coordinator (first cut): folds every agent's history into a task registry, rebuilt
 * from the stream on each start, and answers status requests on `spool.api.status`.
 */
export async function startCoordinator(options: CoordinatorOptions): Promise<CoordinatorHandle> {
  const { connection, logger } = options;
  const log = logger.child({ agent: COORDINATOR });
  const registry = new TaskRegistry(options.agents);
  const leaseTable = await leases(connection);
  const api = requests(connection);
  const watch: HistoryWatch = await watchHistories(connection);

  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  void watch.caughtUp.then(() => {
    log.info({ agents: registry.names().length }, 'task registry rebuilt from histories');
    markReady();
  });
  const consume = (async () => {
    for await (const { agent, commit } of watch) registry.apply(agent, commit);
  })().catch((err) => log.error({ err: ensureError(err).message }, 'history watch ended'));

  const stopServing = api.serve(subjects.status, async () => {
    await ready;
    const report = registry.report(await liveness(registry.names()), new Date());
    return JSON.stringify(report);
  });
  log.info({ subject: subjects.status }, 'coordinator answering status requests');

  async function liveness(names: string[]): Promise<Map<string, AgentLiveness>> {
    const holders = new Map((await leaseTable.list()).map((l) => [l.agent, l]));
    const entries = await Promise.all(
      names.map(async (name): Promise<[string, AgentLiveness]> => {
        const lease = holders.get(name);
        const pending = await openInbox(connection, name)
          .then((inbox) => inbox.pending())
          .catch(() => ({ queued: 0, unacked: 0 }));
        return [
          name,
          {
            ...(lease === undefined ? {} : { holder: lease.holder, holderAlive: !lease.expired }),
            queued: pending.queued,
            unacked: pending.unacked,
          },
        ];
      }),
    );
    return new Map(entries);
  }

  return {
    ready,
    stop: async () => {
      stopServing();
      await watch.stop();
      await consume;
      log.info('coordinator stopped');
    },
  };
}

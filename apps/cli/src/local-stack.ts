import type { SpoolConfig } from '@spool/core';
import type { Observer } from '@spool/core/internal';
import type { SpoolConnection } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import type { Logger } from 'pino';
import { ensureNats, type NatsEndpoint } from './embedded-nats.ts';
import { natsTarget } from './env.ts';
import { openConnection, runAgents, runCoordinator } from './host.ts';
import { chooseModel, type ModelChoice, OFFLINE_NOTICE, offlineConfig, type WithoutKey } from './model.ts';

/** Everything `spool up` and `spool demo` run in one process. */
export interface LocalStack {
  readonly nats: NatsEndpoint;
  readonly model: ModelChoice;
  readonly connection: SpoolConnection;
  readonly agents: readonly AgentHandle[];
}

/**
 * Runs `body` with the embedded default up: the model (Claude, or the offline one, said in
 * one line on stderr), NATS (the server at NATS_URL, or an embedded one), the coordinator
 * and every agent of the config. Stops it all afterwards, in reverse order, whatever happens;
 * an embedded server never outlives the command.
 */
export async function withLocalStack<T>(
  config: SpoolConfig,
  clientName: string,
  logger: Logger,
  options: {
    offline: boolean;
    withoutKey: WithoutKey;
    onNats?: (nats: NatsEndpoint) => void;
    onModel?: (model: ModelChoice) => void;
    /** Where the coordinator and every agent report, for one metrics port (`spool up`). */
    observer?: Observer;
    onConnected?: (connection: SpoolConnection) => void;
  },
  body: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  // The model first: a missing key is refused before anything starts.
  const model = await chooseModel(options);
  try {
    if (model.offline) console.error(OFFLINE_NOTICE);
    const running = model.offline ? offlineConfig(config) : config;
    options.onModel?.(model);
    const nats = await ensureNats(natsTarget({ role: 'admin' }, config), logger);
    try {
      options.onNats?.(nats);
      const connection = await openConnection(nats.target, clientName, logger);
      options.onConnected?.(connection);
      try {
        const { observer } = options;
        const coordinator = await runCoordinator(connection, running, logger, observer);
        const names = Object.keys(running.agents);
        const agents = await runAgents(connection, running, names, model.model, logger, observer);
        try {
          return await body({ nats, model, connection, agents });
        } finally {
          await Promise.all(agents.map((a) => a.stop()));
          await coordinator.stop();
        }
      } finally {
        await connection.close();
      }
    } finally {
      await nats.stop();
    }
  } finally {
    await model.close();
  }
}

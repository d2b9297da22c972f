import type { SpoolConfig } from '@spool/core';
import type { SpoolConnection } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import type { Logger } from 'pino';
import { ensureNats, type NatsEndpoint } from './embedded-nats.ts';
import { natsUrl } from './env.ts';
import { openConnection, runAgents, runCoordinator } from './host.ts';
import { chooseModel, type ModelChoice, OFFLINE_NOTICE } from './model.ts';

/** Everything `spool up` and `spool demo` run in one process. */
export interface LocalStack {
  readonly nats: NatsEndpoint;
  readonly model: ModelChoice;
  readonly connection: SpoolConnection;
  readonly agents: readonly AgentHandle[];
}

/**
 * Runs `body` with the embedded default up: NATS (the server at NATS_URL, or an embedded
 * one), the model (Claude, or the offline one, said in one line on stderr), the coordinator
 * and every agent of the config. Stops it all afterwards, in reverse order, whatever happens;
 * an embedded server never outlives the command.
 */
export async function withLocalStack<T>(
  config: SpoolConfig,
  clientName: string,
  logger: Logger,
  hooks: { onNats?: (nats: NatsEndpoint) => void; onModel?: (model: ModelChoice) => void },
  body: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  const nats = await ensureNats(natsUrl(), logger);
  try {
    hooks.onNats?.(nats);
    const model = await chooseModel();
    try {
      if (model.offline) console.error(OFFLINE_NOTICE);
      hooks.onModel?.(model);
      const connection = await openConnection(nats.url, clientName, logger);
      try {
        const coordinator = await runCoordinator(connection, config, logger);
        const agents = await runAgents(connection, config, Object.keys(config.agents), model.model, logger);
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
      await model.close();
    }
  } finally {
    await nats.stop();
  }
}

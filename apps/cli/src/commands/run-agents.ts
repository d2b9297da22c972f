import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { replicaNames, replicaOf, type SpoolConfig } from '@spool/core/internal';
import { agentSpec, loadConfig } from '../config-file.ts';
import { natsUrl } from '../env.ts';
import { openConnectionWhenUp, runAgents, runCoordinator, untilSignal } from '../host.ts';
import { withLocalStack } from '../local-stack.ts';
import { chooseModel, OFFLINE_NOTICE } from '../model.ts';
import { UsageError } from '../usage-error.ts';

/** `spool up`: the embedded default, everything in one process until Ctrl-C. */
export async function upCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand('up', argv, { config: { type: 'string' } }, { required: [] });
  const { config } = await loadConfig(values.config);
  await withLocalStack(config, 'spool-up', logger, {}, async ({ nats, agents }) => {
    logger.info({ url: nats.url, agents: agents.map((a) => a.name) }, 'spool is up; Ctrl-C stops it');
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
  });
  return 0;
}

/**
 * `spool agent <name>`: one agent process until SIGINT/SIGTERM. For a pool, all its replicas;
 * `spool agent <name>-<k>` (or `--replica k`) runs one, the way to spread a pool over machines.
 */
export async function agentCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'agent',
    argv,
    { config: { type: 'string' }, replica: { type: 'string' } },
    { required: ['name'] },
  );
  const { config } = await loadConfig(values.config);
  const name = agentToRun(config, positionals[0] as string, values.replica);
  const pool = config.agents[name];
  if (pool !== undefined && pool.replicas > 1)
    logger.info(
      { agent: name, replicas: replicaNames(name, pool.replicas) },
      `pool ${name}: running all ${pool.replicas} replicas in this process (spool agent ${name}-<k> runs one)`,
    );
  const model = await chooseModel();
  if (model.offline) console.error(OFFLINE_NOTICE);
  const stop = untilSignal();
  const connection = await openConnectionWhenUp(natsUrl(), `spool-agent-${name}`, logger, stop);
  if (connection === undefined) {
    await model.close();
    return 0;
  }
  const [agent] = await runAgents(connection, config, [name], model.model, logger);
  const signal = await stop;
  logger.info({ agent: name, signal }, 'stopping');
  await agent?.stop();
  await connection.close();
  await model.close();
  return 0;
}

/** The agent, pool or pool replica (`<pool>-<k>`) that `spool agent` runs, checked against the config. */
function agentToRun(config: SpoolConfig, name: string, replicaFlag: string | undefined): string {
  if (replicaFlag !== undefined) {
    const spec = agentSpec(config, name);
    const k = Number(replicaFlag);
    if (!Number.isInteger(k) || k < 1 || k > spec.replicas)
      throw new UsageError(
        `spool agent: --replica must be a whole number from 1 to ${spec.replicas} (${name} has replicas: ${spec.replicas}), got "${replicaFlag}"`,
      );
    return spec.replicas > 1 ? `${name}-${k}` : name;
  }
  if (config.agents[name] !== undefined || replicaOf(config.agents, name) !== undefined) return name;
  agentSpec(config, name); // throws, listing the agents
  return name;
}

/** `spool coordinator`: the task registry and status API until SIGINT/SIGTERM. */
export async function coordinatorCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand('coordinator', argv, { config: { type: 'string' } }, { required: [] });
  const { config } = await loadConfig(values.config);
  const stop = untilSignal();
  const connection = await openConnectionWhenUp(natsUrl(), 'spool-coordinator', logger, stop);
  if (connection === undefined) return 0;
  const coordinator = await runCoordinator(connection, config, logger);
  const signal = await stop;
  logger.info({ signal }, 'stopping');
  await coordinator.stop();
  await connection.close();
  return 0;
}

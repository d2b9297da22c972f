import { replicaNames, replicaOf, type SpoolConfig } from '@spool/core/internal';
import { warnIfOldServer } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { agentSpec, loadConfig } from '../config-file.ts';
import { consolePort, startConsoleAndSay } from '../console/start.ts';
import { natsTarget } from '../env.ts';
import { openConnectionWhenUp, runAgents, runCoordinator } from '../host.ts';
import { withLocalStack } from '../local-stack.ts';
import { startMetrics } from '../metrics.ts';
import { chooseModel, OFFLINE_NOTICE, offlineAsked, offlineConfig } from '../model.ts';
import { untilSignal } from '../signals.ts';
import { UsageError } from '../usage-error.ts';

/** `spool up`: the embedded default, everything in one process until Ctrl-C. */
export async function upCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'up',
    argv,
    {
      config: { type: 'string' },
      offline: { type: 'boolean' },
      'console-port': { type: 'string' },
      'no-console': { type: 'boolean' },
      'metrics-port': { type: 'string' },
    },
    { required: [] },
  );
  const { config } = await loadConfig(values.config);
  const port = consolePort(values['console-port'], 'up');
  // Waited for from the start: a SIGTERM while starting up stops it once it is up.
  const stop = untilSignal();
  // One port for the coordinator and every agent of the process.
  const metrics = await startMetrics('up', values['metrics-port'], logger);
  const options = {
    offline: offlineAsked(values.offline),
    withoutKey: 'refuse',
    observer: metrics.observer,
    onConnected: metrics.connected,
  } as const;
  try {
    await withLocalStack(config, 'spool-up', logger, options, async ({ nats, agents, connection }) => {
      warnIfOldServer(connection, logger);
      const web = values['no-console']
        ? undefined
        : await startConsoleAndSay({
            host: '127.0.0.1',
            port,
            natsUrl: connection.url,
            connection: () => connection,
            logger,
            fallback: true,
          });
      logger.info({ url: nats.url, agents: agents.map((a) => a.name) }, 'spool is up; Ctrl-C stops it');
      const signal = await stop;
      logger.info({ signal }, 'stopping');
      await web?.close();
    });
  } finally {
    await metrics.close();
  }
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
    {
      config: { type: 'string' },
      replica: { type: 'string' },
      offline: { type: 'boolean' },
      'metrics-port': { type: 'string' },
    },
    { required: ['name'] },
  );
  const loaded = await loadConfig(values.config);
  const name = agentToRun(loaded.config, positionals[0] as string, values.replica);
  const model = await chooseModel({ offline: offlineAsked(values.offline), withoutKey: 'refuse' });
  if (model.offline) console.error(OFFLINE_NOTICE);
  const config = model.offline ? offlineConfig(loaded.config) : loaded.config;
  const pool = config.agents[name];
  if (pool !== undefined && pool.replicas > 1)
    logger.info(
      { agent: name, replicas: replicaNames(name, pool.replicas) },
      `pool ${name}: running all ${pool.replicas} replicas in this process (spool agent ${name}-<k> runs one)`,
    );
  const stop = untilSignal();
  const metrics = await startMetrics('agent', values['metrics-port'], logger);
  try {
    const connection = await openConnectionWhenUp(
      natsTarget({ role: 'agent', name: replicaOf(config.agents, name)?.pool ?? name }, config),
      `spool-agent-${name}`,
      logger,
      stop,
    );
    if (connection === undefined) return 0;
    metrics.connected(connection);
    const [agent] = await runAgents(connection, config, [name], model.model, logger, metrics.observer);
    const signal = await stop;
    logger.info({ agent: name, signal }, 'stopping');
    await agent?.stop();
    await connection.close();
    return 0;
  } finally {
    await metrics.close();
    await model.close();
  }
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
  const { values } = parseCommand(
    'coordinator',
    argv,
    { config: { type: 'string' }, 'metrics-port': { type: 'string' } },
    { required: [] },
  );
  const { config } = await loadConfig(values.config);
  const stop = untilSignal();
  const metrics = await startMetrics('coordinator', values['metrics-port'], logger);
  try {
    const connection = await openConnectionWhenUp(
      natsTarget({ role: 'coordinator' }, config),
      'spool-coordinator',
      logger,
      stop,
    );
    if (connection === undefined) return 0;
    metrics.connected(connection);
    const coordinator = await runCoordinator(connection, config, logger, metrics.observer);
    const signal = await stop;
    logger.info({ signal }, 'stopping');
    await coordinator.stop();
    await connection.close();
    return 0;
  } finally {
    await metrics.close();
  }
}

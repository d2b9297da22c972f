import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { agentSpec, loadConfig } from '../config-file.ts';
import { natsUrl } from '../env.ts';
import { openConnection, runAgents, runCoordinator, untilSignal } from '../host.ts';
import { withLocalStack } from '../local-stack.ts';
import { chooseModel, OFFLINE_NOTICE } from '../model.ts';

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

/** `spool agent <name>`: one agent process until SIGINT/SIGTERM. */
export async function agentCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'agent',
    argv,
    { config: { type: 'string' } },
    { required: ['name'] },
  );
  const name = positionals[0] as string;
  const { config } = await loadConfig(values.config);
  agentSpec(config, name);
  const model = await chooseModel();
  if (model.offline) console.error(OFFLINE_NOTICE);
  const connection = await openConnection(natsUrl(), `spool-agent-${name}`, logger);
  const [agent] = await runAgents(connection, config, [name], model.model, logger);
  const signal = await untilSignal();
  logger.info({ agent: name, signal }, 'stopping');
  await agent?.stop();
  await connection.close();
  await model.close();
  return 0;
}

/** `spool coordinator`: the task registry and status API until SIGINT/SIGTERM. */
export async function coordinatorCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand('coordinator', argv, { config: { type: 'string' } }, { required: [] });
  const { config } = await loadConfig(values.config);
  const connection = await openConnection(natsUrl(), 'spool-coordinator', logger);
  const coordinator = await runCoordinator(connection, config, logger);
  const signal = await untilSignal();
  logger.info({ signal }, 'stopping');
  await coordinator.stop();
  await connection.close();
  return 0;
}

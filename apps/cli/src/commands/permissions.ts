import { type AgentGrant, permissionsFor, ROLES, type Role } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { agentSpec, loadConfig } from '../config-file.ts';
import { natsTarget } from '../env.ts';
import { UsageError } from '../usage-error.ts';

/**
 * `spool permissions <role> [name] [--config F] [--inbox-prefix P]`: the nats-server
 * `permissions` object of a role, as JSON on stdout, to paste into a user entry of the
 * server's `authorization` block (or an account's users).
 */
export async function permissionsCommand(argv: string[], _logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'permissions',
    argv,
    { config: { type: 'string' }, 'inbox-prefix': { type: 'string' } },
    { required: ['role'], optional: ['name'] },
  );
  const role = positionals[0] as Role;
  if (!ROLES.includes(role))
    throw new UsageError(`spool permissions: no role "${role}"; roles: ${ROLES.join(', ')}`);
  const name = positionals[1];
  if (role === 'agent' && name === undefined)
    throw new UsageError(
      'spool permissions agent: name the agent (spool permissions agent <name> --config F)',
    );
  if (role !== 'agent' && name !== undefined)
    throw new UsageError(`spool permissions ${role}: takes no name (only "agent <name>" does)`);
  // The agent's grants come from its config (pool replicas, delegates, subscriptions).
  const config =
    role === 'agent' || values.config !== undefined ? (await loadConfig(values.config)).config : undefined;
  let agent: AgentGrant | undefined;
  if (role === 'agent' && config !== undefined) {
    const spec = agentSpec(config, name as string);
    agent = {
      name: name as string,
      replicas: spec.replicas,
      keyed: spec.keyed !== undefined,
      delegates: spec.delegation?.agents ?? [],
      subscriptions: spec.subscriptions.map((s) => ({ name: s.name, subject: s.subject })),
    };
  }
  const target = natsTarget({ role, ...(name === undefined ? {} : { name }) }, config);
  const permissions = permissionsFor(role, {
    namespace: target.namespace,
    inboxPrefix: values['inbox-prefix'] ?? target.inboxPrefix,
    agent,
  });
  console.log(JSON.stringify(permissions, null, 2));
  return 0;
}

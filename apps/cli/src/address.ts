import { AGENT_NAME_PATTERN, instanceName, keyProblem, parseAddress } from '@spool/core/internal';
import { UsageError } from './usage-error.ts';

/** An agent, or an instance `<agent>/<key>` of a keyed agent, as the CLI takes it. */
export interface Address {
  readonly agent: string;
  readonly key?: string | undefined;
  /** The subject tokens it stands for: `<agent>` or `<agent>.<key>` (`spool.inbox.<wire>`, results, control). */
  readonly wire: string;
}

/** Reads `<agent>` or `<agent>/<key>`, refusing a bad name or key with what a valid one is. */
export function addressOf(command: string, text: string): Address {
  const { agent, key } = parseAddress(text);
  if (!AGENT_NAME_PATTERN.test(agent))
    throw new UsageError(
      `spool ${command}: agent "${agent}" is not a valid name (lower-case letters, digits and dashes; a keyed agent's instance is <agent>/<key>)`,
    );
  if (key === undefined) return { agent, wire: agent };
  const problem = keyProblem(key);
  if (problem !== undefined) throw new UsageError(`spool ${command}: ${problem}`);
  return { agent, key, wire: instanceName(agent, key) };
}

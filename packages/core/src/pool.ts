import type { z } from 'zod';

/** Most replicas one agent pool may have. */
export const MAX_REPLICAS = 64;

/** The actor names of a pool: `<name>-1 … <name>-N` (an agent with one replica is just `<name>`). */
export function replicaNames(name: string, replicas: number): string[] {
  if (replicas <= 1) return [name];
  return Array.from({ length: replicas }, (_, i) => `${name}-${i + 1}`);
}

/**
 * The pool and replica an actor name stands for, given the agents of a config: `app-2` of a
 * pool `app` with at least 2 replicas. Undefined when it is not a replica name.
 */
export function replicaOf(
  agents: Readonly<Record<string, { readonly replicas: number }>>,
  name: string,
): { pool: string; index: number } | undefined {
  const match = /^(.+)-([1-9][0-9]*)$/.exec(name);
  if (match === null) return undefined;
  const pool = match[1] as string;
  const index = Number(match[2]);
  const spec = agents[pool];
  if (spec === undefined || spec.replicas <= 1 || index > spec.replicas) return undefined;
  return { pool, index };
}

/**
 * Config-wide check (a `superRefine` of ConfigSchema): a replica's name has its own history,
 * lease and control subject, so it must not be another agent's name.
 */
export function validatePools(
  config: {
    agents: Readonly<
      Record<
        string,
        {
          readonly replicas: number;
          readonly keyed?: object | undefined;
          readonly subscriptions: readonly unknown[];
          readonly delegation?: { readonly agents: readonly string[] } | undefined;
        }
      >
    >;
  },
  ctx: z.RefinementCtx,
): void {
  const names = new Set(Object.keys(config.agents));
  for (const [name, spec] of Object.entries(config.agents)) {
    if (spec.keyed !== undefined && spec.replicas > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'replicas'],
        message: `a keyed agent spreads its instances over the processes that run it: remove replicas and run \`spool agent ${name}\` in as many processes as needed`,
      });
    if (spec.keyed !== undefined && spec.subscriptions.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'subscriptions'],
        message:
          'a keyed agent takes tasks per key on spool.inbox.<agent>.<key>; subscriptions carry no key: remove them',
      });
    for (const target of spec.delegation?.agents ?? [])
      if (config.agents[target]?.keyed !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['agents', name, 'delegation', 'agents'],
          message: `${target} is a keyed agent: a delegation names no key, so it cannot be delegated to`,
        });
    if (spec.replicas <= 1) continue;
    for (const replica of replicaNames(name, spec.replicas)) {
      if (!names.has(replica)) continue;
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'replicas'],
        message: `replica ${replica} of pool ${name} has the name of another agent: rename that agent or lower replicas`,
      });
    }
  }
}

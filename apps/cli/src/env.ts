import { UsageError } from './usage-error.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** NATS_URL, defaulting to the local server. */
export function natsUrl(): string {
  const url = process.env.NATS_URL?.trim();
  return url === undefined || url === '' ? DEFAULT_NATS_URL : url;
}

/**
 * Replicas of the streams and buckets Spool creates: SPOOL_REPLICAS (it wins), else the
 * config's `nats.replicas`; undefined when neither says (1, and existing ones are not compared).
 */
export function replicasSetting(config?: {
  readonly nats?: { readonly replicas?: number | undefined };
}): number | undefined {
  const raw = process.env.SPOOL_REPLICAS?.trim();
  if (raw === undefined || raw === '') return config?.nats?.replicas;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < 1 || n > 5)
    throw new UsageError(`SPOOL_REPLICAS must be a whole number from 1 to 5 (got "${raw}")`);
  return n;
}

/** Identifies this process in leases and logs. */
export function holderId(): string {
  return `${process.env.HOSTNAME ?? 'local'}:${process.pid}`;
}

/**
 * How the user runs `spool` here, for the commands we suggest: `pnpm spool` from a checkout of
 * Spool (the CLI runs from its .ts sources), else `npx spool` (an installed package).
 */
export const SPOOL_COMMAND = import.meta.url.endsWith('.ts') ? 'pnpm spool' : 'npx spool';

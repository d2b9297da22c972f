export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** NATS_URL, defaulting to the local server. */
export function natsUrl(): string {
  const url = process.env.NATS_URL?.trim();
  return url === undefined || url === '' ? DEFAULT_NATS_URL : url;
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

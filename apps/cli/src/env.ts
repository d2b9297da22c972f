import { NAMESPACE_PATTERN, type SpoolConfig } from '@spool/core';
import { defaultInboxPrefix, type NatsCredentials, type Role } from '@spool/jetstream';
import { UsageError } from './usage-error.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Where and how to reach NATS: the environment over the config's `nats` section. */
export interface NatsTarget {
  /** One server or several, comma-separated; may carry userinfo: never shown as is (redactUrl). */
  readonly url: string;
  readonly credentials: NatsCredentials;
  /** SPOOL_NAMESPACE, else the config's `namespace`. */
  readonly namespace?: string | undefined;
  /** The prefix of this process's reply subjects: SPOOL_INBOX_PREFIX, else its role's (see `spool permissions`). */
  readonly inboxPrefix: string;
  /** Replicas of the streams and buckets it creates (see replicasSetting). */
  readonly replicas: number | undefined;
}

/** Which role's permissions a command needs (and so which reply prefix it uses). */
export interface Identity {
  readonly role: Role;
  /** The agent (or pool) an agent process runs. */
  readonly name?: string;
}

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The NATS settings as the NATS tools read them: NATS_URL (comma-separated servers, maybe
 * with user:pass@), NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY, NATS_CA,
 * NATS_CERT, NATS_KEY; each over the same field of the config's `nats` section.
 */
export function natsTarget(identity: Identity, config?: SpoolConfig): NatsTarget {
  const nats = config?.nats ?? {};
  const servers = Array.isArray(nats.servers) ? nats.servers.join(',') : nats.servers;
  const namespace = env('SPOOL_NAMESPACE') ?? config?.namespace;
  if (namespace !== undefined && !NAMESPACE_PATTERN.test(namespace))
    throw new UsageError(
      `SPOOL_NAMESPACE: "${namespace}" is not a namespace: 1-32 lower-case letters, digits, "-" and "_", starting with a letter or digit`,
    );
  return {
    url: env('NATS_URL') ?? servers ?? DEFAULT_NATS_URL,
    credentials: {
      user: env('NATS_USER') ?? nats.user,
      password: env('NATS_PASSWORD') ?? nats.password,
      token: env('NATS_TOKEN') ?? nats.token,
      credsFile: env('NATS_CREDS') ?? nats.creds,
      nkeySeedFile: env('NATS_NKEY') ?? nats.nkey,
      tls: {
        caFile: env('NATS_CA') ?? nats.tls?.ca,
        certFile: env('NATS_CERT') ?? nats.tls?.cert,
        keyFile: env('NATS_KEY') ?? nats.tls?.key,
      },
    },
    namespace,
    inboxPrefix: env('SPOOL_INBOX_PREFIX') ?? defaultInboxPrefix(identity.role, identity.name, namespace),
    replicas: replicasSetting(config),
  };
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

/**
 * Whether spans may carry prompt, reply and tool text: the GenAI instrumentations' opt-in,
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true. Off by default: they may hold anything.
 */
export function captureMessageContent(): boolean {
  return process.env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT?.trim().toLowerCase() === 'true';
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

import { z } from 'zod';

/** A namespace is one subject token and a stream-name suffix: lower-case letters, digits, `-` and `_`. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const NamespaceSchema = z
  .string()
  .regex(
    NAMESPACE_PATTERN,
    'a namespace is 1-32 lower-case letters, digits, "-" and "_", starting with a letter or digit',
  );

const PathSchema = z.string().trim().min(1, 'must be a file path');

/**
 * How to reach NATS, as the NATS ecosystem names it. Every field has an environment variable
 * (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY, NATS_CA, NATS_CERT,
 * NATS_KEY, SPOOL_REPLICAS) that wins over the config.
 */
export const NatsConfigSchema = z.strictObject({
  /** Server URLs: a list, or one comma-separated string (`tls://` for TLS). */
  servers: z.union([z.string().trim().min(1), z.array(z.string().trim().min(1)).min(1)]).optional(),
  user: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  /** A `.creds` file: the user's JWT and NKey seed (decentralized auth). */
  creds: PathSchema.optional(),
  /** A file holding an NKey seed (`SU…`). */
  nkey: PathSchema.optional(),
  tls: z
    .strictObject({
      /** CA certificate (PEM) the server's certificate must chain to. */
      ca: PathSchema.optional(),
      /** Client certificate and key (PEM), for servers that verify clients. */
      cert: PathSchema.optional(),
      key: PathSchema.optional(),
    })
    .optional(),
  /** Replicas of every stream and KV bucket Spool creates (a clustered JetStream: 3). */
  replicas: z.number().int().min(1).max(5).optional(),
});
export type NatsConfig = z.infer<typeof NatsConfigSchema>;

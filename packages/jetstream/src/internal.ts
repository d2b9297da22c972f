import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Namespacing } from '@spool/core/internal';
import type { SpoolConnection } from './types.ts';

/** The NATS objects behind a SpoolConnection; never exported from the package. */
export interface Internals {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The connection's namespace: logical subjects, stream and bucket names ↔ the wire. */
  readonly ns: Namespacing;
  /** Calls `listener` after each reconnect; returns the function that removes it. */
  readonly onReconnect: (listener: () => void) => () => void;
}

const registry = new WeakMap<SpoolConnection, Internals>();

export function register(connection: SpoolConnection, internals: Internals): void {
  registry.set(connection, internals);
}

export function internals(connection: SpoolConnection): Internals {
  const found = registry.get(connection);
  if (found === undefined) throw new Error('not a connection made by @spool/jetstream connect()');
  return found;
}

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

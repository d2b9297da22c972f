export { findNatsServerBinary, NATS_INSTALL_HINT, natsServerVersion } from './binary.ts';
export type { EmbeddedSync } from './durability.ts';
export { SYNC_ALWAYS_SINCE, syncAlwaysArgs, takesSyncAlways } from './durability.ts';
export type { EmbeddedNats, EmbeddedNatsOptions } from './embedded.ts';
export { findOrphan, startEmbeddedNats } from './embedded.ts';
export type { OwnerRecord } from './owner-record.ts';
export { canConnect, freePort } from './ports.ts';
export type { NatsServer, SpawnNatsOptions } from './spawn.ts';
export { spawnNatsServer } from './spawn.ts';

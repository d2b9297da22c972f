export type { NatsServer } from '@spool/nats-server';
export {
  findNatsServerBinary,
  freePort,
  natsServerVersion,
  spawnNatsServer,
  startEmbeddedNats,
  takesSyncAlways,
} from '@spool/nats-server';
export type { MessagesBody, Reply as FakeReply, Responder } from '@spool/offline-model';
export { analystResponder, lastUserText, teamResponder } from '@spool/offline-model';
export type {
  FailOptions,
  FakeClaude,
  FakeClaudeOptions,
  HeldStream,
  RecordedRequest,
} from './fake-claude.ts';
export { echoResponder, startFakeClaude } from './fake-claude.ts';
export { startNats } from './nats.ts';
export type { NatsCluster, NatsClusterNode, NatsClusterOptions } from './nats-cluster.ts';
export { startNatsCluster } from './nats-cluster.ts';

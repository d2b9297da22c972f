export type { ApiUsage, FakeReply, MessagesBody, Responder } from './fake-claude-protocol.ts';
export type { FailOptions, FakeClaude, FakeClaudeOptions, RecordedRequest } from './fake-claude.ts';
export { lastUserText } from './fake-claude-protocol.ts';
export { echoResponder, startFakeClaude } from './fake-claude.ts';
export type { NatsServer, SpawnNatsOptions } from './nats-server.ts';
export { findNatsServerBinary, freePort, spawnNatsServer, startNats } from './nats-server.ts';
export { analystResponder } from './offline-analyst.ts';
export { teamResponder } from './offline-team.ts';

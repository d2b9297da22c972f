import type { ModelClient } from '@spool/claude';
import { anthropicModel } from '@spool/claude';
import { type AgentSpecInput, AgentSpecSchema, parseAgentCommit } from '@spool/core';
import {
  connect,
  historyStore,
  leases,
  openControl,
  openInbox,
  provision,
  results,
  type SpoolConnection,
  snapshotStore,
} from '@spool/jetstream';
import { type AgentHandle, type AgentOptions, startAgent } from '@spool/runtime';
import { type FakeClaude, type NatsServer, startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { BrokerProbe } from './broker.ts';

export const testLogger = pino({ level: process.env.SPOOL_TEST_LOG_LEVEL ?? 'silent' });

/** A logger that keeps every line it is given (message, and the whole record), to assert on what an agent reported. */
export function capturingLogger(): {
  logger: typeof testLogger;
  messages: string[];
  records: Record<string, unknown>[];
} {
  const messages: string[] = [];
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        records.push(record);
        messages.push(String(record.msg));
      },
    },
  );
  return { logger, messages, records };
}

/** A real nats-server with the Spool streams provisioned, a connection and a broker probe. */
export interface Broker {
  readonly nats: NatsServer;
  readonly connection: SpoolConnection;
  readonly probe: BrokerProbe;
  close(): Promise<void>;
}

export async function startBroker(): Promise<Broker> {
  const nats = await startNats();
  const connection = await connect({ url: nats.url, name: 'test', logger: testLogger });
  await provision(connection);
  const probe = await BrokerProbe.open(nats.url);
  return {
    nats,
    connection,
    probe,
    close: async () => {
      await probe.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await nats.close();
    },
  };
}

/** A broker plus a fake Messages API and a model client on the real SDK, torn down together. */
export interface World extends Broker {
  readonly fake: FakeClaude;
  readonly model: ModelClient;
}

export async function startWorld(options: Parameters<typeof startFakeClaude>[0] = {}): Promise<World> {
  const broker = await startBroker();
  const fake = await startFakeClaude(options);
  const model = anthropicModel({ baseURL: fake.url, apiKey: 'test-key', maxRetries: 0 });
  return {
    ...broker,
    fake,
    model,
    close: async () => {
      await broker.close();
      await fake.close();
    },
  };
}

export const analystSpec = (overrides: Partial<AgentSpecInput> = {}) =>
  AgentSpecSchema.parse({ instructions: 'You analyze data.', model: 'claude-sonnet-4-6', ...overrides });

/** Runs an agent in this process against the world (real NATS, real SDK, fake API). */
export async function runAgentInProcess(
  world: World,
  name: string,
  spec = analystSpec(),
  extra: Partial<AgentOptions> = {},
): Promise<AgentHandle> {
  const agent = startAgent({
    name,
    spec,
    holder: `test-${Math.random().toString(36).slice(2, 8)}`,
    store: historyStore(world.connection, parseAgentCommit),
    inbox: await openInbox(world.connection, name),
    control: await openControl(world.connection, name),
    snapshots: await snapshotStore(world.connection),
    results: results(world.connection),
    leases: await leases(world.connection),
    model: world.model,
    logger: testLogger,
    fetchExpiresMs: 500,
    ...extra,
  });
  await agent.ready;
  return agent;
}

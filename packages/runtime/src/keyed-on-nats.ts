import { randomBytes } from 'node:crypto';
import type { Clock } from '@spool/actor';
import type { ModelClient } from '@spool/claude';
import { type AgentEvent, type AgentSpec, instanceName, parseAgentCommit } from '@spool/core/internal';
import {
  type HistoryStore,
  keyedForwarding,
  keyedHistoryStore,
  keyedOwnership,
  liveText,
  openKeyedControl,
  openKeyedInbox,
  results,
  sendControl,
  type SnapshotStore,
  type SpoolConnection,
  snapshotStore,
  submitTask,
  taskOwner,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { startAgent } from './agent.ts';
import { type KeyedHostHandle, startKeyedHost } from './keyed-host.ts';
import { connectMcpTools, type McpTools } from './mcp-tools.ts';

export interface KeyedOnNatsOptions {
  /** The keyed agent's name (its spec has `keyed`). */
  readonly name: string;
  readonly spec: AgentSpec;
  /** This process, as logs and leases show it (`<hostname>:<pid>`). */
  readonly holder: string;
  readonly model: ModelClient;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly ackWaitMs?: number;
  readonly fetchExpiresMs?: number;
  readonly stopGraceMs?: number;
}

/**
 * Hosts a keyed agent's instances in this process on a NATS connection: the shared consumers,
 * ownership and wake records, forwarding between hosts, and per instance an agent actor whose
 * history is `spool.keyed.<agent>.<key>` and whose snapshots are `<agent>.<key>`.
 */
export async function startKeyedOnNats(
  connection: SpoolConnection,
  options: KeyedOnNatsOptions,
): Promise<KeyedHostHandle> {
  const { spec, name: agent } = options;
  const settings = spec.keyed;
  if (settings === undefined) throw new Error(`agent ${agent} is not keyed`);
  const ackWait = options.ackWaitMs === undefined ? {} : { ackWaitMs: options.ackWaitMs };
  // One set of MCP servers per process, shared by every instance (not one stdio child per key).
  const mcp = await connectMcpTools(spec, { logger: options.logger.child({ agent }) });
  const shared: McpTools = { ...mcp, close: async () => undefined };
  try {
    const store = keyedHistoryStore(connection, parseAgentCommit);
    const snapshots = await snapshotStore(connection);
    const sink = results(connection);
    const live = liveText(connection);
    const submit = {
      task: (to: string, task: Parameters<typeof submitTask>[2]) => submitTask(connection, to, task),
      control: async (to: string, message: Parameters<typeof sendControl>[2], id: string) =>
        sendControl(
          connection,
          'taskId' in message ? await taskOwner(connection, to, message.taskId) : to,
          message,
          id,
        ),
    };
    const host = startKeyedHost({
      agent,
      spec,
      settings,
      // Unique per process: a restart is a new host, and adopts what its predecessor left.
      host: `h${randomBytes(6).toString('hex')}`,
      inbox: await openKeyedInbox(connection, agent, ackWait),
      control: await openKeyedControl(connection, agent, ackWait),
      ownership: await keyedOwnership(connection),
      forwarding: keyedForwarding(connection),
      results: sink,
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.fetchExpiresMs ? { fetchExpiresMs: options.fetchExpiresMs } : {}),
      // A message held while it is routed (forwarded, or waiting for room) is kept from redelivery.
      keepAliveMs: Math.max(1_000, Math.floor((options.ackWaitMs ?? 30_000) / 3)),
      startInstance: (key, ports) =>
        startAgent({
          name: instanceName(agent, key),
          spec,
          keyed: { agent, key },
          holder: options.holder,
          // A key never activated before: its first restore reads neither (both known empty).
          ...(ports.fresh ? nothingToRestore(store, snapshots) : { store, snapshots }),
          results: sink,
          liveText: live,
          submit,
          model: options.model,
          mcp: shared,
          logger: options.logger.child({ key }),
          inbox: ports.inbox,
          control: ports.control,
          leases: ports.leases,
          // One term: an instance that loses its key (or an append race) ends; the next message activates it again.
          adopted: true,
          fetchExpiresMs: 1_000,
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
          ...ackWait,
        }),
    });
    void host.stopped.finally(() => mcp.close());
    return host;
  } catch (err) {
    await mcp.close();
    throw err;
  }
}

/**
 * The stores of an instance whose key was never activated anywhere (a fresh ownership record):
 * its restore, the first reads, finds no snapshot and an empty history without asking (two
 * round trips per new key saved); everything after goes to the stores as usual.
 */
function nothingToRestore<H extends HistoryStore<AgentEvent>, S extends SnapshotStore>(
  store: H,
  snapshots: S,
): { store: H; snapshots: S } {
  let lastSeqRead = false;
  let snapshotRead = false;
  return {
    store: {
      ...store,
      lastSeq: (name: string) => {
        if (lastSeqRead) return store.lastSeq(name);
        lastSeqRead = true;
        return Promise.resolve(0);
      },
    },
    snapshots: {
      ...snapshots,
      load: (name: string) => {
        if (snapshotRead) return snapshots.load(name);
        snapshotRead = true;
        return Promise.resolve(undefined);
      },
    },
  };
}

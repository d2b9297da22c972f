import { randomBytes } from 'node:crypto';
import type { Clock } from '@spool/actor';
import type { ModelClient } from '@spool/claude';
import {
  type AgentEvent,
  type AgentSpec,
  instanceName,
  noObserver,
  type Observer,
  parseAgentCommit,
} from '@spool/core/internal';
import {
  type HistoryStore,
  keyedForwarding,
  keyedHistoryStore,
  keyedOwnership,
  liveText,
  openKeyedControl,
  openKeyedInbox,
  results,
  type RateLimiter,
  type SnapshotStore,
  type SpoolConnection,
  snapshotStore,
  spend,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { startAgent } from './agent.ts';
import { type KeyedHostHandle, startKeyedHost } from './keyed-host.ts';
import { connectMcpTools, type McpTools } from './mcp-tools.ts';
import { submitPortOn } from './on-nats.ts';

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
  /** Metrics and traces: the instances report under the agent's name. */
  readonly observer?: Observer;
  /** Prompt and reply text in model spans (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT). */
  readonly traceContent?: boolean;
  /** The process's shared rate limits: every instance's calls wait their turn in them. */
  readonly rates?: RateLimiter;
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
  const observer = options.observer ?? noObserver;
  // One set of MCP servers per process, shared by every instance (not one stdio child per key).
  const mcp = await connectMcpTools(spec, { logger: options.logger.child({ agent }) });
  const shared: McpTools = { ...mcp, close: async () => undefined };
  try {
    const store = keyedHistoryStore(connection, parseAgentCommit);
    const snapshots = await snapshotStore(connection);
    const sink = results(connection);
    // The agent's daily budget is one ledger for all its instances (keyed by the agent's name).
    const ledger = spec.budget.dailyCostUsd === undefined ? undefined : await spend(connection);
    const live = liveText(connection);
    const submit = submitPortOn(connection);
    const inbox = await openKeyedInbox(connection, agent, ackWait);
    const host = startKeyedHost({
      agent,
      spec,
      settings,
      // Unique per process: a restart is a new host, and adopts what its predecessor left.
      host: `h${randomBytes(6).toString('hex')}`,
      inbox,
      control: await openKeyedControl(connection, agent, ackWait),
      ownership: await keyedOwnership(connection),
      forwarding: keyedForwarding(connection),
      results: sink,
      observer,
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.fetchExpiresMs ? { fetchExpiresMs: options.fetchExpiresMs } : {}),
      // A message held while it is routed (forwarded, or waiting for room) is kept from redelivery.
      keepAliveMs: Math.max(1_000, Math.floor((options.ackWaitMs ?? 30_000) / 3)),
      startInstance: (key, ports) =>
        startAgent({
          name: instanceName(agent, key),
          spec,
          keyed: { agent, key, ...(ports.fresh ? { firstActivation: true } : {}) },
          holder: options.holder,
          // A key never activated before: its first restore reads neither (both known empty).
          ...(ports.fresh ? nothingToRestore(store, snapshots) : { store, snapshots }),
          results: sink,
          liveText: live,
          submit,
          model: options.model,
          observer,
          ...(options.traceContent === undefined ? {} : { traceContent: options.traceContent }),
          ...(options.rates === undefined ? {} : { rates: options.rates }),
          ...(ledger === undefined ? {} : { spend: ledger }),
          mcp: shared,
          logger: options.logger.child({ key }),
          inbox: ports.inbox,
          control: ports.control,
          leases: ports.leases,
          attempts: ports.attempts,
          // One term: an instance that loses its key (or an append race) ends; the next message activates it again.
          adopted: true,
          fetchExpiresMs: 1_000,
          ...(options.clock ? { clock: options.clock } : {}),
          ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
          ...ackWait,
        }),
    });
    const forget = observer.watch({
      name: agent,
      role: 'agent',
      phase: () => 'active',
      inFlight: () =>
        host.activeKeys().reduce((n, key) => n + (host.instanceState(key)?.active.size ?? 0), 0),
      inbox: {
        name: agent,
        pending: async () => {
          const { queued, unacked } = await inbox.pending();
          return queued + unacked;
        },
      },
    });
    void host.stopped.finally(forget).finally(() => mcp.close());
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

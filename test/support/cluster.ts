import { anthropicModel, type ModelClient } from '@spool/claude';
import { connect, provision, type SpoolConnection } from '@spool/jetstream';
import {
  type FakeClaude,
  type NatsCluster,
  type NatsClusterNode,
  startFakeClaude,
  startNatsCluster,
} from '@spool/testkit';
import { BrokerProbe } from './broker.ts';
import { waitFor } from './wait-for.ts';
import { testLogger } from './world.ts';

/**
 * A 3-node JetStream cluster with the Spool streams provisioned at `replicas` (false: not
 * provisioned, left to the processes under test), a connection, a probe and a fake Messages API.
 */
export interface ClusterWorld {
  readonly cluster: NatsCluster;
  readonly connection: SpoolConnection;
  readonly probe: BrokerProbe;
  readonly fake: FakeClaude;
  readonly model: ModelClient;
  close(): Promise<void>;
}

export async function startClusterWorld(
  options: Parameters<typeof startFakeClaude>[0] & { replicas?: number | false } = {},
): Promise<ClusterWorld> {
  const cluster = await startNatsCluster();
  const connection = await connect({ url: cluster.url, name: 'test', logger: testLogger });
  if (options.replicas !== false)
    await provision(connection, { replicas: options.replicas ?? 3, logger: testLogger });
  const probe = await BrokerProbe.open(cluster.url);
  const fake = await startFakeClaude(options);
  return {
    cluster,
    connection,
    probe,
    fake,
    model: anthropicModel({ baseURL: fake.url, apiKey: 'test-key', maxRetries: 0 }),
    close: async () => {
      await probe.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await fake.close();
      await cluster.close();
    },
  };
}

/** The node leading `stream` now (waits while it has none: an election is under way). */
export async function leaderOf(
  probe: BrokerProbe,
  cluster: NatsCluster,
  stream: string,
  timeoutMs = 30_000,
): Promise<NatsClusterNode> {
  return waitFor(
    `a leader of ${stream}`,
    async () => {
      const leader = (await probe.streamInfo(stream)).cluster?.leader;
      return leader === undefined || leader === '' ? undefined : cluster.node(leader);
    },
    timeoutMs,
    50,
  );
}

/** Waits until every replica of `stream` is current (a restarted node has caught up). */
export async function replicasCurrent(probe: BrokerProbe, stream: string, timeoutMs = 30_000): Promise<void> {
  let seen = 'no answer yet';
  await waitFor(
    () => `every replica of ${stream} to be current (last seen: ${seen})`,
    async () => {
      const info = await probe.streamInfo(stream);
      const peers = info.cluster?.replicas ?? [];
      seen = `leader ${info.cluster?.leader ?? 'none'}, last_seq ${info.state.last_seq}; ${peers
        .map(
          (p) =>
            `${p.name} current=${p.current} offline=${p.offline ?? false} lag=${p.lag ?? '?'} active=${p.active}ns`,
        )
        .join('; ')}`;
      return (
        info.cluster?.leader !== undefined && peers.length > 0 && peers.every((p) => p.current && !p.offline)
      );
    },
    timeoutMs,
    100,
  );
}

/**
 * SIGKILLs the node leading `stream`, then waits for the stream to store again: resolves with
 * the node, when it was killed, when a new leader answered (electedMs after the kill), and the
 * stall: from the kill to the first message stored under the new leader beyond what it held
 * when it first answered.
 */
export async function killLeader(
  probe: BrokerProbe,
  cluster: NatsCluster,
  stream: string,
): Promise<{ node: NatsClusterNode; at: number; electedMs: number; stallMs: number }> {
  const node = await leaderOf(probe, cluster, stream);
  const at = Date.now();
  await node.kill();
  const elected = await waitFor(
    `a new leader of ${stream} after ${node.name} was killed`,
    async () => {
      const info = await probe.streamInfo(stream);
      const leader = info.cluster?.leader;
      return leader !== undefined && leader !== '' && leader !== node.name
        ? { seq: info.state.last_seq, at: Date.now() }
        : undefined;
    },
    60_000,
    25,
  );
  const stored = await waitFor(
    `${stream} to store a message under its new leader`,
    async () => ((await probe.streamInfo(stream)).state.last_seq > elected.seq ? Date.now() : undefined),
    60_000,
    25,
  );
  return { node, at, electedMs: elected.at - at, stallMs: stored - at };
}

/** How many messages of `stream` a node holds in its own store (its /jsz monitoring endpoint). */
export async function storedOn(node: NatsClusterNode, stream: string): Promise<number | undefined> {
  const response = await fetch(`${node.monitorUrl}/jsz?accounts=true&streams=true`, {
    signal: AbortSignal.timeout(2_000),
  });
  const jsz = (await response.json()) as {
    account_details?: { stream_detail?: { name: string; state: { messages: number } }[] }[];
  };
  const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
  return streams.find((s) => s.name === stream)?.state.messages;
}

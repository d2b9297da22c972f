import { type JetStreamManager, jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type HistoryEvent, parseCommit, subjects, type TaskResult } from '@spool/core';

/**
 * Direct reads of the broker for assertions: tests check what the streams really hold,
 * not what the code under test says it wrote.
 */
export class BrokerProbe {
  private constructor(
    readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {}

  /** `url` may list a cluster's servers, comma-separated. */
  static async open(url: string): Promise<BrokerProbe> {
    const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    return new BrokerProbe(nc, await jetstreamManager(nc, { timeout: 2_000 }));
  }

  /** A stream's info (its config, state and, on a cluster, its leader and replicas). */
  streamInfo(stream: string): Promise<StreamInfo> {
    return this.jsm.streams.info(stream);
  }

  /** How many messages a stream holds on the subjects matching `filter`. */
  async messagesOn(stream: string, filter: string): Promise<number> {
    const info = await this.jsm.streams.info(stream, { subjects_filter: filter });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  }

  /** Removes every message on `subject` from `stream` (a test's stand-in for lost coordination data). */
  async purgeSubject(stream: string, subject: string): Promise<number> {
    return (await this.jsm.streams.purge(stream, { filter: subject })).purged;
  }

  /** Publishes raw bytes on an agent's inbox, as any NATS client could. */
  async publishRaw(agent: string, payload: string): Promise<number> {
    const js = this.jsm.jetstream();
    const ack = await js.publish(subjects.inbox(agent), new TextEncoder().encode(payload));
    return ack.seq;
  }

  /** Every stored result message of an agent, in stream order (duplicates included). */
  async results(agent: string): Promise<TaskResult[]> {
    return (await this.readAll('SPOOL_RESULTS', `spool.results.${agent}.>`)).map(
      (m) => JSON.parse(m.data) as TaskResult,
    );
  }

  /** Every history commit of an agent with its stream time, in order. */
  async history(agent: string): Promise<{ seq: number; time: number; events: HistoryEvent[] }[]> {
    return (await this.readAll('SPOOL_HISTORY', subjects.history(agent))).map((m) => ({
      seq: m.seq,
      time: m.time,
      events: parseCommit(JSON.parse(m.data)).events,
    }));
  }

  /** Every commit of every instance of a keyed agent (`spool.keyed.<agent>.>`), with its instance's key. */
  async keyedHistory(
    agent: string,
  ): Promise<{ key: string; seq: number; time: number; events: HistoryEvent[] }[]> {
    return (await this.readAll('SPOOL_KEYED', `spool.keyed.${agent}.>`)).map((m) => ({
      key: m.subject.slice(`spool.keyed.${agent}.`.length),
      seq: m.seq,
      time: m.time,
      events: parseCommit(JSON.parse(m.data)).events,
    }));
  }

  private async readAll(
    stream: string,
    filter: string,
  ): Promise<{ seq: number; time: number; data: string; subject: string }[]> {
    const info = await this.jsm.streams.info(stream, { subjects_filter: filter }).catch(() => undefined);
    const total = Object.values(info?.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    if (total === 0) return [];
    const js = this.jsm.jetstream();
    const consumer = await js.consumers.get(stream, { filter_subjects: filter });
    const out: { seq: number; time: number; data: string; subject: string }[] = [];
    try {
      while (out.length < total) {
        const batch = await consumer.fetch({
          max_messages: Math.min(1000, total - out.length),
          expires: 2000,
        });
        for await (const m of batch) {
          out.push({
            seq: m.seq,
            time: Number(m.timestampNanos / 1_000_000n),
            data: m.string(),
            subject: m.subject,
          });
          if (out.length >= total) break;
        }
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

/** Counts values, for "exactly once" assertions. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

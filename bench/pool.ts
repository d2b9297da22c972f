/**
 * pnpm bench (fourth part): an agent pool's claims after many tasks. A pool of 3 replicas (one
 * process, concurrency 16 each, fake model at zero latency) runs --pool-tasks tasks; then the
 * claims bucket's stream (KV_spool_claims) is read: its message count, not its key count (on
 * nats-server 2.9 a deleted key keeps a delete marker, one message for good, so a bucket whose
 * keys are deleted still grows with every task ever run). Claims are released, their subject
 * purged, once the task's result is published: the count stays near the tasks unfinished.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema } from '@spool/core';
import { connect, provision, submitTask } from '@spool/jetstream';
import { startPoolOnNats } from '@spool/runtime';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';

const { values: args, json } = benchArgs('pool');
const TASKS = args['pool-tasks'];
const REPLICAS = 3;
const CONCURRENCY = 16;
const say = (line: string) => {
  if (!json) console.log(line);
};

const nats = await startNats();
const fake = await startFakeClaude();
try {
  const logger = pino({ level: 'silent' });
  const connection = await connect({ url: nats.url, name: 'bench-pool', logger });
  await provision(connection);
  const nc = await natsConnect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const spec = AgentSpecSchema.parse({
    instructions: 'Bench.',
    model: 'claude-sonnet-4-6',
    concurrency: CONCURRENCY,
    replicas: REPLICAS,
  });
  const pool = await startPoolOnNats(connection, {
    name: 'crew',
    spec,
    holder: 'bench',
    model: anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 }),
    logger,
  });
  await pool.ready;
  say(`pool crew: ${REPLICAS} replicas of concurrency ${CONCURRENCY}; ${TASKS} tasks`);
  const started = performance.now();
  for (let from = 0; from < TASKS; from += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, TASKS - from) }, (_, i) =>
        submitTask(connection, 'crew', { id: `p-${from + i}`, input: `task ${from + i}` }),
      ),
    );
  const resultCount = async () =>
    (await jsm.streams.info('SPOOL_RESULTS', { subjects_filter: 'spool.results.crew.>' })).state.messages;
  while ((await resultCount()) < TASKS) await new Promise((resolve) => setTimeout(resolve, 200));
  const elapsed = (performance.now() - started) / 1000;
  // Releases run just after each result: let the last ones land.
  const claimsState = async () => (await jsm.streams.info('KV_spool_claims')).state;
  let claims = await claimsState();
  for (let i = 0; i < 25 && claims.messages > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    claims = await claimsState();
  }
  say(`pool throughput: ${(TASKS / elapsed).toFixed(0)} tasks/s (${elapsed.toFixed(1)} s)`);
  say(
    `claims bucket after ${TASKS} pool tasks: ${claims.messages} message(s) in KV_spool_claims (${claims.bytes} bytes, ${claims.num_subjects ?? 0} key(s))`,
  );
  if (json)
    console.log(
      JSON.stringify({
        poolTasks: TASKS,
        replicas: REPLICAS,
        concurrency: CONCURRENCY,
        poolTasksPerSec: TASKS / elapsed,
        claimsMessages: claims.messages,
        claimsBytes: claims.bytes,
      }),
    );
  await pool.stop();
  await nc.close();
  await connection.close();
} finally {
  await fake.close();
  await nats.close();
}

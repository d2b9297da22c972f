/**
 * One agent as its own process, as users run it (`spool agent`): the throughput bench starts
 * it beside the driver and the fake model. argv: <nats url> <fake model url> <name> <concurrency>.
 * Prints `ready` once it takes tasks; stops cleanly when its stdin closes. With
 * BENCH_PROFILE=<file>, its CPU is profiled from `ready` to the stop (start-up left out, as
 * `node --cpu-prof` cannot) and the profile written there.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema } from '@spool/core/internal';
import { connect, provision } from '@spool/jetstream';
import { startAgentOnNats } from '@spool/runtime';
import { pino } from 'pino';

const [url, fakeUrl, name, concurrency] = process.argv.slice(2);
if (url === undefined || fakeUrl === undefined || name === undefined || concurrency === undefined) {
  console.error('usage: agent-process.ts <nats url> <fake model url> <name> <concurrency>');
  process.exit(2);
}
const logger = pino({ level: 'silent' });
const connection = await connect({ url, name: `bench-agent-${name}`, logger });
await provision(connection);
const spec = AgentSpecSchema.parse({
  instructions: 'Bench.',
  model: 'claude-sonnet-4-6',
  concurrency: Number(concurrency),
});
const agent = await startAgentOnNats(connection, {
  name,
  spec,
  holder: `bench-${process.pid}`,
  model: anthropicModel({ baseURL: fakeUrl, apiKey: 'bench', maxRetries: 0 }),
  logger,
});
await agent.ready;
const profileTo = process.env.BENCH_PROFILE;
const session = profileTo === undefined ? undefined : new Session();
if (session !== undefined) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  if (session !== undefined && profileTo !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileTo, JSON.stringify(profile));
  }
  await agent.stop();
  await connection.close();
  process.exit(0);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, provision, results, submitTask } from '@spool/jetstream';
import { freePort, spawnNatsServer, startFakeClaude } from '@spool/testkit';
import { describe, expect, it } from 'vitest';
import { startCli, writeConfig } from '../support/cli.ts';

describe('long-running processes started while NATS is down', () => {
  it('spool agent and spool coordinator wait for the server, then work; SIGTERM while waiting exits 0', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const natsUrl = `nats://127.0.0.1:${port}`;
    const fake = await startFakeClaude();
    const config = writeConfig({
      agents: { patient: { instructions: 'Wait.', model: 'claude-sonnet-4-6' } },
    });
    const env = { natsUrl, anthropicBaseUrl: fake.url };
    const agent = startCli(['agent', 'patient', '--config', config], env);
    const coordinator = startCli(['coordinator', '--config', config], env);
    const givenUp = startCli(['agent', 'patient', '--config', config], env);
    try {
      await agent.waitForLog('waiting for it');
      await coordinator.waitForLog('waiting for it');
      await givenUp.waitForLog('waiting for it');
      await givenUp.kill('SIGTERM');
      expect(await givenUp.exited).toBe(0);

      const nats = await spawnNatsServer({
        host: '127.0.0.1',
        port,
        storeDir: mkdtempSync(join(tmpdir(), 'spool-late-nats-')),
      });
      try {
        await agent.waitForLog('history replayed');
        const connection = await connect({ url: natsUrl, name: 'test' });
        try {
          await provision(connection);
          const done = results(connection).wait('patient', 'late-1', AbortSignal.timeout(20_000));
          await submitTask(connection, 'patient', { id: 'late-1', input: 'hello after the outage' });
          expect((await done).status).toBe('completed');
          await coordinator.waitForLog('coordinator answering status requests');
        } finally {
          await connection.close();
        }
        await agent.kill('SIGTERM');
        await coordinator.kill('SIGTERM');
        expect(await agent.exited).toBe(0);
        expect(await coordinator.exited).toBe(0);
      } finally {
        await nats.close();
      }
    } finally {
      await Promise.all([agent, coordinator, givenUp].map((p) => p.kill('SIGKILL').catch(() => undefined)));
      await fake.close();
    }
  });
});

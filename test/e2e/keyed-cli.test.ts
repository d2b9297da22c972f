import { results, snapshotStore } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { startWorld, type World } from '../support/world.ts';

/** The CLI's `<agent>/<key>`: submit, replay one instance, forget one instance, against a real host process. */
describe('keyed agent through the CLI', () => {
  let world: World;
  let host: CliProcess;
  let env: { natsUrl: string; anthropicBaseUrl: string };

  beforeAll(async () => {
    world = await startWorld();
    env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const config = writeConfig({
      agents: {
        support: {
          instructions: 'Help the customer.',
          model: 'claude-sonnet-4-6',
          keyed: { idleMs: 60_000 },
          snapshotEvery: 4,
        },
      },
    });
    host = startCli(['agent', 'support', '--config', config], env);
    await host.waitForLog('keyed agent host running');
  });
  afterAll(async () => {
    await host?.kill('SIGTERM');
    await world?.close();
  });

  it('submits to an instance, replays that instance only, and forgets it without touching another key', async () => {
    for (const [key, id, input] of [
      ['acme', 'a1', 'acme asks about invoice 7'],
      ['acme', 'a2', 'acme asks again'],
      ['globex', 'g1', 'globex asks about shipping'],
    ] as const) {
      const run = await runCli(['submit', `support/${key}`, input, '--id', id, '--wait'], env);
      expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`fake reply to: ${input}`);
    }

    const replay = await runCli(['replay', 'support/acme'], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('a1');
    expect(replay.stdout).toContain('a2');
    expect(replay.stdout).not.toContain('g1');

    const bad = await runCli(['submit', 'support/not valid', 'x'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/outside letters, digits/);

    const forget = await runCli(['forget', 'support/acme', '--json'], env);
    expect(forget.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(forget.code).toBe(0);
    const outcome = JSON.parse(forget.stdout) as { purged: Record<string, number> };
    expect(outcome.purged.results).toBe(2);
    expect(outcome.purged.history).toBeGreaterThan(0);

    // Nothing of acme is readable: its history is one tombstone, no result, no snapshot.
    const sink = results(world.connection);
    expect(await sink.get('support.acme', 'a1')).toBeUndefined();
    expect(await sink.get('support.acme', 'a2')).toBeUndefined();
    expect(await (await snapshotStore(world.connection)).load('support.acme')).toBeUndefined();
    const commits = (await world.probe.keyedHistory('support')).filter((c) => c.key === 'acme');
    expect(commits.map((c) => c.events.map((e) => e.type))).toEqual([['agent.forgotten']]);
    expect(JSON.stringify(commits)).not.toContain('invoice');
    const after = await runCli(['replay', 'support/acme'], env);
    expect(after.stdout).not.toContain('invoice');
    // globex is untouched.
    expect((await sink.get('support.globex', 'g1'))?.status).toBe('completed');
    expect((await world.probe.keyedHistory('support')).some((c) => c.key === 'globex')).toBe(true);

    // The forgotten key starts afresh: no memory of what was erased.
    const again = await runCli(['submit', 'support/acme', 'hello again', '--id', 'a3', '--wait'], env);
    expect(again.code).toBe(0);
    const request = world.fake.requests.at(-1)?.body as { messages: unknown[] };
    expect(request.messages).toEqual([{ role: 'user', content: 'hello again' }]);
  }, 120_000);
});

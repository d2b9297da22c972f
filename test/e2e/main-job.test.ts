import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskResultSchema } from '@spool/core';
import { isNatsReachable } from '@spool/jetstream';
import { freePort } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, writeConfig } from '../support/cli.ts';
import { startWorld, type World } from '../support/world.ts';

describe('the main job - spool demo on the offline model', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());

  it('runs the seed tasks in order; the second result uses the first', async () => {
    // No ANTHROPIC_BASE_URL or key: the built-in offline model answers.
    const run = await runCli(['demo', '--json'], { natsUrl: world.nats.url });
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('running on the built-in offline model');
    const [first, second, ...rest] = run.stdout
      .trim()
      .split('\n')
      .map((line) => TaskResultSchema.parse(JSON.parse(line)));
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ agent: 'data-analyst', status: 'completed' });
    expect(first?.output).toContain('mean is 3');
    expect(second).toMatchObject({ agent: 'data-analyst', status: 'completed' });
    // The offline model can only know the dataset and the mean from the first exchange in memory.
    expect(second?.output).toContain('[1,2,3,4,5]');
    expect(second?.output).toContain('1.414');
    expect(second?.usage.inputTokens).toBeGreaterThan(first?.usage.inputTokens ?? 0);
    // The example agent works through its tools: a tool loop of two model calls per task.
    expect(first).toMatchObject({ steps: 2, tools: ['mean'] });
    expect(second).toMatchObject({ steps: 2, tools: ['mean', 'standard_deviation'] });
  });
});

describe('spool up - the embedded default when no NATS server answers', () => {
  it('starts nats-server with its data under .spool/, serves tasks, and stops it all on SIGINT', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'spool-up-'));
    const natsUrl = `nats://127.0.0.1:${await freePort()}`;
    expect(await isNatsReachable(natsUrl, 500)).toBe(false);
    const config = writeConfig({ agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } } });
    const up = startCli(['up', '--config', config], { natsUrl, cwd });
    try {
      await up.waitForLog('spool is up');
      expect(up.stderr).toContain('started an embedded nats-server');
      expect(existsSync(join(cwd, '.spool/nats/jetstream'))).toBe(true);

      const submit = await runCli(
        ['submit', 'helper', 'Analyze this dataset: [2,4]. Calculate the mean.', '--wait', '--json'],
        {
          natsUrl,
        },
      );
      expect(submit.code).toBe(0);
      const result = TaskResultSchema.parse(JSON.parse(submit.stdout));
      expect(result).toMatchObject({ agent: 'helper', status: 'completed' });
      expect(result.output).toContain('mean is 3');
    } finally {
      up.child.kill('SIGINT');
    }
    expect(await up.exited).toBe(0);
    expect(up.stderr).toContain('agent stopped');
    // The embedded server went down with it.
    expect(await isNatsReachable(natsUrl, 500)).toBe(false);
  });
});

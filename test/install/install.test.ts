import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Responder } from '@spool/testkit';
import { type FakeClaude, type NatsServer, startFakeClaude, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../support/cli.ts';
import { childrenOf, isAlive, runInstalled, spawnInstalled } from '../support/installed.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { metricsUrlIn, sample, scrape } from '../support/prometheus.ts';
import { waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** The user's own config, outside the repository, importing Spool as an installed package. */
const USER_CONFIG = `import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

const shout = defineTool({
  name: 'shout',
  description: 'Upper-cases a text.',
  input: z.object({ text: z.string() }),
  handler: ({ text }) => ({ shouted: text.toUpperCase() }),
});

export default defineConfig({
  agents: {
    helper: {
      instructions: 'Shout what you are asked to shout, with the tool.',
      model: 'claude-sonnet-4-6',
      tools: [shout],
      shutdownGraceMs: 5000,
    },
  },
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  include: ['spool.config.ts'],
};

/** Asks for the tool first, then answers with what it returned. */
const toolThenAnswer: Responder = (body) => {
  const last = body.messages?.at(-1);
  const result = Array.isArray(last?.content)
    ? last.content.find((b) => b.type === 'tool_result')
    : undefined;
  if (result !== undefined) return `the tool said: ${JSON.stringify(result.content)}`;
  return { content: [{ type: 'tool_use', id: 'toolu_1', name: 'shout', input: { text: 'hello from npm' } }] };
};

describe('install - the packed tarballs installed with npm outside the repository', () => {
  let project: string;
  let nats: NatsServer;
  let fake: FakeClaude;

  beforeAll(async () => {
    await run('bash', [join(ROOT, 'scripts/pack-all')], { cwd: ROOT, maxBuffer: 16 << 20 });
    const tarballs = readdirSync(join(ROOT, 'packed')).map((name) => join(ROOT, 'packed', name));
    project = mkdtempSync(join(tmpdir(), 'spool-install-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true }));
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, 'zod', 'typescript@~5.9.3'],
      { cwd: project, maxBuffer: 16 << 20 },
    );
    writeFileSync(join(project, 'spool.config.ts'), USER_CONFIG);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    nats = await startNats();
    fake = await startFakeClaude({ responder: toolThenAnswer });
  }, 240_000);

  afterAll(async () => {
    await fake?.close();
    await nats?.close();
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  it('gives a spool binary that is a plain Node script, and a cold --help', async () => {
    const bin = join(project, 'node_modules/.bin/spool');
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const help = await runInstalled(project, ['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: spool <command>');
    const npx = await run('npx', ['--no-install', 'spool', 'schema'], { cwd: project });
    expect(JSON.parse(npx.stdout).title).toBe('Spool config');
  });

  it("type-checks the user's config with the user's tsc against the installed types", async () => {
    const tsc = await run(join(project, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], {
      cwd: project,
    }).catch((err: { stdout: string; code: number }) => err);
    expect(tsc.stdout).toBe('');
    // and a mistake in it is caught by the same tsc
    writeFileSync(
      join(project, 'broken.ts'),
      `${USER_CONFIG.replace("model: 'claude-sonnet-4-6',", 'model: 42,')}`,
    );
    const broken = await run(
      join(project, 'node_modules/.bin/tsc'),
      ['--noEmit', ...tscFlags(), 'broken.ts'],
      {
        cwd: project,
      },
    ).catch((err: { stdout: string }) => err);
    expect(broken.stdout).toContain("Type 'number' is not assignable to type 'string'");
    rmSync(join(project, 'broken.ts'));
  }, 180_000);

  it('runs an agent from the user config (its tool included), answers spool submit --wait, with metrics and traces, and stops on SIGTERM with exit 0 and no process left', async () => {
    const receiver = await startOtlpReceiver();
    const env = { NATS_URL: nats.url, ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test-key' };
    // The installed @spool/observability: metrics on a free port, spans to an OTLP receiver.
    const observed = {
      ...env,
      SPOOL_METRICS_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const agent = new CliProcess(spawnInstalled(project, ['agent', 'helper'], observed));
    try {
      await agent.waitForLog('history replayed');
      const submitted = await runInstalled(
        project,
        ['submit', 'helper', 'shout it', '--wait', '--json'],
        env,
      );
      expect(submitted.code, submitted.stderr).toBe(0);
      const result = JSON.parse(submitted.stdout);
      expect(result).toMatchObject({ status: 'completed', tools: ['shout'], model: 'claude-sonnet-4-6' });
      expect(result.output).toContain('HELLO FROM NPM');
      const metricsUrl = metricsUrlIn(agent.stderr) as string;
      await waitFor(
        'the task counted in /metrics',
        async () =>
          sample(await scrape(metricsUrl), 'spool_tasks_total', { agent: 'helper', status: 'completed' }) ===
          1,
      );
      await waitFor('the task and tool spans', () =>
        ['invoke_agent helper', 'execute_tool shout'].every((name) =>
          receiver.spans.some((sp) => sp.name === name),
        ),
      );

      const pid = agent.child.pid as number;
      const children = childrenOf(pid);
      agent.child.kill('SIGTERM');
      const code = await Promise.race([
        agent.exited,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('no exit within the grace period')), 8_000),
        ),
      ]);
      expect(code).toBe(0);
      expect(agent.stderr).toContain('stopping');
      for (const child of [pid, ...children])
        await waitFor(`process ${child} (the agent or its child) gone`, () => !isAlive(child), 5_000);
    } finally {
      agent.child.kill('SIGKILL');
      await receiver.close();
    }
  });

  it('refuses to start an agent without a key unless --offline is given, in one line', async () => {
    const refused = await runInstalled(project, ['agent', 'helper'], { NATS_URL: nats.url });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'error: ANTHROPIC_API_KEY is not set: set it to run agents on Claude, or pass --offline (or SPOOL_OFFLINE=1) to run them on the built-in offline model',
    );
  });

  it('spool init scaffolds a project whose demo runs offline, and refuses to overwrite it', async () => {
    const app = join(project, 'my-agents');
    mkdirSync(app);
    const init = await runInstalled(app, ['init'], {});
    expect(init.code, init.stderr).toBe(0);
    for (const file of ['spool.config.ts', 'tsconfig.json', 'tasks.json', 'package.json', '.gitignore'])
      expect(existsSync(join(app, file)), file).toBe(true);
    const scripts = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).scripts;
    expect(scripts.demo).toBe('spool demo --offline');

    const demo = await run('npm', ['run', '--silent', 'demo', '--', '--json'], {
      cwd: app,
      env: { ...process.env, NATS_URL: nats.url, ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: '' },
    });
    const results = demo.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(results).toHaveLength(2);
    for (const result of results)
      expect(result).toMatchObject({ status: 'completed', model: 'offline', costUsd: 0 });
    expect(results[0].tools).toEqual(['mean']);
    expect(results[0].output).toContain('6');
    expect(demo.stderr).toContain('not Claude');

    const again = await runInstalled(app, ['init'], {});
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      'spool.config.ts, tsconfig.json, tasks.json, package.json, .gitignore already exist',
    );
    expect(readFileSync(join(app, 'package.json'), 'utf8')).toContain('"demo"');
  });
});

function tscFlags(): string[] {
  return ['--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2023', '--strict'];
}

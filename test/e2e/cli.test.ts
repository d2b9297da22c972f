import { TaskResultSchema } from '@spool/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { startWorld, type World } from '../support/world.ts';

describe('spool CLI - end to end against real processes', () => {
  let world: World;
  let agent: CliProcess;
  let coordinator: CliProcess;
  let env: { natsUrl: string; anthropicBaseUrl: string };
  let config: string;

  beforeAll(async () => {
    world = await startWorld();
    env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    config = writeConfig({ agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } } });
    agent = startCli(['agent', 'helper', '--config', config], env);
    coordinator = startCli(['coordinator', '--config', config], env);
    await Promise.all([
      agent.waitForLog('history replayed'),
      coordinator.waitForLog('answering status requests'),
    ]);
  });
  afterAll(async () => {
    await Promise.all([agent?.kill('SIGTERM'), coordinator?.kill('SIGTERM')]);
    await world?.close();
  });

  it('submit --wait prints the result when it arrives', async () => {
    const run = await runCli(['submit', 'helper', 'summarize the logs', '--id', 'cli-1', '--wait'], env);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('cli-1 completed');
    expect(run.stdout).toContain('fake reply to: summarize the logs');
  });

  it('submit --wait --json prints the result as JSON, and reads the input from stdin with "-"', async () => {
    const run = await runCli(['submit', 'helper', '-', '--id', 'cli-2', '--wait', '--json'], env, {
      stdin: 'from stdin\n',
    });
    expect(run.code).toBe(0);
    const result = TaskResultSchema.parse(JSON.parse(run.stdout));
    expect(result).toMatchObject({
      taskId: 'cli-2',
      agent: 'helper',
      status: 'completed',
      steps: 1,
      attempts: 1,
    });
    expect(result.output).toContain('from stdin');
  });

  it('pause, resume and cancel reach the agent through its control subject', async () => {
    const pause = await runCli(['pause', 'helper', '--reason', 'deploy', '--json'], env);
    expect(pause.code).toBe(0);
    expect(JSON.parse(pause.stdout)).toMatchObject({ agent: 'helper', type: 'pause', reason: 'deploy' });
    await agent.waitForLog('agent paused');
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(status.agents.find((a: { name: string }) => a.name === 'helper').paused).toBe(true);

    await runCli(['submit', 'helper', 'held while paused', '--id', 'cli-paused'], env);
    const cancel = await runCli(['cancel', 'cli-paused', '--agent', 'helper', '--reason', 'not needed'], env);
    expect(cancel).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('cancel cli-paused sent to helper'),
    });
    const resume = await runCli(['resume', 'helper'], env);
    expect(resume.code).toBe(0);
    const waited = await runCli(['submit', 'helper', 'x', '--id', 'cli-paused', '--wait', '--json'], env);
    expect(waited.code).toBe(1);
    expect(JSON.parse(waited.stdout)).toMatchObject({
      status: 'cancelled',
      error: { message: 'not needed' },
    });
    const late = await runCli(['cancel', 'cli-paused', '--agent', 'helper'], env);
    expect(late).toMatchObject({ code: 1, stderr: expect.stringContaining('already finished (cancelled)') });
  });

  it('submit --wait --follow streams the reply text as it arrives; the journal keeps one complete reply', async () => {
    world.fake.setLatency(300);
    const run = await runCli(
      ['submit', 'helper', 'stream this answer please', '--id', 'cli-follow', '--wait', '--follow', '--json'],
      env,
    );
    world.fake.setLatency(0);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const chunks = lines.filter((l) => l.type === 'text');
    const result = TaskResultSchema.parse(lines.at(-1));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.text).join('')).toBe(result.output);
    const replies = (await world.probe.history('helper'))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 'model.responded' && e.data.taskId === 'cli-follow');
    expect(replies).toHaveLength(1);
    // Streamed because someone followed; a task nobody follows gets one plain call.
    const streamed = (input: string) =>
      world.fake.requests
        .filter((r) => JSON.stringify((r.body as { messages: unknown[] }).messages.at(-1)).includes(input))
        .map((r) => r.stream);
    expect(streamed('stream this answer please')).toEqual([true]);
    expect(streamed('summarize the logs')).toEqual([false]);
    const human = await runCli(['submit', 'helper', 'x', '--follow'], env);
    expect(human).toMatchObject({ code: 2, stderr: expect.stringContaining('--follow needs --wait') });
  });

  it('the same id submitted twice is one task', async () => {
    const again = await runCli(
      ['submit', 'helper', 'something else', '--id', 'cli-1', '--wait', '--json'],
      env,
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).output).toContain('summarize the logs');
    expect((await world.probe.results('helper')).filter((r) => r.taskId === 'cli-1')).toHaveLength(1);
  });

  it('status shows each agent with its holder and counts', async () => {
    const run = await runCli(['status', '--json'], env);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    const helper = report.agents.find((a: { name: string }) => a.name === 'helper');
    expect(helper).toMatchObject({
      status: 'idle',
      holderAlive: true,
      paused: false,
      counts: { completed: 3, cancelled: 1 },
      results: { published: 4 },
      queued: 0,
      unacked: 0,
    });
    const human = await runCli(['status'], env);
    expect(human.stdout).toMatch(/helper\s+idle/);
  });

  it('replay --json writes one event and the state it led to per line', async () => {
    const run = await runCli(['replay', 'helper', '--json'], env);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event.type).slice(0, 5)).toEqual([
      'task.received',
      'task.started',
      'model.responded',
      'task.completed',
      'result.published',
    ]);
    expect(lines.at(-1).state.counts.completed).toBe(3);
    const until = await runCli(['replay', 'helper', '--until', String(lines[0].seq), '--json'], env);
    expect(
      until.stdout
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).seq <= lines[0].seq),
    ).toBe(true);
  });

  it.each([
    [['submit', 'Bad_Name', 'x'], /agent "Bad_Name" is not a valid name/],
    [['submit', 'helper', 'x', '--id', 'has space'], /--id: must be 1-128 characters/],
    [['submit', 'helper'], /missing <input>/],
    [['submit', 'helper', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['replay', 'helper', '--until', 'soon'], /--until must be a positive whole number \(got "soon"\)/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['pause'], /spool pause: missing <agent>/],
    [['resume', 'helper', '--reason', 'x'], /--reason applies to pause and cancel only/],
    [['cancel', 'no spaces allowed'], /"no spaces allowed" is not a task id/],
    [['cancel', 'not-running-anywhere'], /no agent has not-running-anywhere in flight; .* pass --agent NAME/],
    [['replay', 'helper', '--verify', '--until', '3'], /--verify compares at the snapshot's own sequence/],
    [['deny', 'some-task'], /spool deny: --reason "…" is required/],
    [['approve', 'some-task', '--reason', 'x'], /--reason applies to deny only/],
    [['dlq', 'resurrect', 't-1'], /unknown action "resurrect"/],
  ])('refuses bad arguments %j with one line and exit code 2', async (args, message) => {
    const run = await runCli(args, env);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });

  it.each([
    ['{"agents": {"x": {"model": "m"}}}', /agents\.x\.instructions: is required/],
    [
      '{"agents": {"x": {"instructions": "i", "model": "m", "concurrency": 0}}}',
      /agents\.x\.concurrency: must be at least 1 \(got 0\)/,
    ],
    ['{"agents": ', /not valid JSON/],
  ])('refuses a bad config with one line naming the field: %s', async (text, message) => {
    const run = await runCli(['agent', 'x', '--config', writeConfig(text)], env);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });
});

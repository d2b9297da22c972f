import { execFileSync } from 'node:child_process';
import type { HistoryEvent } from '@spool/core';
import { taskIdOf } from '@spool/core';
import { results, sendControl, submitTask } from '@spool/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, startCli, writeConfig } from '../support/cli.ts';
import { everythingServer } from '../support/mcp-servers.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

let world: World;
let agent: CliProcess | undefined;
beforeAll(async () => {
  world = await startWorld();
});
afterEach(async (context) => {
  printLogOnFailure(context, agent);
  await agent?.kill('SIGTERM');
  agent = undefined;
});
afterAll(() => world?.close());

const SLOW = 'mcp__everything__trigger-long-running-operation';

async function eventsOf(name: string, taskId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(name)).flatMap((c) => c.events).filter((e) => taskIdOf(e) === taskId);
}
const count = (events: HistoryEvent[], type: HistoryEvent['type']) =>
  events.filter((e) => e.type === type).length;

/** Processes whose command line holds `marker` (the MCP servers of one test). */
function processesWith(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

/** An agent process whose one MCP server is server-everything (stdio), with `safety` for the slow tool. */
function configFor(name: string, marker: string, safety: Record<string, unknown>): string {
  const server = everythingServer();
  return writeConfig({
    agents: {
      [name]: {
        instructions: 'Use the tools.',
        model: 'claude-sonnet-4-6',
        leaseTtlMs: 1000,
        mcpServers: {
          everything: {
            command: server.command,
            // The marker finds this test's server processes; server-everything ignores it.
            args: [...server.args, marker],
            timeoutMs: 30_000,
            overrides: { 'trigger-long-running-operation': safety },
          },
        },
      },
    },
  });
}

async function crashDuringTool(name: string, safety: Record<string, unknown>, marker: string) {
  const config = configFor(name, marker, safety);
  const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
  agent = startCli(['agent', name, '--config', config], env);
  await agent.waitForLog('history replayed');
  world.fake.script({
    content: [{ type: 'tool_use', id: 'toolu_slow', name: SLOW, input: { duration: 3, steps: 3 } }],
  });
  await submitTask(world.connection, name, { id: 'crash-1', input: 'Run the slow tool.' });
  // A non-idempotent call is journaled as started before it runs: kill after that.
  const running = safety.idempotent === false ? 'tool.started' : 'tool.requested';
  await waitFor(
    `the slow call's ${running}`,
    async () => count(await eventsOf(name, 'crash-1'), running) === 1,
  );
  expect(processesWith(marker)).toHaveLength(1);
  await agent.kill('SIGKILL');
  // The stdio server is the agent's child: it sees its stdin close and exits (no orphan).
  await waitFor(
    () => `no MCP server left: ${processesWith(marker).join('; ')}`,
    () => processesWith(marker).length === 0,
    20_000,
  );
  expect(count(await eventsOf(name, 'crash-1'), 'tool.completed')).toBe(0);
  world.fake.script('Done after the crash.');
  agent = startCli(['agent', name, '--config', config], env);
  return env;
}

describe('mcp tools - SIGKILL of the agent between tool.requested and tool.completed', () => {
  it('a tool that is neither read-only nor idempotent waits for an operator, then runs once', async () => {
    const name = 'mcp-crash-unsafe';
    // No npm server here has a slow unannotated tool: the config gives this one an unannotated tool's safety.
    await crashDuringTool(name, { idempotent: false }, `spool-test-${process.pid}-unsafe`);
    await waitFor(
      'the approval request after the restart',
      async () => count(await eventsOf(name, 'crash-1'), 'approval.requested') === 1,
    );
    const waiting = await eventsOf(name, 'crash-1');
    expect(count(waiting, 'tool.started')).toBe(1);
    expect(count(waiting, 'tool.completed')).toBe(0);
    await sendControl(world.connection, name, { type: 'approve', taskId: 'crash-1' }, 'approve-crash-1');
    const done = await results(world.connection).wait(name, 'crash-1', AbortSignal.timeout(30_000));
    expect(done).toMatchObject({ status: 'completed', output: 'Done after the crash.' });
    const events = await eventsOf(name, 'crash-1');
    expect(count(events, 'tool.started')).toBe(2); // run 1 (interrupted), run 2 (approved)
    expect(count(events, 'tool.completed')).toBe(1);
  });

  it('a read-only tool is run again once, with no operator', async () => {
    const name = 'mcp-crash-readonly';
    await crashDuringTool(name, {}, `spool-test-${process.pid}-readonly`);
    const done = await results(world.connection).wait(name, 'crash-1', AbortSignal.timeout(30_000));
    expect(done).toMatchObject({ status: 'completed', output: 'Done after the crash.' });
    const events = await eventsOf(name, 'crash-1');
    expect(count(events, 'approval.requested')).toBe(0);
    expect(count(events, 'tool.started')).toBe(0);
    expect(count(events, 'tool.completed')).toBe(1);
    expect(events.find((e) => e.type === 'tool.completed')?.data).toMatchObject({
      isError: false,
      content: expect.stringContaining('Long running operation completed'),
    });
  });
});

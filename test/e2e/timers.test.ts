import type { HistoryEvent } from '@spool/core/internal';
import { results, sendControl, submitTask } from '@spool/jetstream';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/** The task's own input: the newest user message of text (earlier tasks come first, as memory). */
function taskInput(body: MessagesBody): string {
  for (const message of [...(body.messages ?? [])].reverse()) {
    if (message.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    const text = message.content.find((b) => b.type === 'text')?.text;
    if (typeof text === 'string') return text;
  }
  return '';
}

/** Asks to wait (the first step), then answers with what the wait's result said. */
function responder(body: MessagesBody) {
  const last = body.messages?.at(-1);
  const toolResult = Array.isArray(last?.content)
    ? last.content.find((b) => b.type === 'tool_result')
    : undefined;
  if (toolResult !== undefined) return `resumed: ${String(toolResult.content)}`;
  const input = taskInput(body);
  const wait = /WAIT (\S+)/.exec(input)?.[1] ?? '5s';
  return {
    content: [
      {
        type: 'tool_use',
        id: `tu_${input.length}`,
        name: 'wait',
        input: { wait_for: wait, reason: 'the page may change' },
      },
    ],
    stopReason: 'tool_use',
  };
}

const CONFIG = {
  agents: {
    watcher: {
      instructions: 'Watch.',
      model: 'claude-sonnet-4-6',
      concurrency: 1,
      leaseTtlMs: 1000,
      timers: { maxWait: '1h' },
    },
  },
};

describe('durable timers - the wait tool', () => {
  let world: World;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    world = await startWorld({ responder });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    await world?.close();
  });
  const config = writeConfig(CONFIG);
  const env = () => ({ natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url });
  const start = (what: string[] = ['agent', 'watcher']) => {
    const p = startCli([...what, '--config', config], env());
    procs.push(p);
    return p;
  };
  const events = async (): Promise<HistoryEvent[]> =>
    (await world.probe.history('watcher')).flatMap((c) => c.events);
  const callsFor = (input: string) =>
    world.fake.requests.filter(
      (r) => r.path === '/v1/messages' && taskInput(r.body as MessagesBody) === input,
    );

  it('SIGKILL while a task waits on a timer: it resumes at the time, once, and the model is not asked again for that step', async () => {
    const coordinator = start(['coordinator']);
    const first = start();
    await first.waitForLog('history replayed');
    await coordinator.waitForLog('coordinator history replayed');
    // Long enough that the quick task and a status CLI (seconds each on a loaded machine) come first.
    await submitTask(world.connection, 'watcher', { id: 'watch-1', input: 'WAIT 20s check the page' });
    await waitFor('the timer to be journaled', async () =>
      (await events()).some((e) => e.type === 'timer.set'),
    );
    const set = (await events()).find((e) => e.type === 'timer.set')?.data as { until: string; at: string };
    // The task waits without its slot: another task runs meanwhile (concurrency 1).
    await submitTask(world.connection, 'watcher', { id: 'watch-2', input: 'WAIT 1s quick one' });
    const quick = await results(world.connection).wait('watcher', 'watch-2', AbortSignal.timeout(20_000));
    expect(quick.status).toBe('completed');
    const status = await runCli(['status', '--json'], env());
    const inFlight = (
      JSON.parse(status.stdout) as {
        agents: { name: string; inFlight: { taskId: string; waitingUntil?: string }[] }[];
      }
    ).agents
      .find((a) => a.name === 'watcher')
      ?.inFlight.find((t) => t.taskId === 'watch-1');
    expect(inFlight?.waitingUntil).toBe(set.until);

    await first.kill('SIGKILL');
    const second = start();
    const result = await results(world.connection).wait('watcher', 'watch-1', AbortSignal.timeout(30_000));
    expect(result.status).toBe('completed');
    expect(result.output).toMatch(/^resumed: waited 20s \(from /);
    const history = await events();
    const completed = history.filter(
      (e) => e.type === 'tool.completed' && (e.data as { taskId: string }).taskId === 'watch-1',
    );
    expect(completed).toHaveLength(1);
    const firedAt = Date.parse((completed[0]?.data as { at: string } | undefined)?.at ?? '');
    const drift = firedAt - Date.parse(set.until);
    expect(drift).toBeGreaterThanOrEqual(0);
    // Two model calls for the task: the one that set the timer (never asked again) and the one after it.
    expect(callsFor('WAIT 20s check the page')).toHaveLength(2);
    expect(second.stderr).toContain('timer fired; the task goes on');
    console.log(
      `timer set at ${set.at} until ${set.until}; fired at ${new Date(firedAt).toISOString()} (drift ${drift} ms, across a SIGKILL and a takeover)`,
    );
  }, 90_000);

  it('cancel ends a waiting task at once; a wait past timers.maxWait is refused as an error the model reads', async () => {
    await submitTask(world.connection, 'watcher', { id: 'watch-3', input: 'WAIT 30m long one' });
    await waitFor('the timer to be journaled', async () =>
      (await events()).some(
        (e) => e.type === 'timer.set' && (e.data as { taskId: string }).taskId === 'watch-3',
      ),
    );
    const asked = Date.now();
    await sendControl(
      world.connection,
      'watcher',
      { type: 'cancel', taskId: 'watch-3', reason: 'not needed' },
      'cancel-watch-3',
    );
    const cancelled = await results(world.connection).wait('watcher', 'watch-3', AbortSignal.timeout(10_000));
    expect(cancelled.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(5_000);

    await submitTask(world.connection, 'watcher', { id: 'watch-4', input: 'WAIT 2h too long' });
    const refused = await results(world.connection).wait('watcher', 'watch-4', AbortSignal.timeout(20_000));
    expect(refused.output).toMatch(
      /^resumed: wait refused: 2h is longer than this agent may wait \(1h, timers\.maxWait\)/,
    );
  }, 60_000);
});

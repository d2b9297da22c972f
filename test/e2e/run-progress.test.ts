import type { TaskResult } from '@spool/core';
import { lastUserText, type MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startUp, writeConfig } from '../support/cli.ts';
import { startWorld, type World } from '../support/world.ts';

const flakyCalls = new Map<string, number>();

function responder(body: MessagesBody) {
  const text = lastUserText(body);
  const [word = '', ...rest] = text.split(' ');
  const tail = rest.join(' ');
  switch (word) {
    case 'PLAN':
      return 'The parts:\n```json\n["alpha", "beta", "gamma"]\n```';
    case 'DIG':
      return `dug ${tail}`;
    case 'REFUSE':
      return { text: 'I will not.', stopReason: 'refusal' };
    case 'FLAKY': {
      const calls = (flakyCalls.get(tail) ?? 0) + 1;
      flakyCalls.set(tail, calls);
      return calls === 1 ? { text: 'not this time', stopReason: 'refusal' } : `flaky ok on call ${calls}`;
    }
    default:
      return `ok: ${text}`;
  }
}

const agent = { instructions: 'Work.', model: 'claude-sonnet-4-6', concurrency: 4 };
const CONFIG = {
  agents: { planner: agent, researcher: agent, writer: agent },
  workflows: {
    research: {
      steps: {
        plan: { agent: 'planner', input: 'PLAN {{input}}' },
        dig: { agent: 'researcher', map: 'plan', input: 'DIG {{item}}' },
        write: { agent: 'writer', input: 'write {{steps.dig.output}}' },
      },
    },
    fails: { steps: { judge: { agent: 'writer', input: 'REFUSE {{input}}' } } },
    retry: { steps: { flaky: { agent: 'researcher', input: 'FLAKY {{input}}', retries: 1 } } },
    slow: { steps: { wait: { agent: 'researcher', input: 'slow {{input}}', timeoutMs: 4000 } } },
  },
};

let world: World;
let up: CliProcess;
const env = () => ({ natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url });

beforeAll(async () => {
  world = await startWorld({ responder, latencyMs: 200 });
  up = await startUp(writeConfig(CONFIG), env());
}, 60_000);
afterEach((context) => printLogOnFailure(context, up));
afterAll(async () => {
  await up?.kill('SIGTERM');
  await world?.close();
});

/** The progress lines of stderr, without their elapsed-time prefix. */
function progressLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /^ {2}\+\d/.test(l))
    .map((l) => l.replace(/^ {2}\+[\dhms.]+ /, ''));
}

/** `b` comes after `a` in `lines` (both present). */
function expectBefore(lines: string[], a: string, b: string) {
  const i = lines.indexOf(a);
  const j = lines.indexOf(b);
  expect(i, `${a} in ${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  expect(j, `${b} in ${lines.join('\n')}`).toBeGreaterThan(i);
}

describe('spool run --wait shows the run progress', () => {
  it('prints each step and task on stderr in order, then the result on stdout', async () => {
    const out = await runCli(
      ['run', 'research', 'rivers', '--id', 'wf-prog-1', '--wait', '--timeout', '60'],
      env(),
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('wf-prog-1 completed');
    expect(out.stdout).toContain('ok: write');
    expect(out.stderr).toMatch(/^ {2}\+\d+\.\ds /m);
    const lines = progressLines(out.stderr);
    expect(lines[0]).toBe('research: workflow started (3 step(s): plan, dig, write)');
    expect(lines.slice(1, 6)).toEqual([
      'plan: step started',
      'plan: started → planner (wf-prog-1:plan:0:1)',
      'plan: completed (wf-prog-1:plan:0:1)',
      'plan: step completed',
      'dig: step started, 3 item(s)',
    ]);
    for (const i of [0, 1, 2]) {
      const id = `wf-prog-1:dig:${i}:1`;
      expectBefore(lines, 'dig: step started, 3 item(s)', `dig[${i}]: started → researcher (${id})`);
      expectBefore(lines, `dig[${i}]: started → researcher (${id})`, `dig[${i}]: completed (${id})`);
      expectBefore(lines, `dig[${i}]: completed (${id})`, 'dig: step completed');
    }
    expect(lines.slice(-5)).toEqual([
      'write: step started',
      'write: started → writer (wf-prog-1:write:0:1)',
      'write: completed (wf-prog-1:write:0:1)',
      'write: step completed',
      'workflow completed',
    ]);
    // Only this run's events: 1 + 4 (plan) + 1 + 3×2 + 1 (dig) + 4 (write) + 1.
    expect(lines).toHaveLength(18);

    // The same id again: one run; no progress, but its result.
    const again = await runCli(
      ['run', 'research', 'rivers', '--id', 'wf-prog-1', '--wait', '--timeout', '30'],
      env(),
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('wf-prog-1 was already started (duplicate id: same run)');
    expect(progressLines(again.stderr)).toEqual([]);
    expect(again.stdout).toContain('wf-prog-1 completed');
  });

  it('notes retries and failures with their error code, and timeouts', async () => {
    const retry = await runCli(
      ['run', 'retry', 'r1', '--id', 'wf-prog-retry', '--wait', '--timeout', '60'],
      env(),
    );
    expect(retry.code, retry.stderr).toBe(0);
    expect(progressLines(retry.stderr)).toEqual([
      'retry: workflow started (1 step(s): flaky)',
      'flaky: step started',
      'flaky: started → researcher (wf-prog-retry:flaky:0:1)',
      'flaky: failed: model_refused (wf-prog-retry:flaky:0:1)',
      'flaky: retry (attempt 2) → researcher (wf-prog-retry:flaky:0:2)',
      'flaky: completed (wf-prog-retry:flaky:0:2)',
      'flaky: step completed',
      'workflow completed',
    ]);

    const failed = await runCli(
      ['run', 'fails', 'x', '--id', 'wf-prog-fail', '--wait', '--timeout', '60'],
      env(),
    );
    expect(failed.code).toBe(1);
    const lines = progressLines(failed.stderr);
    expect(lines).toContain('judge: failed: model_refused (wf-prog-fail:judge:0:1)');
    expect(lines).toContain('judge: step failed: model_refused');
    expect(lines.at(-1)).toMatch(/^workflow failed: /);

    world.fake.stallNext();
    const slow = await runCli(
      ['run', 'slow', 's1', '--id', 'wf-prog-slow', '--wait', '--timeout', '60'],
      env(),
    );
    expect(
      world.fake.requests.filter((r) => lastUserText(r.body as MessagesBody) === 'slow s1'),
    ).toHaveLength(1);
    expect(slow.code).toBe(1);
    expect(progressLines(slow.stderr)).toContain('wait: failed, timed out (wf-prog-slow:wait:0:1)');
  });

  it('--json --follow prints NDJSON progress events, then the result', async () => {
    const out = await runCli(
      ['run', 'research', 'lakes', '--id', 'wf-prog-json', '--wait', '--json', '--follow', '--timeout', '60'],
      env(),
    );
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1) as unknown as TaskResult;
    expect(result.taskId).toBe('wf-prog-json');
    expect(result.status).toBe('completed');
    const progress = lines.slice(0, -1) as {
      type: string;
      event: { type: string; data: { workflowId: string } };
    }[];
    expect(progress.every((p) => p.type === 'progress' && p.event.data.workflowId === 'wf-prog-json')).toBe(
      true,
    );
    const types = progress.map((p) => p.event.type);
    expect(types[0]).toBe('workflow.started');
    expect(types).toContain('workflow.step_started');
    expect(types.filter((t) => t === 'workflow.task_dispatched')).toHaveLength(5);
    expect(types).toContain('workflow.finished');
    expect(progressLines(out.stderr)).toEqual([]);

    // --json alone: the result line only.
    const plain = await runCli(
      ['run', 'fails', 'y', '--id', 'wf-prog-json2', '--wait', '--json', '--timeout', '60'],
      env(),
    );
    expect(plain.stdout.trim().split('\n')).toHaveLength(1);
    expect((JSON.parse(plain.stdout) as TaskResult).status).toBe('failed');
  });

  it('--quiet prints no progress', async () => {
    const out = await runCli(
      ['run', 'research', 'seas', '--id', 'wf-prog-quiet', '--wait', '--quiet', '--timeout', '60'],
      env(),
    );
    expect(out.code, out.stderr).toBe(0);
    expect(progressLines(out.stderr)).toEqual([]);
    expect(out.stdout).toContain('wf-prog-quiet completed');

    const bad = await runCli(['run', 'research', 'x', '--follow'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--follow needs --wait');
  });
});

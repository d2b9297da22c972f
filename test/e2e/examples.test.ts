import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type HistoryEvent, parseConfig, type TaskResult, TaskResultSchema } from '@spool/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@spool/testkit';
import { runCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, startBroker } from '../support/world.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const example = (name: string) => ({
  config: join(ROOT, 'examples', name, 'spool.config.json'),
  tasks: join(ROOT, 'examples', name, 'tasks.json'),
});

/** `spool demo --config … --tasks … --json` on the offline model (no key, no base URL): one result per line. */
async function demo(name: string, broker: Broker, configFile = 'spool.config.json'): Promise<TaskResult[]> {
  const { tasks } = example(name);
  const config = join(ROOT, 'examples', name, configFile);
  const run = await runCli(['demo', '--config', config, '--tasks', tasks, '--json'], {
    natsUrl: broker.nats.url,
  });
  expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
  expect(run.code, run.stderr.slice(-3000)).toBe(0);
  expect(run.stderr).toContain('running on the built-in offline model');
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => TaskResultSchema.parse(JSON.parse(line)));
}

const events = async (broker: Broker, actor: string): Promise<HistoryEvent[]> =>
  (await broker.probe.history(actor)).flatMap((c) => c.events);
const data = (e: HistoryEvent) => e.data as Record<string, unknown>;

describe('examples/research - spool demo runs the research workflow', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker?.close());

  it('fans the outline out over the researcher pool, drafts from the findings, and completes every step', async () => {
    const config = parseConfig(JSON.parse(readFileSync(example('research').config, 'utf8')));
    const definition = config.workflows.research;
    expect(definition).toBeDefined();
    const [result, ...rest] = await demo('research', broker);
    expect(rest).toEqual([]);
    if (result === undefined) throw new Error('spool demo printed no result');
    expect(result).toMatchObject({ agent: 'coordinator', status: 'completed' });
    const id = result.taskId;
    expect(result.meta).toMatchObject({ workflow: 'research' });
    const steps = (result.meta as { steps: Record<string, string> }).steps;
    expect(Object.keys(steps).sort()).toEqual(Object.keys(definition?.steps ?? {}).sort());
    expect(Object.values(steps).every((s) => s === 'completed')).toBe(true);

    // The coordinator's history: the outline's list, and one dig task per item.
    const history = (await events(broker, 'coordinator')).filter((e) => data(e).workflowId === id);
    const finished = (step: string) =>
      history.find((e) => e.type === 'workflow.step_finished' && data(e).step === step);
    const subtopics = JSON.parse(String(data(finished('outline') as HistoryEvent).output)) as string[];
    expect(subtopics.length).toBeGreaterThan(1);
    const digs = history.filter((e) => e.type === 'workflow.task_dispatched' && data(e).step === 'dig');
    expect(digs.map((e) => data(e).index)).toEqual(subtopics.map((_, i) => i));
    expect(digs.map((e) => data(e).attempt)).toEqual(subtopics.map(() => 1));
    subtopics.forEach((topic, i) => {
      expect(String(data(digs[i] as HistoryEvent).input)).toContain(topic);
    });

    // The dig tasks ran on the pool's replicas, spread over them.
    const replicas = config.agents.researcher?.replicas ?? 1;
    const digResults = (await broker.probe.results('researcher')).filter((r) =>
      r.taskId.startsWith(`${id}:dig:`),
    );
    expect(digResults).toHaveLength(subtopics.length);
    expect(digResults.every((r) => r.status === 'completed')).toBe(true);
    if (replicas > 1) {
      expect(new Set(digResults.map((r) => r.replica)).size).toBe(Math.min(replicas, subtopics.length));
    }

    // The draft quotes each finding; the workflow's output is the draft, then the review.
    const findings = JSON.parse(String(data(finished('dig') as HistoryEvent).output)) as string[];
    expect(findings).toHaveLength(subtopics.length);
    const draft = String(data(finished('draft') as HistoryEvent).output);
    // Each note's first sentence, in quotes (what the offline writer does with its notes).
    for (const finding of findings)
      expect(draft).toContain(`"${finding.slice(0, finding.indexOf('. ') + 1)}"`);
    expect(result.output).toContain(draft);
    expect(result.output).toMatch(/Review: .*Verdict: (approve|revise)/s);

    // After the demo no coordinator runs: `spool workflow` folds the same view from its history.
    const shown = await runCli(['workflow', id, '--json'], { natsUrl: broker.nats.url });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stderr).toContain('folded from its history');
    const view = JSON.parse(shown.stdout) as {
      status: string;
      output: string;
      usage: { inputTokens: number };
    };
    expect(view).toMatchObject({ id, status: 'completed', output: result.output, usage: result.usage });
    expect(view.usage.inputTokens).toBeGreaterThan(0);
  }, 30_000);
});

describe('examples/planner - spool demo runs the planner goal', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker?.close());

  it('delegates to the scout and the scribe and combines their results', async () => {
    const [result, ...rest] = await demo('planner', broker);
    expect(rest).toEqual([]);
    expect(result).toMatchObject({ agent: 'planner', status: 'completed', tools: ['delegate', 'delegate'] });

    const planner = (await events(broker, 'planner')).filter((e) => data(e).taskId === result?.taskId);
    const requested = planner.filter((e) => e.type === 'delegation.requested');
    expect(requested.map((e) => data(e).agent).sort()).toEqual(['scout', 'scribe']);
    for (const e of requested) {
      const agent = String(data(e).agent);
      const childId = String(data(e).childTaskId);
      expect(childId).toMatch(/^dlg-[0-9a-f]{24}$/);
      const child = (await broker.probe.results(agent)).find((r) => r.taskId === childId);
      expect(child, `${agent}'s result for ${childId}`).toMatchObject({ agent, status: 'completed' });
      // The combined answer carries each worker's output.
      expect(result?.output).toContain(`From ${agent}:`);
      expect(result?.output).toContain(child?.output?.split('\n')[0] as string);
    }
  }, 30_000);
});

describe('examples/monitor - one command runs the status page and spool up, on a schedule', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker?.close());

  it('checks the page on each fire, keeps its notes across checks, and stops cleanly', async () => {
    const run = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'monitor', 'run.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NATS_URL: broker.nats.url,
        STATUS_PORT: String(await freePort()),
        SPOOL_CONSOLE_PORT: String(await freePort()),
        MONITOR_EVERY: '2s',
        SPOOL_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    run.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => run.once('exit', resolve));
    try {
      await waitFor(
        'two checks',
        async () =>
          (await broker.probe.results('monitor')).filter((r) => r.status === 'completed').length >= 2,
        60_000,
      );
      const checks = (await broker.probe.results('monitor')).filter((r) => r.status === 'completed');
      // Each task id is its fire's time; each check's notes count the checks before it.
      expect(checks.map((r) => r.taskId)).toEqual(
        checks.map(() => expect.stringMatching(/^check-status@\d{8}T\d{6}Z$/)),
      );
      expect(checks[0]?.tools).toEqual(['fetch_status']);
      expect(checks[1]?.output).toMatch(/^Status: \w+ .*Checks: 2\.$/s);
    } finally {
      run.kill('SIGTERM');
    }
    expect(await exited, stderr.slice(-2000)).toBe(0);
    expect(stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 90_000);
});

describe('examples/support - spool demo runs a support agent per customer', () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(() => broker?.close());

  it('answers each customer from their own orders and their own memory', async () => {
    const results = await demo('support', broker, 'spool.config.ts');
    expect(results.map((r) => [r.key, r.status, r.tools])).toEqual([
      ['acme', 'completed', ['lookup_order']],
      ['globex', 'completed', ['lookup_order']],
      ['acme', 'completed', ['lookup_order']],
      ['globex', 'completed', ['lookup_order']],
    ]);
    expect(results.every((r) => r.agent === 'support')).toBe(true);
    const [first, second, third, fourth] = results.map((r) => r.output ?? '');
    expect(first).toMatch(/^Order 1001 \(2 × blue widget\): shipped/);
    expect(second).toMatch(/^Order 2001 \(40 × sprocket\): delivered/);
    // acme's follow-up names no order: its instance remembers its own earlier question.
    expect(third).toMatch(/^About the order you asked about earlier: Order 1001/);
    // globex asks for acme's order: the lookup reads globex's orders only.
    expect(fourth).toMatch(/cannot find order 1001 on your account/);

    // One history per customer, holding that customer's tasks only.
    const histories = await broker.probe.keyedHistory('support');
    const keys = [...new Set(histories.map((c) => c.key))].sort();
    expect(keys).toEqual(['acme', 'globex']);
    const acme = JSON.stringify(histories.filter((c) => c.key === 'acme'));
    expect(acme).toContain('order 1001');
    expect(acme).not.toContain('2001');
  }, 60_000);

  it('refuses a seed for the keyed agent itself, or for a bad key, in one line', async () => {
    const config = join(ROOT, 'examples', 'support', 'spool.config.ts');
    const seeds = join(tmpdir(), `support-seeds-${process.pid}.json`);
    for (const [agent, message] of [
      ['support', /0\.agent: "support" is a keyed agent: name one of its instances, "support\/<key>"/],
      ['support/not ok', /0\.agent: key "not ok" has characters outside/],
    ] as const) {
      writeFileSync(seeds, JSON.stringify([{ agent, input: 'hello' }]));
      const run = await runCli(['demo', '--config', config, '--tasks', seeds], { natsUrl: broker.nats.url });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    }
  }, 60_000);
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, results, type SpoolConnection, submitTask } from '@spool/jetstream';
import { type NatsServer, startFakeClaude, startNats, type FakeClaude } from '@spool/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchStatus } from '../../apps/cli/src/operator/coordinator-api.ts';
import { type CliEnv, type CliProcess, runCli, startCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { testLogger } from '../support/world.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, 'test/e2e/console-fixture/spool.config.ts');
const CHROMIUM = '/usr/bin/chromium';
/** Five processes start at once: on a loaded 2-core machine one may take a minute or more. */
const STARTUP_MS = 120_000;

/** Debian's chromium, installed here when missing; the reason it cannot be, or undefined. */
function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  try {
    // A fresh machine's package lists may be stale or empty: update them if the first try fails.
    execFileSync(
      'sh',
      ['-c', 'apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }'],
      {
        stdio: 'ignore',
        timeout: 300_000,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
    );
  } catch {
    // reported below
  }
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing and "apt-get install chromium" failed`;
}

const missing = chromiumMissing();
if (missing !== undefined) console.warn(`console browser test skipped: ${missing}`);
const toolUse = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });

/**
 * What `spool replay payer --json` says t-hello's phase is after each sequence: the state after
 * a commit's last event (each line holds the state after its event), as --until SEQ ends.
 */
async function replayedPhases(env: CliEnv): Promise<Map<number, string | undefined>> {
  const out = await runCli(['replay', 'payer', '--json'], env);
  const phases = new Map<number, string | undefined>();
  for (const line of out.stdout.trim().split('\n')) {
    const { seq, state } = JSON.parse(line) as {
      seq: number;
      state: { active: Record<string, { phase: string }> };
    };
    phases.set(seq, state.active['t-hello']?.phase);
  }
  return phases;
}

describe.skipIf(missing !== undefined)('the web console in a real Chromium', () => {
  let nats: NatsServer;
  let fake: FakeClaude;
  let env: CliEnv;
  /** The test's own connection, to submit and ask quickly (the CLI's are tested elsewhere). */
  let client: SpoolConnection;
  const submit = (agent: string, id: string, input: string) => submitTask(client, agent, { id, input });
  const processes: CliProcess[] = [];
  let consoleUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const cspViolations: string[] = [];

  const base = () => consoleUrl.split('#')[0];
  const pill = (text: string) => page.locator('h1 .pill', { hasText: text });
  const agentRow = (name: string) =>
    page.locator('tr', { has: page.getByRole('cell', { name, exact: true }) });
  const shoot = (name: string) =>
    page.screenshot({ path: join(ROOT, `docs/console-${name}.png`), fullPage: false });

  beforeAll(async () => {
    nats = await startNats();
    fake = await startFakeClaude();
    env = { natsUrl: nats.url, anthropicBaseUrl: fake.url, extraEnv: { SPOOL_CONSOLE_TOKEN: '' } };
    const coordinator = startCli(['coordinator', '--config', CONFIG], env);
    const agent = startCli(['agent', 'payer', '--config', CONFIG], env);
    const crew = startCli(['agent', 'crew', '--config', CONFIG], env);
    const desk = startCli(['agent', 'desk', '--config', CONFIG], env);
    const web = startCli(['console', '--port', '0'], env);
    processes.push(coordinator, agent, crew, desk, web);
    await coordinator.waitForLog('coordinator answering status requests', STARTUP_MS);
    await agent.waitForLog('payer', STARTUP_MS);
    await crew.waitForLog('pool replicas running', STARTUP_MS);
    await desk.waitForLog('keyed agent host running', STARTUP_MS);
    await web.waitForLog('console connected to NATS', STARTUP_MS);
    consoleUrl = /console: (http:\/\/\S+)/.exec(web.stderr)?.[1] ?? '';
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/);

    client = await connect({ url: nats.url, name: 'console-test', logger: testLogger });

    // A completed task, one waiting for an approval, one failed for good (a dead letter).
    expect((await runCli(['submit', 'payer', 'hello there', '--id', 't-hello', '--wait'], env)).code).toBe(0);
    fake.script({ content: [toolUse('toolu_pay', 'pay', { invoice: 'INV-7' })] });
    await submit('payer', 't-pay', 'pay INV-7');
    await waitFor(
      't-pay waiting for approval',
      async () =>
        (await fetchStatus(client)).agents.some((a) => a.approvals.some((w) => w.taskId === 't-pay')),
      30_000,
    );
    fake.failNext(400);
    const failed = results(client).wait('payer', 't-fail');
    await submit('payer', 't-fail', 'this one fails');
    expect((await failed).status).toBe('failed');

    userDataDir = mkdtempSync(join(tmpdir(), 'spool-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  }, 6 * STARTUP_MS);

  afterAll(async () => {
    await context?.close();
    await client?.close();
    for (const p of processes) await p.kill('SIGTERM');
    await fake?.close();
    await nats?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('opens on the agents page, with its status, holder and counts', async () => {
    const started = Date.now();
    const response = await page.goto(consoleUrl);
    await page.getByRole('cell', { name: 'payer', exact: true }).waitFor();
    console.log(`console first load: ${Date.now() - started} ms`);
    // The inline import map runs by its hash; no inline script otherwise, and nothing was blocked.
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+';/);
    expect(csp).not.toContain('unsafe-inline');
    expect(cspViolations).toEqual([]);
    await page.locator('tr', { hasText: '1 / 1' }).waitFor(); // completed / failed
    expect(await page.locator('header').textContent()).toContain('actions enabled');
    await shoot('agents');
  });

  it('lists tasks with filters, opens one and steps over its commits as spool replay --until does', async () => {
    await page.goto(`${consoleUrl.split('#')[0]}#/tasks?agent=payer&status=completed`);
    await page.getByRole('link', { name: 't-hello' }).click();
    await page.getByText('task.completed').waitFor();
    // One entry per commit (sequence number), its events listed together.
    const seqs = await page
      .locator('.events > li')
      .evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-seq'))));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const phaseAt = async () => (await page.locator('.card .pill').first().textContent())?.trim();
    const atSeq = async () =>
      Number(/seq (\d+)/.exec((await page.getByTestId('at-seq').textContent()) ?? '')?.[1]);
    // After the last commit the task is completed.
    expect(await atSeq()).toBe(seqs.at(-1));
    expect(await phaseAt()).toBe('completed');

    // The commit that holds task.completed: the state after it is completed, as spool replay
    // --until that sequence folds it; after the commit before it, it is not.
    const completedAt = page.locator('.events > li', { hasText: 'task.completed' });
    const completedSeq = Number(await completedAt.getAttribute('data-seq'));
    await completedAt.click();
    await waitFor('the page at the completing commit', async () => (await atSeq()) === completedSeq);
    expect(await phaseAt()).toBe('completed');
    const replayed = await replayedPhases(env);
    expect(replayed.get(completedSeq)).toBe('completed');
    await page.getByRole('button', { name: 'step back' }).click();
    const before = seqs[seqs.indexOf(completedSeq) - 1] as number;
    await waitFor('the page one commit earlier', async () => (await atSeq()) === before);
    expect(await phaseAt()).not.toBe('completed');
    expect(await phaseAt()).toBe(replayed.get(before));
    expect(await page.locator('.events > li.later').count()).toBe(seqs.length - seqs.indexOf(before) - 1);
    await shoot('task');
  });

  it('approves a waiting tool call and sees the task complete', async () => {
    await page.goto(`${consoleUrl.split('#')[0]}#/approvals`);
    await page.getByRole('cell', { name: 't-pay', exact: true }).waitFor();
    await shoot('approvals');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'approved pay for task t-pay' }).waitFor();
    await page.goto(`${consoleUrl.split('#')[0]}#/tasks/payer/t-pay`);
    await page.locator('h1 .pill', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('.events').textContent()).toContain('approval.decided');
    expect(await page.locator('.card').textContent()).toContain('paid INV-7');
  });

  it('says clearly that an action is stale', async () => {
    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/actions', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${(globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem('spool-console-token')}`,
        },
        body: JSON.stringify({ type: 'approve', taskId: 't-pay' }),
      });
      return { status: res.status, body: (await res.json()) as { error: { message: string } } };
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toContain('t-pay is not waiting for an approval');
  });

  it('retries a dead letter', async () => {
    await page.goto(`${consoleUrl.split('#')[0]}#/dlq`);
    await page.getByRole('cell', { name: /bad_request/ }).waitFor();
    await shoot('dead-letters');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('The dead-letter view is empty').waitFor({ timeout: 20_000 });
    await page.goto(`${consoleUrl.split('#')[0]}#/tasks/payer/t-fail`);
    await page.locator('h1 .pill', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
  });

  it('shows a clear message for an unknown task, never a blank page', async () => {
    await page.goto(`${consoleUrl.split('#')[0]}#/tasks/payer/no-such-task`);
    await page
      .getByRole('alert')
      .filter({ hasText: 'no task "no-such-task" in the history of agent "payer"' })
      .waitFor();
    await page.goto(`${consoleUrl.split('#')[0]}#/tasks/Not_An_Agent/x`);
    await page.getByRole('alert').filter({ hasText: 'is not an agent name' }).waitFor();
  });

  /**
   * An agent streams a reply only while someone follows the task (it asks before each call):
   * the task's first call (nobody watching yet) asks for an approval; the page opened meanwhile
   * follows the task, so the call after the approval is streamed to it.
   */
  const liveAfterApproval = async (agent: string, taskId: string, input: string, reply: string) => {
    fake.script({ content: [toolUse(`toolu_${taskId}`, 'pay', { invoice: taskId })] }, reply);
    // A keyed instance `<agent>/<key>` is submitted to on `spool.inbox.<agent>.<key>`.
    await submit(agent.replace('/', '.'), taskId, input);
    await page.goto(`${base()}#/tasks/${agent}/${taskId}`);
    await page.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-live="live"]').waitFor(); // the console follows the task's live text
    const held = fake.holdNextStream();
    await page.getByRole('button', { name: 'Approve' }).click();
    await held.started; // the streamed call is in flight
    held.sendText();
    await page.locator('.live pre', { hasText: reply }).waitFor();
    return held;
  };
  const modelReplies = async () =>
    ((await page.locator('.events').textContent()) ?? '').split('model.responded').length - 1;

  it('shows the live reply of a running task as the model streams it', async () => {
    const held = await liveAfterApproval('payer', 't-live', 'pay slowly', 'paid, and here is why, slowly');
    // Live, not from the history: the streamed reply is not complete, so it is not journaled yet.
    expect(await modelReplies()).toBe(1);
    await shoot('live');
    held.finish();
    await pill('completed').waitFor({ timeout: 20_000 });
    expect(await modelReplies()).toBe(2);
  });

  it("shows a pool task's live reply, published under the pool's name, on its replica's page", async () => {
    // Asked for by the pool's name, the page shows the replica that claimed the task.
    const held = await liveAfterApproval('crew', 't-crew', 'pool job', 'the crew paid it');
    expect(page.url()).toMatch(/#\/tasks\/crew-[12]\/t-crew$/);
    held.finish();
    await pill('completed').waitFor({ timeout: 20_000 });
  });

  it("lists a keyed agent's instances and an instance's tasks; a keyed task's page, its dead letter retried, its live reply", async () => {
    fake.failNext(400);
    expect(
      (await runCli(['submit', 'desk/acme', 'acme needs help', '--id', 'k-fail', '--wait'], env)).code,
    ).toBe(1);
    // Another key with the same task id: task ids are per instance.
    expect(
      (await runCli(['submit', 'desk/globex', 'globex asks', '--id', 'k-fail', '--wait'], env)).code,
    ).toBe(0);

    // Agents page → the keyed agent's census → its instances → one instance's tasks → the task.
    await page.goto(`${base()}#/agents`);
    await page.getByRole('link', { name: 'desk', exact: true }).click();
    await page.getByRole('link', { name: 'desk/acme' }).waitFor();
    expect(await page.locator('main').textContent()).toContain('2 known');
    await page.getByRole('link', { name: 'desk/acme' }).click();
    await page.getByTestId('key-filter').filter({ hasText: 'acme' }).waitFor();
    await page.locator('tr', { hasText: 'k-fail' }).locator('.pill', { hasText: 'failed' }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1); // acme's only, not globex's
    await page.getByRole('link', { name: 'k-fail' }).click();
    await page.waitForURL(/#\/tasks\/desk\/acme\/k-fail$/);
    await pill('failed').waitFor();
    expect(await page.locator('h1').textContent()).toContain('desk/acme');
    expect(await page.locator('.events').textContent()).toContain('task.failed');
    expect(await page.locator('.card').textContent()).toContain('acme needs help');
    await shoot('keyed-task');

    // The dead-letter view lists it with its instance; the task page's Retry goes to its control subject.
    await page.goto(`${base()}#/dlq`);
    await page.getByRole('cell', { name: 'desk/acme', exact: true }).waitFor();
    await page.goto(`${base()}#/tasks/desk/acme/k-fail`);
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').filter({ hasText: 'task k-fail sent back to work (attempt 2)' }).waitFor();
    await pill('completed').waitFor({ timeout: 20_000 });
    expect(await page.locator('.card').textContent()).toContain('fake reply to: acme needs help');
    await page.goto(`${base()}#/dlq`);
    await page.getByText('The dead-letter view is empty').waitFor({ timeout: 20_000 });

    // A running keyed task: approved from its page (read from the instance), its reply live.
    const held = await liveAfterApproval('desk/acme', 'k-live', 'pay for acme', 'acme is paid');
    expect(page.url()).toMatch(/#\/tasks\/desk\/acme\/k-live$/);
    held.finish();
    await pill('completed').waitFor({ timeout: 20_000 });
    expect(await page.locator('.events').textContent()).toContain('approval.decided');

    // A passivated instance's approval is on the Approvals page, with its key, and approved there.
    fake.script({ content: [toolUse('toolu_k-appr', 'pay', { invoice: 'INV-9' })] }, 'initech is paid');
    await submit('desk.initech', 'k-appr', 'pay INV-9 for initech');
    await page.goto(`${base()}#/approvals`);
    const row = page.locator('tr', { has: page.getByRole('cell', { name: 'desk/initech', exact: true }) });
    for (let tries = 0; (await row.count()) === 0 && tries < 40; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await page.reload();
    }
    expect(await row.textContent()).toContain('INV-9');
    const paid = results(client).wait('desk.initech', 'k-appr', AbortSignal.timeout(30_000));
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: 'approved pay for task k-appr' }).waitFor();
    expect((await paid).output).toBe('initech is paid');
  }, 120_000);

  it('cancels a running task, and pauses and resumes an agent, from the page', async () => {
    const held = fake.holdNextCall(); // never answers: the task runs until cancelled
    await submit('payer', 't-cancel', 'a long job');
    await held.started;
    await page.goto(`${base()}#/tasks/payer/t-cancel`);
    await pill('running').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('status').filter({ hasText: 'cancel of task t-cancel sent' }).waitFor();
    await pill('cancelled').waitFor({ timeout: 20_000 });
    expect(await page.locator('.events').textContent()).toContain('task.cancelled');
    held.finish();

    await page.goto(`${base()}#/agents`);
    await agentRow('payer').getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'pause sent to payer' }).waitFor();
    await agentRow('payer').locator('.pill', { hasText: 'paused' }).waitFor({ timeout: 20_000 });
    await agentRow('payer').getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('status').filter({ hasText: 'resume sent to payer' }).waitFor();
    await agentRow('payer').getByRole('button', { name: 'Pause' }).waitFor({ timeout: 20_000 });
    expect(await agentRow('payer').locator('.pill').textContent()).not.toBe('paused');
    expect((await fetchStatus(client)).agents.find((a) => a.name === 'payer')?.paused).toBe(false);
  });

  it('draws a workflow run as a graph coloured by status', async () => {
    expect(
      (await runCli(['run', 'review', 'the invoice', '--id', 'wf-1', '--wait', '--quiet'], env)).code,
    ).toBe(0);
    await page.goto(`${consoleUrl.split('#')[0]}#/workflows/wf-1`);
    await page.locator('g[data-step="sum"][data-status="completed"]').waitFor();
    expect(await page.locator('svg line').count()).toBe(3);
    await shoot('workflow');
  });

  it('says clearly that NATS is down, and recovers when it is back on the same port and data', async () => {
    await page.goto(`${base()}#/agents`);
    await page.getByRole('cell', { name: 'payer', exact: true }).waitFor();
    await nats.kill();
    const down = `NATS does not answer at ${nats.url}: start it again`;
    await page.getByRole('alert').filter({ hasText: down }).waitFor({ timeout: 20_000 });
    // A task page read while NATS is down says so too (its history cannot be read).
    await page.goto(`${base()}#/tasks/payer/t-live`);
    await page.getByRole('alert').filter({ hasText: down }).waitFor({ timeout: 20_000 });
    await nats.restart();
    // The same page recovers by itself: the console reconnects, the task index goes on.
    await pill('completed').waitFor({ timeout: 30_000 });
    await page.getByRole('alert').waitFor({ state: 'detached', timeout: 10_000 });
    await page.goto(`${base()}#/agents`);
    await agentRow('payer').locator('.pill').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type NatsServer, startFakeClaude, startNats, type FakeClaude } from '@spool/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, type CliProcess, runCli, startCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = join(ROOT, 'test/e2e/console-fixture/spool.config.ts');
const CHROMIUM = '/usr/bin/chromium';

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

/** What `spool replay payer --until SEQ --json` says t-hello's phase is after that sequence. */
async function replayedPhaseOf(env: CliEnv, seq: number): Promise<string | undefined> {
  const out = await runCli(['replay', 'payer', '--until', String(seq), '--json'], env);
  const last = out.stdout.trim().split('\n').at(-1) ?? '{}';
  const state = (JSON.parse(last) as { state?: { active?: Record<string, { phase: string }> } }).state;
  return state?.active?.['t-hello']?.phase;
}

describe.skipIf(missing !== undefined)('the web console in a real Chromium', () => {
  let nats: NatsServer;
  let fake: FakeClaude;
  let env: CliEnv;
  const processes: CliProcess[] = [];
  let consoleUrl: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const cspViolations: string[] = [];

  const replayedPhase = (seq: number) => replayedPhaseOf(env, seq);
  const shoot = (name: string) =>
    page.screenshot({ path: join(ROOT, `docs/console-${name}.png`), fullPage: false });

  beforeAll(async () => {
    nats = await startNats();
    fake = await startFakeClaude();
    env = { natsUrl: nats.url, anthropicBaseUrl: fake.url, extraEnv: { SPOOL_CONSOLE_TOKEN: '' } };
    const coordinator = startCli(['coordinator', '--config', CONFIG], env);
    const agent = startCli(['agent', 'payer', '--config', CONFIG], env);
    const web = startCli(['console', '--port', '0'], env);
    processes.push(coordinator, agent, web);
    await coordinator.waitForLog('coordinator answering status requests');
    await agent.waitForLog('payer');
    await web.waitForLog('console connected to NATS');
    consoleUrl = /console: (http:\/\/\S+)/.exec(web.stderr)?.[1] ?? '';
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/);

    // A completed task, one waiting for an approval, one failed for good (a dead letter).
    expect((await runCli(['submit', 'payer', 'hello there', '--id', 't-hello', '--wait'], env)).code).toBe(0);
    fake.script({ content: [toolUse('toolu_pay', 'pay', { invoice: 'INV-7' })] });
    expect((await runCli(['submit', 'payer', 'pay INV-7', '--id', 't-pay'], env)).code).toBe(0);
    await waitFor(
      't-pay waiting for approval',
      async () => (await runCli(['status', '--json'], env)).stdout.includes('"tool":"pay"'),
      30_000,
    );
    fake.failNext(400);
    expect((await runCli(['submit', 'payer', 'this one fails', '--id', 't-fail', '--wait'], env)).code).toBe(
      1,
    );

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
  }, 180_000);

  afterAll(async () => {
    await context?.close();
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
    expect(await replayedPhase(completedSeq)).toBe('completed');
    await page.getByRole('button', { name: 'step back' }).click();
    const before = seqs[seqs.indexOf(completedSeq) - 1] as number;
    await waitFor('the page one commit earlier', async () => (await atSeq()) === before);
    expect(await phaseAt()).not.toBe('completed');
    expect(await phaseAt()).toBe(await replayedPhase(before));
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

  it('draws a workflow run as a graph coloured by status', async () => {
    expect(
      (await runCli(['run', 'review', 'the invoice', '--id', 'wf-1', '--wait', '--quiet'], env)).code,
    ).toBe(0);
    await page.goto(`${consoleUrl.split('#')[0]}#/workflows/wf-1`);
    await page.locator('g[data-step="sum"][data-status="completed"]').waitFor();
    expect(await page.locator('svg line').count()).toBe(3);
    await shoot('workflow');
  });
});

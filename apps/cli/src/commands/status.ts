import type { McpServerStatus, RateLimitStatus, SpendStatus, StatusReport } from '@spool/core';
import { usd } from '@spool/core/internal';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { fetchStatus } from '../operator/coordinator-api.ts';

export async function statusCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'status',
    argv,
    { json: { type: 'boolean' }, timeout: { type: 'string' } },
    { required: [] },
  );
  const timeoutSec = positiveInt('status', 'timeout', values.timeout) ?? 3;
  const connection = await openConnection(natsTarget({ role: 'operator' }), 'spool-status', logger);
  try {
    const report = await fetchStatus(connection, timeoutSec * 1000);
    if (values.json) console.log(JSON.stringify(report));
    else console.log(render(report));
    return 0;
  } finally {
    await connection.close();
  }
}

function render(report: StatusReport): string {
  const replicas = report.pools.reduce((n, p) => n + p.replicas.length, 0);
  const poolPart =
    report.pools.length === 0 ? '' : ` · ${report.pools.length} pool(s) of ${replicas} replica(s)`;
  const keyed = report.keyed ?? [];
  const keyedPart = keyed.length === 0 ? '' : ` · ${keyed.length} keyed agent(s)`;
  const lines = [
    `${report.agents.length} agent(s)${poolPart}${keyedPart} · ${report.totals.inFlight} in flight · ${report.totals.queued} queued · ${report.totals.completed} completed · ${report.totals.failed} failed · ${report.totals.rejected} rejected · ${report.totals.cancelled} cancelled`,
  ];
  for (const a of report.agents) {
    lines.push(
      `${a.name.padEnd(20)} ${(a.paused ? 'paused' : a.status).padEnd(8)} ${holderOf(a)}; ${a.inFlight.length} in flight, ${a.queued} queued; ${countsOf(a)}, ${a.results.published} results published; ${usageOf(a)}`,
    );
    lines.push(...details(a, '  '));
  }
  for (const p of report.pools) {
    const alive = p.replicas.filter((r) => r.holder !== undefined && r.holderAlive !== false).length;
    lines.push(
      `${`${p.name} (pool)`.padEnd(20)} ${p.status.padEnd(8)} ${alive}/${p.replicas.length} replicas held; shared inbox ${p.queued} queued, ${p.unacked} unacked; ${countsOf(p)}, ${p.results.published} results published`,
    );
    for (const r of p.replicas) {
      lines.push(
        `  ${r.name.padEnd(18)} ${(r.paused ? 'paused' : r.status).padEnd(8)} ${holderOf(r)}; ${r.inFlight.length} in flight; ${countsOf(r)}, ${r.results.published} results; ${usageOf(r)}`,
      );
      lines.push(...details(r, '    '));
    }
  }
  for (const k of keyed) {
    const i = k.instances;
    const hosts =
      k.hosts.alive === 0 ? 'no live host' : `${k.hosts.alive} host(s) alive (${k.hosts.names.join(', ')})`;
    const expired = k.hosts.expired === 0 ? '' : `, ${k.hosts.expired} expired`;
    lines.push(
      `${`${k.name} (keyed)`.padEnd(20)} ${k.status.padEnd(8)} ${hosts}${expired}; instances ${i.active} active, ${i.passivated} passivated, ${i.known} known${i.waiting > 0 ? `, ${i.waiting} waiting for a result` : ''}${i.orphaned > 0 ? `, ${i.orphaned} awaiting adoption` : ''}; shared inbox ${k.queued} queued, ${k.unacked} unacked; ${k.results.published} results published`,
    );
  }
  const spending = report.spend.filter((row) => row.dailyCostUsd !== undefined || row.spentTodayUsd > 0);
  if (spending.length > 0) lines.push(`spend today: ${spending.map(spendOf).join(' · ')}`);
  for (const limit of report.rateLimits) lines.push(rateLimitOf(limit));
  if (report.workflowCounts !== undefined) {
    const c = report.workflowCounts;
    lines.push(
      `workflows: ${c.running} running · ${c.completed} completed · ${c.failed} failed · ${c.cancelled} cancelled · ${c.rejected} rejected`,
    );
  }
  for (const w of report.workflows) {
    const ended = w.finishedAt === undefined ? '' : `, finished ${w.finishedAt}`;
    const error = w.error === undefined ? '' : `: ${w.error.code}: ${clip(w.error.message, 120)}`;
    lines.push(`  ${w.id} ${w.workflow} ${w.status} (started ${w.startedAt}${ended})${error}`);
    // A finished workflow's steps are in `spool workflow <id>`; a running one shows its progress here.
    if (w.status !== 'running') continue;
    for (const step of w.steps) {
      const map = step.map === undefined ? '' : ` (map over ${step.map})`;
      const failed = step.tasks.failed > 0 ? `, ${step.tasks.failed} failed` : '';
      const attempts = step.attempts > 1 ? `, attempt ${step.attempts}` : '';
      lines.push(
        `    ${step.name.padEnd(16)} ${step.status.padEnd(9)} ${step.agent}${map}: ${step.tasks.done}/${step.tasks.total} done${failed}${attempts}`,
      );
    }
  }
  if (report.schedules.length > 0) lines.push('schedules (next fires):');
  for (const sc of report.schedules) {
    const when = sc.paused ? 'paused' : `next ${sc.nextFireAt ?? 'none'}`;
    const last =
      sc.lastFire === undefined ? 'never fired' : `last ${sc.lastFire.fireId} ${sc.lastFire.status}`;
    lines.push(`  ${sc.name.padEnd(18)} → ${sc.target}: ${when}; ${last}; ${sc.open} open`);
    if (sc.warning !== undefined) lines.push(`    warning: ${sc.warning}`);
  }
  return lines.join('\n');
}

type Actor = StatusReport['agents'][number];

function spendOf(row: SpendStatus): string {
  const held = row.heldUsd > 0 ? ` (+${usd(row.heldUsd)} held by calls in flight)` : '';
  if (row.dailyCostUsd === undefined) return `${row.agent} ${usd(row.spentTodayUsd)}${held}`;
  const share = Math.round((row.share ?? 0) * 100);
  return `${row.agent} ${usd(row.spentTodayUsd)} of ${usd(row.dailyCostUsd)} (${share}%)${held}`;
}

function rateLimitOf(limit: RateLimitStatus): string {
  const per = [
    ['requests', limit.limit.requestsPerMinute, limit.use.requests],
    ['input tokens', limit.limit.inputTokensPerMinute, limit.use.input],
    ['output tokens', limit.limit.outputTokensPerMinute, limit.use.output],
  ] as const;
  const parts = per
    .filter(([, max]) => max !== undefined)
    .map(([what, max, use]) => `${max} ${what}/min (${Math.round((use ?? 0) * 100)}% of the burst in use)`);
  const paused = limit.paused ? `; paused until ${limit.pausedUntil}` : '';
  return `rate limit ${limit.key} (${limit.source}): ${parts.join(', ')}; ${limit.waiting} call(s) waiting${paused}`;
}

function holderOf(a: Actor): string {
  return a.holder === undefined
    ? 'no holder'
    : `held by ${a.holder}${a.holderAlive === false ? ' (lease expired)' : ''}`;
}

function countsOf(a: { counts: Actor['counts'] }): string {
  return `${a.counts.completed} completed, ${a.counts.failed} failed, ${a.counts.rejected} rejected, ${a.counts.cancelled} cancelled`;
}

function usageOf(a: Actor): string {
  const cost =
    a.costUsd === undefined
      ? ''
      : ` ($${a.costUsd.toFixed(4)}; last 24 h $${(a.costLast24hUsd ?? 0).toFixed(4)})`;
  return `${a.usage.inputTokens} in / ${a.usage.outputTokens} out tokens${cost}`;
}

/** An actor's tasks in flight, approvals and delegations it waits for, one line each. */
function details(a: Actor, indent: string): string[] {
  return [
    ...a.inFlight.map(
      (t) =>
        `${indent}${t.taskId} ${t.phase} (attempt ${t.attempt}, ${t.steps} model call(s))${t.waitingUntil === undefined ? '' : `; waiting on a timer until ${t.waitingUntil}${t.waitingFor === undefined ? '' : ` (${clip(t.waitingFor, 60)})`}`}`,
    ),
    ...a.approvals.map(
      (w) =>
        `${indent}waiting for approval: ${w.taskId} wants ${w.tool}(${w.input}) since ${w.requestedAt}; ${w.reason}`,
    ),
    ...a.delegations.map(
      (d) =>
        `${indent}waiting for delegation: ${d.taskId} → ${d.agent} task ${d.childTaskId}${d.sent ? '' : ' (not sent yet)'}${d.since === undefined ? '' : ` since ${d.since}`}: ${clip(d.input, 80)}`,
    ),
    ...(a.mcpServers ?? []).map((s) => `${indent}${mcpServerLine(s)}`),
  ];
}

/** e.g. `mcp files: ready, 14 tools` or `mcp broken: restarting after 3 failed attempts (spawn ENOENT)`. */
function mcpServerLine(s: McpServerStatus): string {
  const state =
    s.status === 'ready'
      ? `ready, ${s.tools} tool(s)${s.restarts > 0 ? `, restarted ${s.restarts} time(s)` : ''}`
      : `${s.status}${s.failures > 0 ? ` after ${s.failures} failed attempt(s)` : ''}`;
  return `mcp ${s.name}: ${state}${s.lastError === undefined || s.status === 'ready' ? '' : ` (${clip(s.lastError, 120)})`}`;
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

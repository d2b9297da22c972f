import { type StatusReport, StatusReportSchema, subjects } from '@spool/core';
import { requests } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { natsUrl } from '../env.ts';
import { openConnection } from '../host.ts';

export async function statusCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'status',
    argv,
    { json: { type: 'boolean' }, timeout: { type: 'string' } },
    { required: [] },
  );
  const timeoutSec = positiveInt('status', 'timeout', values.timeout) ?? 3;
  const connection = await openConnection(natsUrl(), 'spool-status', logger);
  try {
    let reply: string;
    try {
      reply = await requests(connection).request(subjects.status, '{}', timeoutSec * 1000);
    } catch {
      throw new Error(
        `no coordinator answered on ${subjects.status} within ${timeoutSec}s: start one with "spool coordinator" or "spool up"`,
      );
    }
    const report = StatusReportSchema.parse(JSON.parse(reply));
    if (values.json) console.log(JSON.stringify(report));
    else console.log(render(report));
    return 0;
  } finally {
    await connection.close();
  }
}

function render(report: StatusReport): string {
  const lines = [
    `${report.agents.length} agent(s) · ${report.totals.inFlight} in flight · ${report.totals.queued} queued · ${report.totals.completed} completed · ${report.totals.failed} failed · ${report.totals.rejected} rejected · ${report.totals.cancelled} cancelled`,
  ];
  for (const a of report.agents) {
    const holder =
      a.holder === undefined
        ? 'no holder'
        : `held by ${a.holder}${a.holderAlive === false ? ' (lease expired)' : ''}`;
    lines.push(
      `${a.name.padEnd(20)} ${(a.paused ? 'paused' : a.status).padEnd(8)} ${holder}; ${a.inFlight.length} in flight, ${a.queued} queued; ${a.counts.completed} completed, ${a.counts.failed} failed, ${a.counts.rejected} rejected, ${a.counts.cancelled} cancelled, ${a.results.published} results published; ${a.usage.inputTokens} in / ${a.usage.outputTokens} out tokens${a.costUsd === undefined ? '' : ` ($${a.costUsd.toFixed(4)}; last 24 h $${(a.costLast24hUsd ?? 0).toFixed(4)})`}`,
    );
    for (const t of a.inFlight)
      lines.push(`  ${t.taskId} ${t.phase} (attempt ${t.attempt}, ${t.steps} model call(s))`);
    for (const w of a.approvals)
      lines.push(
        `  waiting for approval: ${w.taskId} wants ${w.tool}(${w.input}) since ${w.requestedAt}; ${w.reason}`,
      );
  }
  return lines.join('\n');
}

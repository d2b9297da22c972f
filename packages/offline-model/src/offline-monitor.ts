import type { MessagesBody, Reply } from './messages-protocol.ts';
import { toolThenAnswer } from './tool-then-answer.ts';

type Message = NonNullable<MessagesBody['messages']>[number];

/** The status page tool of examples/monitor, as its agent offers it. */
export const STATUS_TOOL = 'fetch_status';

/**
 * The offline model as a site monitor (examples/monitor): it fetches the status page with the
 * agent's tool, then writes its notes: the status now, what changed since the notes it was
 * given from the last check (the schedule's {{lastOutput}}), and how many checks it has made.
 */
export function monitor(task: string, turn: readonly Message[]): Reply | string {
  const intro = 'I will fetch the status page.';
  const call = { intro, id: 'toolu_offline_status', tool: STATUS_TOOL, input: {} };
  return toolThenAnswer(turn, call, ({ text: page }) => notes(task, page));
}

function notes(task: string, page: string): string {
  let status = 'unknown';
  let detail = page.slice(0, 120);
  try {
    const parsed = JSON.parse(page) as { status?: unknown; detail?: unknown };
    status = String(parsed.status ?? 'unknown');
    detail = String(parsed.detail ?? '');
  } catch {
    // A page that is not JSON: its first words are the detail.
  }
  const before = /Status: (\S+)/.exec(task)?.[1];
  const checks = Number(/Checks: (\d+)/.exec(task)?.[1] ?? 0) + 1;
  const change =
    before === undefined
      ? 'first check'
      : before === status
        ? `unchanged since the last check`
        : `changed from ${before}`;
  return `Status: ${status} (${change}). Detail: ${detail}. Checks: ${checks}.`;
}

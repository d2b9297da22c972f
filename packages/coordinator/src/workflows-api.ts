import { type CoordinatorState, workflowView } from '@spool/core/internal';
import { z } from 'zod';

/** Most workflows listed in one answer of `spool.api.workflows`. */
export const WORKFLOW_LIST_CAP = 100;

const WorkflowsRequestSchema = z.object({ id: z.string().min(1).max(200).optional() });

/**
 * The answer to a `spool.api.workflows` request: `{ id }` → `{ workflow: view }` (or
 * `{ workflow: null }` when there is no such workflow); `{}` → `{ workflows: [...] }`, running
 * first, then newest first, at most 100. A malformed request gets `{ error }`.
 */
export function answerWorkflows(state: CoordinatorState, raw: string): string {
  let value: unknown;
  try {
    value = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    return JSON.stringify({
      error: { code: 'invalid_json', message: 'request is not JSON; send {} or {"id": "<workflow id>"}' },
    });
  }
  const parsed = WorkflowsRequestSchema.safeParse(value);
  if (!parsed.success)
    return JSON.stringify({
      error: { code: 'invalid_message', message: 'send {} for the list, or {"id": "<workflow id>"}' },
    });
  const { id } = parsed.data;
  if (id !== undefined) {
    const run = state.workflows.get(id);
    return JSON.stringify({ workflow: run === undefined ? null : workflowView(run) });
  }
  const views = [...state.workflows.values()].map((run) => workflowView(run));
  views.sort((a, b) => {
    const running = Number(b.status === 'running') - Number(a.status === 'running');
    return running !== 0 ? running : (b.startedAt ?? '').localeCompare(a.startedAt ?? '');
  });
  return JSON.stringify({ workflows: views.slice(0, WORKFLOW_LIST_CAP), total: views.length });
}

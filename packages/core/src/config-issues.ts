import type { z } from 'zod';
import { SCHEDULE_FIELDS } from './schedule/definition.ts';
import { STEP_FIELDS, WORKFLOW_FIELDS } from './workflow/definition.ts';

/** One line for the first zod issue: the dotted path, what is wrong, and what was found. */
export function formatIssues(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.map(String).join('.');
  const found = issue.path.reduce<unknown>(
    (value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey],
    input,
  );
  let what = issue.message;
  if (issue.code === 'unrecognized_keys') {
    what = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove it${knownFields(issue.path)}`;
  } else if (issue.code === 'invalid_key') {
    const kind = { mcpServers: 'MCP server', schedules: 'schedule' }[String(issue.path.at(-2))] ?? 'agent';
    what = `invalid ${kind} name: ${issue.issues[0]?.message ?? issue.message}`;
  } else if (issue.code === 'invalid_type' && found === undefined) {
    what = `is required (${issue.message.replace(/^Invalid input: /, '')})`;
  }
  // Inside a workflow, name the fields a workflow or a step has (the messages above speak of agents).
  if (issue.path[0] === 'workflows' && (issue.code === 'unrecognized_keys' || issue.code === 'invalid_key')) {
    const inStep = issue.path.length >= 4;
    what =
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove it (${inStep ? `step fields are ${STEP_FIELDS}` : `workflow fields are ${WORKFLOW_FIELDS}`})`
        : `invalid ${issue.path.length >= 3 ? 'step' : 'workflow'} name: ${issue.issues[0]?.message ?? issue.message}`;
  }
  const shown =
    found === undefined || issue.code === 'unrecognized_keys' || issue.code === 'invalid_key'
      ? ''
      : ` (got ${JSON.stringify(found)})`;
  const more = error.issues.length > 1 ? ` [and ${error.issues.length - 1} more problem(s)]` : '';
  return `${path || '(top level)'}: ${what}${shown}${more}`;
}

/** Which fields the object at `path` may have, for the "unknown field" message. */
function knownFields(path: readonly PropertyKey[]): string {
  if (path.length === 0)
    return ' (top-level fields are agents, workflows, schedules, coordinator, nats, namespace, mcpServers, limits)';
  if (path.length === 2 && path[0] === 'schedules') return ` (schedule fields are ${SCHEDULE_FIELDS})`;
  if (path.length === 1 && path[0] === 'nats')
    return ' (nats fields are servers, user, password, token, creds, nkey, tls, replicas)';
  if (path.length === 1 && path[0] === 'coordinator')
    return ' (coordinator fields are leaseTtlMs, snapshotEvery)';
  if (path.length === 2 && path[0] === 'agents')
    return ' (agent fields are instructions, model, maxTokens, concurrency, leaseTtlMs, snapshotEvery, retry, modelTimeoutMs, taskDeadlineMs, shutdownGraceMs, maxInterruptions, replicas, keyed, ackWaitMs, tools, subscriptions, maxTurns, budget, prices, memory, description, delegation, timers, mcpServers)';
  if (path.length === 2 && path[0] === 'mcpServers') return MCP_FIELDS;
  if (path.length === 3 && path[0] === 'agents' && path[2] === 'budget')
    return ' (budget fields are maxToolCalls, maxTokens, maxCostUsd, dailyCostUsd, minOutputTokens)';
  if (path.length === 1 && path[0] === 'limits') return ' (limits fields are default, models)';
  if ((path.length === 2 && path[0] === 'limits') || (path.length === 3 && path[1] === 'models'))
    return ' (rate limit fields are requestsPerMinute, inputTokensPerMinute, outputTokensPerMinute)';
  if (path.length === 4 && path[0] === 'agents' && path[2] === 'mcpServers') return MCP_FIELDS;
  return '';
}

const MCP_FIELDS =
  ' (MCP server fields are command, args, env, cwd, url, headers, tools, timeoutMs, idempotent, requiresApproval, overrides)';

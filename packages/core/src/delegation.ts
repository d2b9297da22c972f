import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AGENT_NAME_PATTERN } from './subjects.ts';
import type { ToolDefinition } from './tools.ts';

/**
 * Durable delegation: the built-in `delegate` tool hands a sub-task to another agent and
 * waits for its result. The sub-task is a normal task on the child's inbox, with a
 * deterministic id and `meta.delegation`, and the wait is journaled: a parent that restarts
 * finds the child's result (or keeps waiting) without sending the sub-task twice. This file is
 * the setting and the tool; what is decided for each call is in `delegation-decisions.ts`.
 */

export const DELEGATE_TOOL = 'delegate';
export const DEFAULT_MAX_DEPTH = 3;

/** An agent's `delegation` setting, as parsed. */
export interface Delegation {
  readonly agents: string[];
  /** Longest chain of delegations a sub-task of this agent may be at the end of. */
  readonly maxDepth: number;
  /** What each target agent does (its `description`), filled in from the config for the tool's description. */
  peers?: Record<string, string>;
}

export const DelegationSchema = z
  .strictObject({
    agents: z
      .array(
        z.string().regex(AGENT_NAME_PATTERN, 'agent names use lower-case letters, digits and dashes only'),
      )
      .min(1, 'must name at least one agent to delegate to')
      .refine((agents) => new Set(agents).size === agents.length, 'must not name an agent twice'),
    maxDepth: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(10, 'must be at most 10')
      .default(DEFAULT_MAX_DEPTH),
  })
  .transform((delegation): Delegation => delegation);

/** The parts of a parsed config the config-wide check reads. */
interface ConfigView {
  readonly agents: Record<
    string,
    { readonly delegation?: Delegation | undefined; readonly tools: readonly { readonly name: string }[] }
  >;
}

/** Config-wide check (a `.superRefine` of ConfigSchema): every target is another agent of the config. */
export function validateDelegation(config: ConfigView, ctx: z.RefinementCtx): void {
  const names = Object.keys(config.agents);
  for (const [name, spec] of Object.entries(config.agents)) {
    // Runs after field errors too (zod keeps checking): read defensively.
    const delegation = spec?.delegation;
    if (!Array.isArray(delegation?.agents)) continue;
    delegation.agents.forEach((target, i) => {
      const path = ['agents', name, 'delegation', 'agents', i];
      if (target === name)
        ctx.addIssue({ code: 'custom', path, message: 'an agent cannot delegate to itself' });
      else if (!names.includes(target))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `must name another agent of this config (${names.join(', ')})`,
        });
    });
    const clash = (spec.tools ?? []).findIndex((tool) => tool.name === DELEGATE_TOOL);
    if (clash >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['agents', name, 'tools', clash],
        message: `"${DELEGATE_TOOL}" is the built-in tool of an agent with delegation: rename this tool`,
      });
  }
}

/** Fills each delegation's `peers` with its targets' descriptions (after `validateDelegation`). */
export function describePeers<C extends ConfigView & { agents: Record<string, { description?: string }> }>(
  config: C,
): C {
  for (const spec of Object.values(config.agents)) {
    if (spec.delegation === undefined) continue;
    spec.delegation.peers = Object.fromEntries(
      spec.delegation.agents.map((agent) => [agent, config.agents[agent]?.description ?? '']),
    );
  }
  return config;
}

/** The `delegate` tool as the Messages API takes it: the allowed agents, each with what it does. */
export function delegateTool(delegation: Delegation): ToolDefinition {
  const lines = delegation.agents.map((agent) => {
    const about = delegation.peers?.[agent]?.trim();
    return about ? `- ${agent}: ${about}` : `- ${agent}`;
  });
  return {
    name: DELEGATE_TOOL,
    description: [
      "Hands a sub-task to another agent and waits for its answer, which comes back as this tool's result.",
      'The agent does not see this conversation: put everything it needs in `task`.',
      'Several calls in one reply run in parallel. The agents:',
      ...lines,
    ].join('\n'),
    input_schema: {
      type: 'object',
      properties: {
        agent: {
          type: 'string',
          enum: [...delegation.agents],
          description: 'Which agent does the sub-task.',
        },
        task: { type: 'string', description: 'The sub-task, self-contained.' },
      },
      required: ['agent', 'task'],
      additionalProperties: false,
    },
  };
}

/** What `RecordReply` needs to judge `delegate` calls. */
export interface DelegationOptions {
  readonly agents: readonly string[];
  readonly maxDepth: number;
  /** The agent (pool) name this agent's results are published under: the chain's next link. */
  readonly self: string;
}

const ParentMetaSchema = z.object({
  delegation: z.object({ chain: z.array(z.string()).max(100) }),
});

/** The agents a task was delegated through (empty for a task nobody delegated). */
export function parentChain(meta: Record<string, unknown> | undefined): string[] {
  const parsed = ParentMetaSchema.safeParse(meta);
  return parsed.success ? parsed.data.delegation.chain : [];
}

/** `dlg-<24 hex>`: deterministic, so a re-sent sub-task (restart, retry) is the same task. */
export function childTaskId(
  self: string,
  taskId: string,
  attempt: number,
  step: number,
  toolUseId: string,
): string {
  const hash = createHash('sha256').update(`${self}:${taskId}:${attempt}:${step}:${toolUseId}`);
  return `dlg-${hash.digest('hex').slice(0, 24)}`;
}

/** A sub-task's meta: who to answer, and the chain for the child's own cycle and depth checks. */
export function childMeta(parentTaskId: string, chain: readonly string[]): Record<string, unknown> {
  return { delegation: { parent: { agent: chain.at(-1), taskId: parentTaskId }, chain: [...chain] } };
}

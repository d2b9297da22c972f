import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  COORDINATOR,
  instanceName,
  keyProblem,
  parseAddress,
  replicaNames,
  type SpoolConfig,
  TaskMessageSchema,
  type TaskResult,
} from '@spool/core/internal';
import { results, submitTask, submitWorkflow } from '@spool/jetstream';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseCommand } from '../args.ts';
import { agentSpec, findConfigFile, loadConfig } from '../config-file.ts';
import type { NatsEndpoint } from '../embedded-nats.ts';
import { SPOOL_COMMAND } from '../env.ts';
import { withLocalStack } from '../local-stack.ts';
import { type ModelChoice, offlineAsked } from '../model.ts';
import { UsageError } from '../usage-error.ts';

/** The repository's example: what `spool demo` runs from a checkout with no config of its own. */
const EXAMPLE_CONFIG = fileURLToPath(
  new URL('../../../../examples/data-analysis/spool.config.ts', import.meta.url),
);
const RESULT_TIMEOUT_MS = 180_000;
/** A workflow is several tasks in a row (and, on Claude, a fan-out): as long as `spool run --wait`. */
const WORKFLOW_TIMEOUT_MS = 600_000;

/**
 * A task for one agent (the config's first when none is named; a keyed agent's instance as
 * `<agent>/<key>`), or a run of one of its workflows.
 */
const SeedSchema = z
  .array(
    z.union([
      z.strictObject({ agent: z.string().min(1).optional(), input: z.string().min(1) }),
      z.strictObject({ workflow: z.string().min(1), input: z.string().min(1) }),
    ]),
  )
  .min(1);
type Seed = z.infer<typeof SeedSchema>[number];

/** What the demo submitted for one seed: a task on an agent's inbox, or a workflow run. */
type Submitted =
  | {
      readonly kind: 'task';
      /** As the seed names it: `<agent>` or `<agent>/<key>`. */
      readonly agent: string;
      /** Its subject tokens and results name: `<agent>` or `<agent>.<key>`. */
      readonly wire: string;
      readonly id: string;
      readonly input: string;
    }
  | { readonly kind: 'workflow'; readonly workflow: string; readonly id: string; readonly input: string };

/**
 * The main job: the example on the embedded default, end to end. Starts (or reuses) NATS,
 * runs the coordinator and the example's agents in this process, submits the seed tasks and
 * workflow runs in order, prints each result as it arrives, shows how to look at them, and exits.
 */
export async function demoCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'demo',
    argv,
    {
      config: { type: 'string' },
      tasks: { type: 'string' },
      json: { type: 'boolean' },
      offline: { type: 'boolean' },
    },
    { required: [] },
  );
  const { config, path: configPath } = await loadConfig(values.config ?? demoConfig());
  const seedPath = values.tasks ?? join(dirname(configPath), 'tasks.json');
  const seeds = readSeeds(seedPath);
  const firstAgent = Object.keys(config.agents)[0] as string;
  checkSeeds(seeds, config, firstAgent, seedPath, configPath);
  const say = (line: string) => {
    if (!values.json) console.log(line);
  };

  const hooks = {
    // A demo may run without a key: on the offline model, said in one line.
    offline: offlineAsked(values.offline),
    withoutKey: 'offline' as const,
    onNats: (nats: NatsEndpoint) =>
      say(
        nats.embedded
          ? `NATS: started an embedded nats-server at ${nats.url} (data in .spool/nats)`
          : `NATS: using the server at ${nats.url}`,
      ),
    onModel: (model: ModelChoice) => {
      if (!model.offline)
        say(`Model: Claude (${[...new Set(Object.values(config.agents).map((a) => a.model))].join(', ')})`);
    },
  };
  const failures = await withLocalStack(
    config,
    'spool-demo',
    logger,
    hooks,
    async ({ connection, agents }) => {
      await Promise.all(agents.map((a) => a.ready));
      const run = Date.now().toString(36);
      const sink = results(connection);
      const submitted: Submitted[] = seeds.map((seed, i) =>
        'workflow' in seed
          ? { kind: 'workflow', workflow: seed.workflow, id: `wf-${run}-${i + 1}`, input: seed.input }
          : {
              kind: 'task',
              agent: seed.agent ?? firstAgent,
              wire: wireOf(seed.agent ?? firstAgent),
              id: `seed-${run}-${i + 1}`,
              input: seed.input,
            },
      );
      // Results stay in the results stream: waiting for each after submitting them all misses none.
      for (const s of submitted) {
        if (s.kind === 'task')
          await submitTask(connection, s.wire, TaskMessageSchema.parse({ id: s.id, input: s.input }));
        else await submitWorkflow(connection, { id: s.id, workflow: s.workflow, input: s.input });
      }
      say(`${submittedLine(submitted, config)}\n`);
      let notCompleted = 0;
      for (const [i, s] of submitted.entries()) {
        const [agent, timeoutMs] =
          s.kind === 'task' ? [s.wire, RESULT_TIMEOUT_MS] : [COORDINATOR, WORKFLOW_TIMEOUT_MS];
        const result: TaskResult = await sink
          .wait(agent, s.id, AbortSignal.timeout(timeoutMs))
          .catch((err) => {
            throw new Error(
              `no result for ${s.id} within ${timeoutMs / 1000}s (${err instanceof Error ? err.message : err}); see the logs above`,
            );
          });
        if (result.status !== 'completed') notCompleted += 1;
        if (values.json) {
          console.log(JSON.stringify(result));
          continue;
        }
        say(
          s.kind === 'task'
            ? `Task ${i + 1} (${s.id}) → ${s.agent}: ${s.input}`
            : `Workflow ${i + 1} (${s.id}) → ${s.workflow}: ${s.input}`,
        );
        say(indent(result.output ?? `${result.status}: ${result.error?.code} ${result.error?.message}`));
        say(`  [${s.kind === 'task' ? taskSummary(result) : workflowSummary(result)}]\n`);
      }
      for (const line of lookLines(submitted, config)) say(line);
      return notCompleted;
    },
  );
  return failures === 0 ? 0 : 1;
}

/** The config in this directory, else (in a checkout) the repository's example. */
function demoConfig(): string {
  const own = findConfigFile();
  if (own !== undefined) return own;
  if (existsSync(EXAMPLE_CONFIG)) return EXAMPLE_CONFIG;
  throw new UsageError(
    'no spool.config.ts or spool.config.json in this directory: pass --config <file>, or create a project with "spool init"',
  );
}

function submittedLine(submitted: readonly Submitted[], config: SpoolConfig): string {
  const tasks = submitted.flatMap((s) => (s.kind === 'task' ? [s.agent] : []));
  const workflows = submitted.flatMap((s) => (s.kind === 'workflow' ? [s.workflow] : []));
  const taskPart = `${tasks.length} task(s) to ${[...new Set(tasks)].join(', ')}`;
  if (workflows.length === 0) {
    // Only an agent with memory carries earlier tasks into later ones (the planner example has none).
    const specs = tasks.map((address) => config.agents[parseAddress(address).agent]);
    const remembers = specs.every((spec) => (spec?.memory.exchanges ?? 0) > 0);
    if (specs.some((spec) => spec?.keyed !== undefined))
      return `Submitted ${taskPart}; each instance runs its own in order${remembers ? ' and remembers its own earlier ones, never another instance’s' : ''}.`;
    return `Submitted ${taskPart}; each runs in order${remembers ? ' and remembers the ones before' : ''}.`;
  }
  const workflowPart = `${workflows.length} workflow run(s) of ${[...new Set(workflows)].join(', ')}`;
  return `Submitted ${tasks.length > 0 ? `${taskPart} and ` : ''}${workflowPart}; the coordinator runs each workflow's steps on the agents.`;
}

function taskSummary(result: TaskResult): string {
  const tools = result.tools === undefined ? '' : `; tools: ${result.tools.join(', ')}`;
  return `${result.status}; ${result.steps} model call(s)${tools}; ${result.usage.inputTokens} input tokens, ${result.usage.outputTokens} output tokens`;
}

/** The coordinator's result: its meta has `steps: {name: status}`. */
function workflowSummary(result: TaskResult): string {
  const meta = result.meta as { steps?: Record<string, unknown> } | undefined;
  const steps = Object.entries(meta?.steps ?? {})
    .map(([name, status]) => `${name} ${String(status)}`)
    .join(', ');
  return `${result.status}; steps: ${steps || 'none'}; ${result.usage.inputTokens} input tokens, ${result.usage.outputTokens} output tokens over all its tasks`;
}

/** How to look at what ran: the workflows, then every history involved (a pool's are its replicas'). */
function lookLines(submitted: readonly Submitted[], config: SpoolConfig): string[] {
  const actors = new Set<string>();
  const addAgent = (name: string, depth = 0) => {
    const spec = config.agents[name];
    if (spec === undefined) return;
    for (const replica of replicaNames(name, spec.replicas)) actors.add(replica);
    // A planner's workers run delegated tasks: theirs are histories of this run too.
    if (depth < 3) for (const worker of spec.delegation?.agents ?? []) addAgent(worker, depth + 1);
  };
  const lines: string[] = [];
  const workflows = submitted.filter((s) => s.kind === 'workflow');
  if (workflows.length > 0) {
    lines.push("See each workflow's steps, tasks and outputs:");
    for (const w of workflows) lines.push(`  ${SPOOL_COMMAND} workflow ${w.id}`);
    actors.add(COORDINATOR);
    for (const w of workflows)
      for (const step of Object.values(config.workflows[w.workflow]?.steps ?? {})) addAgent(step.agent);
  }
  for (const s of submitted)
    if (s.kind === 'task') {
      // A keyed agent's instance has a history of its own: `spool replay <agent>/<key>`.
      if (parseAddress(s.agent).key !== undefined) actors.add(s.agent);
      else addAgent(s.agent);
    }
  lines.push('See what each agent knew and did, event by event:');
  for (const name of actors) lines.push(`  ${SPOOL_COMMAND} replay ${name}`);
  return lines;
}

function readSeeds(path: string): Seed[] {
  const shown = relative(process.cwd(), path) || path;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${shown}: cannot read seed tasks (${err instanceof Error ? err.message : err}); write a JSON array of {"input": "..."} there, or pass --tasks <file>`,
    );
  }
  const parsed = SeedSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `${shown}: ${issue?.path.join('.') || '(top level)'}: ${seedIssue(raw, issue)}; expected [{"agent"?: "...", "input": "..."} or {"workflow": "...", "input": "..."}]`,
    );
  }
  return parsed.data;
}

/** A union's issue says only "Invalid input": name the usual mistakes instead. */
function seedIssue(raw: unknown, issue: z.core.$ZodIssue | undefined): string {
  const at = Array.isArray(raw) && typeof issue?.path[0] === 'number' ? raw[issue.path[0]] : undefined;
  if (issue?.code === 'invalid_union' && typeof at === 'object' && at !== null) {
    if ('agent' in at && 'workflow' in at) return 'give "agent" or "workflow", not both';
    if (!('input' in at)) return 'missing "input"';
    const extra = Object.keys(at).filter((k) => !['agent', 'workflow', 'input'].includes(k));
    if (extra.length > 0) return `unknown field ${extra.map((k) => `"${k}"`).join(', ')}`;
    return '"agent", "workflow" and "input" must be non-empty strings';
  }
  return issue?.message ?? 'invalid';
}

/** Every seed names an agent or a workflow of the config: one clear line otherwise, before anything starts. */
function checkSeeds(
  seeds: readonly Seed[],
  config: SpoolConfig,
  firstAgent: string,
  seedPath: string,
  configPath: string,
): void {
  const file = relative(process.cwd(), seedPath) || seedPath;
  for (const [i, seed] of seeds.entries()) {
    if (!('workflow' in seed)) {
      const { agent, key } = parseAddress(seed.agent ?? firstAgent);
      const spec = agentSpec(config, agent);
      if (spec.keyed !== undefined && key === undefined)
        throw new UsageError(
          `${file}: ${i}.agent: "${agent}" is a keyed agent: name one of its instances, "${agent}/<key>" (a customer, a user)`,
        );
      if (spec.keyed === undefined && key !== undefined)
        throw new UsageError(
          `${file}: ${i}.agent: "${agent}" is not a keyed agent, so it has no instance "${key}": name it "${agent}", or make it keyed in the config`,
        );
      const problem = key === undefined ? undefined : keyProblem(key);
      if (problem !== undefined) throw new UsageError(`${file}: ${i}.agent: ${problem}`);
      continue;
    }
    const names = Object.keys(config.workflows ?? {});
    if (!names.includes(seed.workflow))
      throw new UsageError(
        `${file}: ${i}.workflow: no workflow "${seed.workflow}" in ${relative(process.cwd(), configPath) || configPath}; ${names.length > 0 ? `workflows: ${names.join(', ')}` : 'it defines none (pass the --config that does)'}`,
      );
  }
}

/** A seed's agent as subject tokens: `<agent>`, or `<agent>.<key>` for `<agent>/<key>`. */
function wireOf(address: string): string {
  const { agent, key } = parseAddress(address);
  return key === undefined ? agent : instanceName(agent, key);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

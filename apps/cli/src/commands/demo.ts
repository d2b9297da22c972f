import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TaskResult, TaskMessageSchema } from '@spool/core';
import { results, submitTask } from '@spool/jetstream';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseCommand } from '../args.ts';
import { agentSpec, loadConfig } from '../config-file.ts';
import type { NatsEndpoint } from '../embedded-nats.ts';
import { withLocalStack } from '../local-stack.ts';
import type { ModelChoice } from '../model.ts';
import { UsageError } from '../usage-error.ts';

const EXAMPLE = fileURLToPath(new URL('../../../../examples/data-analysis/', import.meta.url));
const RESULT_TIMEOUT_MS = 180_000;

const SeedSchema = z.array(z.strictObject({ agent: z.string().optional(), input: z.string().min(1) })).min(1);

/**
 * The main job: the example on the embedded default, end to end. Starts (or reuses) NATS,
 * runs the coordinator and the example's agents in this process, submits the seed tasks in
 * order, prints each result as it arrives, shows how to replay, and exits.
 */
export async function demoCommand(argv: string[], logger: Logger): Promise<number> {
  const { values } = parseCommand(
    'demo',
    argv,
    { config: { type: 'string' }, tasks: { type: 'string' }, json: { type: 'boolean' } },
    { required: [] },
  );
  const { config } = await loadConfig(values.config ?? `${EXAMPLE}spool.config.ts`);
  const seedPath = values.tasks ?? `${EXAMPLE}tasks.json`;
  const seeds = readSeeds(seedPath);
  const firstAgent = Object.keys(config.agents)[0] as string;
  for (const seed of seeds) agentSpec(config, seed.agent ?? firstAgent);
  const say = (line: string) => {
    if (!values.json) console.log(line);
  };

  const hooks = {
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
      const submitted = seeds.map((seed, i) => ({
        agent: seed.agent ?? firstAgent,
        task: { id: `seed-${run}-${i + 1}`, input: seed.input },
      }));
      for (const { agent, task } of submitted)
        await submitTask(connection, agent, TaskMessageSchema.parse(task));
      say(
        `Submitted ${submitted.length} task(s) to ${[...new Set(submitted.map((s) => s.agent))].join(', ')}; each runs in order and remembers the ones before.\n`,
      );
      let notCompleted = 0;
      for (const [i, { agent, task }] of submitted.entries()) {
        const result: TaskResult = await sink
          .wait(agent, task.id, AbortSignal.timeout(RESULT_TIMEOUT_MS))
          .catch((err) => {
            throw new Error(
              `no result for ${task.id} within ${RESULT_TIMEOUT_MS / 1000}s (${err instanceof Error ? err.message : err}); see the logs above`,
            );
          });
        if (result.status !== 'completed') notCompleted += 1;
        if (values.json) {
          console.log(JSON.stringify(result));
          continue;
        }
        say(`Task ${i + 1} (${task.id}) → ${agent}: ${task.input}`);
        say(indent(result.output ?? `${result.status}: ${result.error?.code} ${result.error?.message}`));
        const tools = result.tools === undefined ? '' : `; tools: ${result.tools.join(', ')}`;
        say(
          `  [${result.status}; ${result.steps} model call(s)${tools}; ${result.usage.inputTokens} input tokens, ${result.usage.outputTokens} output tokens]\n`,
        );
      }
      say('See what each agent knew and did, event by event:');
      for (const name of new Set(submitted.map((s) => s.agent))) say(`  pnpm spool replay ${name}`);
      return notCompleted;
    },
  );
  return failures === 0 ? 0 : 1;
}

function readSeeds(path: string) {
  const shown = relative(process.cwd(), path) || path;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${shown}: cannot read seed tasks (${err instanceof Error ? err.message : err}); pass --tasks <file>`,
    );
  }
  const parsed = SeedSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `${shown}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message}; expected [{"agent"?: "...", "input": "..."}]`,
    );
  }
  return parsed.data;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

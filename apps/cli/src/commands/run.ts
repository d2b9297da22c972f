import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseWorkflowStart } from '@spool/coordinator';
import { COORDINATOR, type TaskResult, WORKFLOW_ID_PATTERN } from '@spool/core';
import { results, submitWorkflow } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { DEFAULT_CONFIG_FILES, loadConfig } from '../config-file.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { sendInSpan } from '../send-span.ts';
import { UsageError } from '../usage-error.ts';
import { followRun, type RunProgress } from './run-progress.ts';

/**
 * `spool run <workflow> <input|->`: asks the coordinator to run a workflow of the config by
 * publishing `{id, workflow, input}` on `spool.inbox.coordinator` (msg id `workflow:<id>`);
 * with --wait, prints its result from `spool.results.coordinator.<id>`, and meanwhile the run's
 * progress as the coordinator journals it on `spool.history.coordinator` (stderr lines; with
 * --json only with --follow, as NDJSON `{"type": "progress", event}` lines on stdout).
 */
export async function runCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'run',
    argv,
    {
      id: { type: 'string' },
      wait: { type: 'boolean' },
      follow: { type: 'boolean' },
      quiet: { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    },
    { required: ['workflow', 'input'] },
  );
  const workflow = positionals[0] as string;
  await checkWorkflowName(workflow, values.config);
  const id = values.id ?? generateWorkflowId();
  if (!WORKFLOW_ID_PATTERN.test(id) || id.startsWith('inbox-'))
    throw new UsageError(
      `spool run: --id "${id}" is not a workflow id (1-64 letters, digits and _ = @ + -, no ":", not starting with "inbox-")`,
    );
  const input = positionals[1] === '-' ? await readStdin() : (positionals[1] as string);
  const start = { id, workflow, input };
  // The coordinator validates it the same way; a mistake is better caught here, as a usage error.
  const checked = parseWorkflowStart(JSON.stringify(start), 0);
  if (!checked.ok) throw new UsageError(`spool run: ${checked.error.message.replace(/; send .*$/, '')}`);
  const timeoutSec = positiveInt('run', 'timeout', values.timeout) ?? 600;
  if (values.timeout !== undefined && !values.wait) throw new UsageError('spool run: --timeout needs --wait');
  if (values.follow && !values.wait) throw new UsageError('spool run: --follow needs --wait');
  if (values.quiet && !values.wait) throw new UsageError('spool run: --quiet needs --wait');
  if (values.follow && values.quiet)
    throw new UsageError('spool run: --follow and --quiet contradict each other');
  // Text: progress on stderr unless --quiet; JSON: NDJSON progress on stdout only with --follow.
  let progressMode: 'text' | 'json' | undefined;
  if (values.wait && values.json && values.follow) progressMode = 'json';
  else if (values.wait && !values.json && !values.quiet) progressMode = 'text';

  const connection = await openConnection(natsTarget({ role: 'client' }), 'spool-run', logger);
  try {
    const sink = results(connection);
    // Listen before publishing, so a fast result cannot be missed.
    const waiting = values.wait
      ? sink.wait(COORDINATOR, id, AbortSignal.timeout(timeoutSec * 1000)).catch((err: unknown) => {
          if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
            throw new Error(
              `no result for workflow ${id} after ${timeoutSec}s; it may still be running (spool workflow ${id}). Is a coordinator running (spool coordinator, or spool up)?`,
            );
          throw err;
        })
      : undefined;
    waiting?.catch(() => undefined);
    // From the coordinator's last commit before the start message: all of this run, nothing older.
    const progress: RunProgress | undefined =
      progressMode === undefined ? undefined : await followRun(connection, id, progressMode, Date.now());
    let sent: Awaited<ReturnType<typeof submitWorkflow>>;
    try {
      sent = await sendInSpan(`spool.inbox.${COORDINATOR}`, id, (trace) =>
        submitWorkflow(connection, start, { trace }),
      );
    } catch (err) {
      await progress?.stop();
      throw err;
    }
    if (waiting === undefined) {
      if (values.json)
        console.log(JSON.stringify({ workflowId: id, workflow, seq: sent.seq, duplicate: sent.duplicate }));
      else
        console.log(
          `started workflow ${id} (${workflow})${sent.duplicate ? ' (duplicate id: same run)' : ''}; follow it with: spool workflow ${id}`,
        );
      return 0;
    }
    if (!values.json) console.error(`started workflow ${id} (${workflow}); waiting for the result…`);
    if (sent.duplicate && progress !== undefined) {
      // The run was started before: its progress so far is not replayed here, only its result.
      await progress.stop();
      console.error(
        `workflow ${id} was already started (duplicate id: same run): no progress shown; waiting for its result…`,
      );
    } else progress?.show();
    let result: TaskResult;
    try {
      result = await waiting;
    } catch (err) {
      await progress?.stop();
      throw err;
    }
    // The result and the journal arrive apart: let the run's last event be shown before it.
    await progress?.stop(2_000);
    printWorkflowResult(result, values.json === true);
    return result.status === 'completed' ? 0 : 1;
  } finally {
    await connection.close();
  }
}

/** Validates the name against the config when there is one (--config, or one in this directory). */
async function checkWorkflowName(workflow: string, configFlag: string | undefined): Promise<void> {
  const found = configFlag !== undefined || DEFAULT_CONFIG_FILES.some((name) => existsSync(resolve(name)));
  if (!found) return; // no config here: the coordinator's config decides (an unknown name gets a rejected result)
  const { config, path } = await loadConfig(configFlag);
  const names = Object.keys(config.workflows ?? {});
  if (!names.includes(workflow))
    throw new UsageError(
      `spool run: no workflow "${workflow}" in ${path}; ${names.length > 0 ? `workflows: ${names.join(', ')}` : 'it defines none (add one under "workflows")'}`,
    );
}

/** A workflow's result for people (status line with each step's status, then the output) or as JSON. */
export function printWorkflowResult(result: TaskResult, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const meta = result.meta as { workflow?: unknown; steps?: Record<string, unknown> } | undefined;
  const steps = Object.entries(meta?.steps ?? {})
    .map(([name, status]) => `${name} ${String(status)}`)
    .join(', ');
  const name = typeof meta?.workflow === 'string' ? `${meta.workflow}: ` : '';
  console.log(`${result.taskId} ${result.status} (${name}${steps || 'no steps'})`);
  if (result.output !== undefined) console.log(result.output);
  if (result.error !== undefined) console.log(`error ${result.error.code}: ${result.error.message}`);
}

/** `wf-<base36 time>-<6 hex>`: sortable by start, unique enough, a valid workflow id. */
export function generateWorkflowId(): string {
  return `wf-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError('spool run: input "-" reads stdin, but stdin is a terminal; pipe the input in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trimEnd();
}

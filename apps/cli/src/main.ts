#!/usr/bin/env node
import type { Logger } from 'pino';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import { handleSignals } from './signals.ts';
import { UsageError } from './usage-error.ts';

type Command = (argv: string[], logger: Logger) => Promise<number>;

/**
 * Each command's module is loaded when it runs, so `spool --help` and short commands do not
 * load the NATS client, the SDK and the runtime they do not use.
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; logLevel: 'info' | 'warn'; traced?: true }> = {
  init: { load: () => import('./commands/init.ts').then((m) => m.initCommand), logLevel: 'warn' },
  demo: { load: () => import('./commands/demo.ts').then((m) => m.demoCommand), logLevel: 'warn' },
  up: {
    load: () => import('./commands/run-agents.ts').then((m) => m.upCommand),
    logLevel: 'info',
    traced: true,
  },
  agent: {
    load: () => import('./commands/run-agents.ts').then((m) => m.agentCommand),
    logLevel: 'info',
    traced: true,
  },
  coordinator: {
    load: () => import('./commands/run-agents.ts').then((m) => m.coordinatorCommand),
    logLevel: 'info',
    traced: true,
  },
  submit: {
    load: () => import('./commands/submit.ts').then((m) => m.submitCommand),
    logLevel: 'warn',
    traced: true,
  },
  run: { load: () => import('./commands/run.ts').then((m) => m.runCommand), logLevel: 'warn', traced: true },
  workflow: { load: () => import('./commands/workflow.ts').then((m) => m.workflowCommand), logLevel: 'warn' },
  schedule: { load: () => import('./commands/schedule.ts').then((m) => m.scheduleCommand), logLevel: 'warn' },
  replay: { load: () => import('./commands/replay.ts').then((m) => m.replayCommand), logLevel: 'warn' },
  status: { load: () => import('./commands/status.ts').then((m) => m.statusCommand), logLevel: 'warn' },
  pause: { load: () => import('./commands/control.ts').then((m) => m.pauseCommand), logLevel: 'warn' },
  resume: { load: () => import('./commands/control.ts').then((m) => m.resumeCommand), logLevel: 'warn' },
  cancel: { load: () => import('./commands/control.ts').then((m) => m.cancelCommand), logLevel: 'warn' },
  console: {
    load: () => import('./commands/console.ts').then((m) => m.consoleCommand),
    logLevel: 'info',
  },
  dlq: { load: () => import('./commands/dlq.ts').then((m) => m.dlqCommand), logLevel: 'warn' },
  approve: { load: () => import('./commands/control.ts').then((m) => m.approveCommand), logLevel: 'warn' },
  deny: { load: () => import('./commands/control.ts').then((m) => m.denyCommand), logLevel: 'warn' },
  schema: { load: () => import('./commands/schema.ts').then((m) => m.schemaCommand), logLevel: 'warn' },
  permissions: {
    load: () => import('./commands/permissions.ts').then((m) => m.permissionsCommand),
    logLevel: 'warn',
  },
  forget: { load: () => import('./commands/forget.ts').then((m) => m.forgetCommand), logLevel: 'warn' },
  provision: {
    load: () => import('./commands/provision.ts').then((m) => m.provisionCommand),
    logLevel: 'warn',
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(
      `spool: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')} (see spool --help)`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(COMMAND_HELP[name]);
    return 0;
  }
  handleSignals();
  const { createLogger, flushLogger } = await import('./logger.ts');
  const logger = createLogger(command.logLevel);
  let tracing: { shutdown(): Promise<void> } | undefined;
  try {
    if (command.traced) tracing = await startTracingFor(name, logger);
    const run = await command.load();
    return await run(rest, logger);
  } catch (err) {
    return await report(err);
  } finally {
    await tracing?.shutdown(); // the spans still buffered go out before the process exits
    await flushLogger(logger);
  }
}

/** Tracing from the OTEL_* environment (a no-op without an exporter), said once in the log when on. */
async function startTracingFor(name: string, logger: Logger): Promise<{ shutdown(): Promise<void> }> {
  const { startTracing } = await import('@spool/observability');
  const tracing = startTracing(`spool-${name}`, { log: logger });
  if (tracing.exporter !== undefined) logger.info({ exporter: tracing.exporter }, 'exporting traces');
  return tracing;
}

/** One line for the user: what was wrong and what to do; never a stack trace (SPOOL_DEBUG=1 shows it). */
async function report(err: unknown): Promise<number> {
  if (process.env.SPOOL_DEBUG) console.error(err);
  const [{ ValidationError }, { NatsSettingsError, permissionRefusal }] = await Promise.all([
    import('@spool/core'),
    import('@spool/jetstream'),
  ]);
  const shown = permissionRefusal(err) ?? err;
  console.error(`error: ${shown instanceof Error ? shown.message : String(shown)}`);
  // A bad OTEL_* setting is bad usage too (known by name: its module loads the OpenTelemetry SDK).
  const badUsage =
    [UsageError, ValidationError, NatsSettingsError].some((type) => err instanceof type) ||
    (err instanceof Error && err.name === 'TracingSettingsError');
  return badUsage ? 2 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err) => process.exit(await report(err)),
);

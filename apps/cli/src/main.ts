#!/usr/bin/env -S npx tsx
import { ConcurrencyError, SpoolError, ValidationError } from '@spool/core';
import type { Logger } from 'pino';
import {
  approveCommand,
  cancelCommand,
  denyCommand,
  pauseCommand,
  resumeCommand,
} from './commands/control.ts';
import { demoCommand } from './commands/demo.ts';
import { dlqCommand } from './commands/dlq.ts';
import { replayCommand } from './commands/replay.ts';
import { runCommand } from './commands/run.ts';
import { agentCommand, coordinatorCommand, upCommand } from './commands/run-agents.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { workflowCommand } from './commands/workflow.ts';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import { createLogger, flushLogger } from './logger.ts';
import { UsageError } from './usage-error.ts';

type Command = (argv: string[], logger: Logger) => Promise<number>;

const COMMANDS: Record<string, { run: Command; logLevel: 'info' | 'warn' }> = {
  demo: { run: demoCommand, logLevel: 'warn' },
  up: { run: upCommand, logLevel: 'info' },
  agent: { run: agentCommand, logLevel: 'info' },
  coordinator: { run: coordinatorCommand, logLevel: 'info' },
  submit: { run: submitCommand, logLevel: 'warn' },
  run: { run: runCommand, logLevel: 'warn' },
  workflow: { run: workflowCommand, logLevel: 'warn' },
  replay: { run: replayCommand, logLevel: 'warn' },
  status: { run: statusCommand, logLevel: 'warn' },
  pause: { run: pauseCommand, logLevel: 'warn' },
  resume: { run: resumeCommand, logLevel: 'warn' },
  cancel: { run: cancelCommand, logLevel: 'warn' },
  dlq: { run: dlqCommand, logLevel: 'warn' },
  approve: { run: approveCommand, logLevel: 'warn' },
  deny: { run: denyCommand, logLevel: 'warn' },
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
  const logger = createLogger(command.logLevel);
  try {
    return await command.run(rest, logger);
  } catch (err) {
    return report(err);
  } finally {
    await flushLogger(logger);
  }
}

/** One line for the user: what was wrong and what to do; never a stack trace (SPOOL_DEBUG=1 shows it). */
function report(err: unknown): number {
  if (process.env.SPOOL_DEBUG) console.error(err);
  if (err instanceof UsageError || err instanceof ValidationError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
  if (err instanceof ConcurrencyError || err instanceof SpoolError || err instanceof Error) {
    console.error(`error: ${err.message}`);
    return 1;
  }
  console.error(`error: ${String(err)}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(report(err)),
);

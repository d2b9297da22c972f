import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses one command's arguments strictly: an unknown flag, a missing value or a wrong
 * number of positionals is a UsageError that names it and points to `--help`.
 */
export function parseCommand<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  positionals: { required: readonly string[]; optional?: readonly string[] },
) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(
      `spool ${command}: ${message?.replace(/\. To specify a positional.*$/, '')}; see spool ${command} --help`,
    );
  }
  const max = positionals.required.length + (positionals.optional?.length ?? 0);
  if (parsed.positionals.length < positionals.required.length) {
    const missing = positionals.required[parsed.positionals.length];
    throw new UsageError(`spool ${command}: missing <${missing}>; see spool ${command} --help`);
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(
      `spool ${command}: unexpected argument "${parsed.positionals[max]}" (quote an input with spaces); see spool ${command} --help`,
    );
  }
  return parsed;
}

/** A positive whole number flag, or a UsageError naming the flag. */
export function positiveInt(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`spool ${command}: --${flag} must be a positive whole number (got "${value}")`);
  }
  return n;
}

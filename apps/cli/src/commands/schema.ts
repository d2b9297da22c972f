import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '@spool/core';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';

/** `spool schema [--out F]`: the config's JSON Schema, for editors (`"$schema"` in a spool.config.json). */
export async function schemaCommand(argv: string[], _logger: Logger): Promise<number> {
  const { values } = parseCommand('schema', argv, { out: { type: 'string' } }, { required: [] });
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (values.out === undefined) process.stdout.write(text);
  else writeFileSync(values.out, text);
  return 0;
}

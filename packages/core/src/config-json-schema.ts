import { z } from 'zod';
import { ConfigSchema } from './config.ts';

/** Where the published JSON Schema of the config sits, for a `spool.config.json`'s `$schema`. */
export const CONFIG_SCHEMA_PATH = 'node_modules/@spool/core/schema/spool.config.schema.json';

/**
 * The JSON Schema of a config file, generated from the zod schema the CLI validates with (the
 * input side: fields with defaults are optional), so editors complete and check fields in a
 * `spool.config.json`. Tools are code (`defineTool` in a spool.config.ts), so JSON leaves them open.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'Spool config',
    description:
      'Agents, workflows and the coordinator of a Spool project (spool.config.json); see the Spool README.',
  };
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './config-json-schema.ts';

describe('config-json-schema', () => {
  it('the published schema file is the one generated from the zod schema (pnpm spool schema --out packages/core/schema/spool.config.schema.json)', () => {
    const published = JSON.parse(
      readFileSync(new URL('../schema/spool.config.schema.json', import.meta.url), 'utf8'),
    );
    expect(published).toEqual(configJsonSchema());
  });

  it('describes the fields editors complete, and refuses unknown ones', () => {
    const schema = configJsonSchema() as {
      required: string[];
      properties: {
        agents: { additionalProperties: { properties: Record<string, unknown>; required: string[] } };
      };
    };
    expect(schema.required).toEqual(['agents']);
    const agent = schema.properties.agents.additionalProperties;
    expect(agent.required).toEqual(expect.arrayContaining(['instructions', 'model']));
    expect(Object.keys(agent.properties)).toEqual(expect.arrayContaining(['maxTokens', 'budget', 'memory']));
    expect(JSON.stringify(schema)).toContain('"additionalProperties":false');
  });
});

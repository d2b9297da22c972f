import { CONFIG_SCHEMA_PATH } from '@spool/core';

/** What `spool init` writes: a project with one agent and one tool that runs offline at once. */
export interface ScaffoldOptions {
  /** The package name (the directory's, made npm-safe). */
  readonly name: string;
  /** The Spool version to depend on (the running CLI's). */
  readonly version: string;
  /** A JSON config (with `$schema`, no tools: tools are code) instead of spool.config.ts. */
  readonly json: boolean;
}

const INSTRUCTIONS =
  'You are a careful data analyst. Use the mean tool for every average; answer in one or two sentences.';

const CONFIG_TS = `import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

/** A tool: Claude asks for it, Spool journals the call and its result (see the README's Tools). */
const mean = defineTool({
  name: 'mean',
  description: 'The arithmetic mean of a dataset.',
  input: z.object({ values: z.array(z.number()).min(1) }),
  handler: ({ values }) => ({ mean: values.reduce((a, b) => a + b, 0) / values.length }),
});

export default defineConfig({
  agents: {
    analyst: {
      instructions: ${JSON.stringify(INSTRUCTIONS)},
      model: 'claude-sonnet-4-6',
      tools: [mean],
      maxTurns: 6,
      budget: { maxToolCalls: 10, maxCostUsd: 0.25, dailyCostUsd: 5 },
    },
  },
});
`;

const TASKS = `${JSON.stringify(
  [{ input: 'What is the mean of [3, 5, 10]?' }, { input: 'And the mean of [2, 4, 4, 4, 5, 5, 7, 9]?' }],
  null,
  2,
)}\n`;

const GITIGNORE = 'node_modules/\n.spool/\n';

/** The files to write, by name, in the order they are written. */
export function scaffoldFiles(options: ScaffoldOptions): Record<string, string> {
  const config: Record<string, string> = options.json
    ? {
        'spool.config.json': `${JSON.stringify(
          {
            $schema: `./${CONFIG_SCHEMA_PATH}`,
            agents: {
              analyst: {
                instructions: INSTRUCTIONS.replace('Use the mean tool for every average; answer', 'Answer'),
                model: 'claude-sonnet-4-6',
                budget: { maxCostUsd: 0.25, dailyCostUsd: 5 },
              },
            },
          },
          null,
          2,
        )}\n`,
      }
    : {
        'spool.config.ts': CONFIG_TS,
        // The user's own tsc checks the config against @spool/core's types.
        'tsconfig.json': `${JSON.stringify(
          {
            compilerOptions: {
              target: 'ES2023',
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              strict: true,
              noEmit: true,
              skipLibCheck: true,
            },
            include: ['spool.config.ts'],
          },
          null,
          2,
        )}\n`,
      };
  const packageJson = {
    name: options.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      demo: 'spool demo --offline',
      up: 'spool up',
      'up:offline': 'spool up --offline',
      status: 'spool status',
      ...(options.json ? {} : { typecheck: 'tsc' }),
    },
    dependencies: {
      '@spool/cli': `^${options.version}`,
      '@spool/core': `^${options.version}`,
      ...(options.json ? {} : { zod: '^4.1.0' }),
    },
    ...(options.json ? {} : { devDependencies: { typescript: '^5.9.0' } }),
  };
  return {
    ...config,
    'tasks.json': TASKS,
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    '.gitignore': GITIGNORE,
  };
}

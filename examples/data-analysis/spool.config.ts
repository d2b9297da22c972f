/**
 * The example's data-analysis agent with tools: Claude decides which statistic it needs and
 * calls the tool; Spool journals each call and its result, so a crash never loses or repeats
 * a finished step. `spool demo` uses this config (spool.config.json is the same agent without
 * tools).
 */
import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';
import { mean, median, round, variance } from './stats.ts';

const dataset = z.object({
  values: z.array(z.number()).min(1).describe('The dataset: the numbers to analyze, in any order.'),
});

const tools = [
  defineTool({
    name: 'mean',
    description: 'The arithmetic mean of a dataset.',
    input: dataset,
    handler: ({ values }) => ({ mean: round(mean(values)) }),
  }),
  defineTool({
    name: 'standard_deviation',
    description: 'The population and the sample standard deviation of a dataset.',
    input: dataset,
    handler: ({ values }) => ({
      population: round(Math.sqrt(variance(values))),
      sample: round(Math.sqrt(variance(values, true))),
    }),
  }),
  defineTool({
    name: 'median',
    description: 'The median of a dataset.',
    input: dataset,
    handler: ({ values }) => ({ median: round(median(values)) }),
  }),
];

export default defineConfig({
  agents: {
    'data-analyst': {
      instructions:
        'You are a careful data analyst. You work on datasets the user sends and remember earlier results in the conversation. Use the tools for every statistic instead of computing it yourself. Answer with the numbers first, then one or two sentences of interpretation. Round to three decimals.',
      model: 'claude-sonnet-4-6',
      maxTokens: 1024,
      concurrency: 1,
      tools,
    },
  },
});

import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

// The console test's agents: `pay` waits for an operator, so the test approves it from the page
// (and a page opened meanwhile follows the task, so the call after the approval is streamed).
const pay = defineTool({
  name: 'pay',
  description: 'Pays an invoice.',
  input: z.object({ invoice: z.string() }),
  requiresApproval: true,
  handler: ({ invoice }) => `paid ${invoice}`,
});

export default defineConfig({
  agents: {
    payer: {
      instructions: 'You pay invoices when asked.',
      model: 'claude-sonnet-4-6',
      tools: [pay],
      concurrency: 1,
    },
    // A pool: its replicas publish live text under the pool's name.
    crew: { instructions: 'You work in a crew.', model: 'claude-sonnet-4-6', tools: [pay], replicas: 2 },
    // A keyed agent: one instance per customer, each with its own history in SPOOL_KEYED; an
    // instance waiting for an approval is passivated soon, and listed from its wake record.
    desk: {
      instructions: 'You help one customer.',
      model: 'claude-sonnet-4-6',
      tools: [pay],
      keyed: { idleMs: 1_500 },
    },
  },
  workflows: {
    review: {
      steps: {
        draft: { agent: 'payer', input: 'Draft: {{input}}' },
        check: { agent: 'payer', input: 'Check: {{steps.draft.output}}' },
        sum: { agent: 'payer', input: 'Sum up: {{steps.draft.output}} {{steps.check.output}}' },
      },
    },
  },
});

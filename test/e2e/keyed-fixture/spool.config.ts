import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

// The keyed CLI test's agent: `refund` waits for an operator, so the test approves, denies and
// cancels instances' tasks with `--agent support/<key>`.
const refund = defineTool({
  name: 'refund',
  description: 'Refunds an amount to the customer.',
  input: z.object({ amount: z.number() }),
  requiresApproval: true,
  handler: ({ amount }, { keyed }) => `refunded ${amount} to ${keyed?.key ?? 'nobody'}`,
});

export default defineConfig({
  agents: {
    support: {
      instructions: 'Help the customer.',
      model: 'claude-sonnet-4-6',
      tools: [refund],
      concurrency: 1,
      keyed: { maxActive: 10, idleMs: 500 },
      leaseTtlMs: 1500,
      ackWaitMs: 3000,
    },
  },
});

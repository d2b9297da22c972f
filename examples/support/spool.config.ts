/**
 * A per-customer support agent: one keyed agent, one instance per customer (`support/<customer>`),
 * each with its own history, memory and results. Its lookup tool reads the calling customer's
 * orders only: the instance's key says whose they are.
 */
import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';
import { lookupOrder } from './orders.ts';

const lookup = defineTool({
  name: 'lookup_order',
  description:
    "Looks up one of the customer's orders by its number: what it is, its status and when it arrives.",
  input: z.object({ orderId: z.string().regex(/^\d+$/).describe('The order number, digits only.') }),
  handler: ({ orderId }, { keyed }) => {
    if (keyed === undefined) throw new Error('lookup_order needs a customer: run it on a keyed agent');
    return lookupOrder(keyed.key, orderId);
  },
});

export default defineConfig({
  agents: {
    support: {
      instructions:
        "You are a friendly customer support agent for a shop. Each conversation is with one customer. Use lookup_order for anything about an order; never guess an order's status. If the customer does not say which order, use the one they asked about earlier. Answer in two sentences at most.",
      model: 'claude-sonnet-4-6',
      maxTokens: 512,
      // One task at a time per customer: their questions are answered in order.
      concurrency: 1,
      tools: [lookup],
      // An instance per customer: up to 1000 in memory per process, passivated after a minute idle.
      keyed: { maxActive: 1000, idleMs: 60_000 },
    },
  },
});

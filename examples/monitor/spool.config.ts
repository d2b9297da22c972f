/**
 * A monitor that works on its own clock: the coordinator's schedule `check-status` gives the
 * `monitor` agent a task every minute (MONITOR_EVERY to change it); the agent fetches the
 * status page with its tool and writes notes, and the next check gets those notes in its
 * input ({{lastOutput}}), so it keeps them across runs. Each fire is journaled before its
 * task is sent (task id check-status@<time>): a restart neither checks twice nor forgets one.
 * Run it offline in one command: `pnpm tsx examples/monitor/run.ts`.
 */
import { defineConfig, defineTool } from '@spool/core';
import { z } from 'zod';

const statusUrl = process.env.STATUS_URL ?? `http://127.0.0.1:${process.env.STATUS_PORT ?? 8765}/status`;

export default defineConfig({
  agents: {
    monitor: {
      instructions:
        'You are a site monitor. Fetch the status page with fetch_status, compare it with your notes from the last check, and write short notes: "Status: <status> (<what changed>). Detail: <detail>. Checks: <n>."',
      model: 'claude-sonnet-4-6',
      maxTokens: 512,
      tools: [
        defineTool({
          name: 'fetch_status',
          description: 'Fetches the status page (JSON: status, detail, at).',
          input: z.object({}),
          idempotent: true,
          handler: async () => {
            const response = await fetch(statusUrl, { signal: AbortSignal.timeout(5_000) });
            if (!response.ok) throw new Error(`status page answered ${response.status}`);
            return await response.text();
          },
        }),
      ],
      // "Look again in a few minutes" without holding a slot: the built-in wait tool.
      timers: { maxWait: '1h' },
    },
  },
  schedules: {
    'check-status': {
      agent: 'monitor',
      input:
        'Check the status page (scheduled {{scheduledAt}}). Your notes from the last check: {{lastOutput}}',
      every: process.env.MONITOR_EVERY ?? '1m',
      overlap: 'skip',
      catchUp: 'once',
    },
  },
});

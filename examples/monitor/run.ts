/**
 * The monitor example in one command, offline: the fake status page, then `spool up` (an
 * embedded nats-server, the coordinator with its schedule, the monitor agent on the offline
 * model). Ctrl-C stops both. `pnpm tsx examples/monitor/run.ts`; MONITOR_EVERY=10s for a
 * quicker look; `pnpm spool schedule list` in another terminal shows the next fire.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startStatusPage } from './status-page.ts';

const here = import.meta.dirname;
const page = await startStatusPage();
const address = page.address();
process.stderr.write(
  `status page on http://127.0.0.1:${typeof address === 'object' && address ? address.port : '?'}/status\n`,
);
const up = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(here, '../../apps/cli/src/main.ts'),
    'up',
    '--config',
    join(here, 'spool.config.ts'),
    '--offline',
  ],
  { stdio: 'inherit', cwd: join(here, '../..') },
);
const stop = () => up.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
up.on('exit', (code) => {
  page.close();
  process.exit(code ?? 0);
});

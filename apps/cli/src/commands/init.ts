import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { scaffoldFiles } from '../scaffold/files.ts';
import { UsageError } from '../usage-error.ts';

/**
 * `spool init [dir] [--json]`: a new project in `dir` (default: here): spool.config.ts with one
 * agent and one tool, seed tasks, a package.json whose scripts run it, a .gitignore. Nothing
 * is overwritten: if any of those files exists, nothing is written and the error names them.
 */
export async function initCommand(argv: string[], _logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'init',
    argv,
    { json: { type: 'boolean' } },
    { required: [], optional: ['dir'] },
  );
  const dir = resolve(positionals[0] ?? '.');
  const shownDir = relative(process.cwd(), dir) || '.';
  const files = scaffoldFiles({ name: packageName(dir), version: ownVersion(), json: values.json === true });
  const existing = Object.keys(files).filter((name) => existsSync(join(dir, name)));
  if (existing.length > 0) {
    throw new UsageError(
      `spool init: ${existing.map((name) => join(shownDir, name)).join(', ')} already exist(s); nothing was written (init a new directory, or move them away)`,
    );
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { flag: 'wx' });
  const cd = shownDir === '.' ? '' : `cd ${shownDir} && `;
  console.log(`Created a Spool project in ${shownDir}: ${Object.keys(files).join(', ')}

Next:
  ${cd}npm install                 # @spool/cli, @spool/core${values.json ? '' : ', zod, typescript'}
  npm run demo                     # the agent on the offline model and an embedded NATS, then exit
  ANTHROPIC_API_KEY=… npm run up   # the agent on Claude, until Ctrl-C`);
  return 0;
}

/** The directory's name as an npm package name. */
function packageName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name || 'spool-agents';
}

/** The version of the running CLI, for the dependencies the scaffold declares. */
function ownVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.1.0';
}

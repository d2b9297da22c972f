import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseConfig, type SpoolConfig, ValidationError } from '@spool/core';
import { UsageError } from './usage-error.ts';

export const DEFAULT_CONFIG_FILES = ['spool.config.json', 'spool.config.ts'];

/**
 * Loads and validates the config: `--config F`, else `spool.config.json` or
 * `spool.config.ts` in the current directory. Every problem is one UsageError line naming
 * the file, the field and the fix.
 */
export async function loadConfig(flag: string | undefined): Promise<{ config: SpoolConfig; path: string }> {
  const path = flag === undefined ? findDefault() : resolve(flag);
  const shown = relative(process.cwd(), path) || path;
  if (!existsSync(path))
    throw new UsageError(`${shown}: no such file; pass --config <path to spool.config.json>`);
  let raw: unknown;
  if (extname(path) === '.json') {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new UsageError(
        `${shown}: not valid JSON (${err instanceof Error ? err.message : String(err)}); fix the syntax`,
      );
    }
  } else if (['.ts', '.mts', '.cts', '.js', '.mjs'].includes(extname(path))) {
    const mod = (await importConfigModule(path)) as { default?: unknown };
    raw = mod.default;
  } else {
    throw new UsageError(`${shown}: unsupported config type; use a .json or .ts file`);
  }
  try {
    return { config: parseConfig(raw, shown), path };
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

/** spool.config.json or spool.config.ts in the current directory, if there is one. */
export function findConfigFile(): string | undefined {
  return DEFAULT_CONFIG_FILES.map((name) => resolve(name)).find((path) => existsSync(path));
}

function findDefault(): string {
  const found = findConfigFile();
  if (found !== undefined) return found;
  throw new UsageError(
    'no spool.config.json or spool.config.ts in this directory; pass --config <file>, or create a project with "spool init"',
  );
}

let esmLoader: Promise<void> | undefined;

/**
 * Imports a TypeScript config. From source (this file is .ts) a loader already runs; the
 * installed CLI uses tsx's, which it carries, so users need no TypeScript tooling to run.
 * The config is the module format Node gives it (its package.json "type", or .mts/.cts): a
 * CommonJS one is required, as importing it would require(esm) @spool/core in a cycle.
 */
async function importConfigModule(path: string): Promise<unknown> {
  if (!/\.[mc]?ts$/.test(path) || import.meta.url.endsWith('.ts')) return import(pathToFileURL(path).href);
  if (isCommonJs(path)) {
    const { require: tsxRequire } = await import('tsx/cjs/api');
    return tsxRequire(path, import.meta.url) as unknown;
  }
  esmLoader ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  await esmLoader;
  return import(pathToFileURL(path).href);
}

/** True when Node reads this file as CommonJS: .cts, or .ts under a package.json without "type": "module". */
function isCommonJs(path: string): boolean {
  if (path.endsWith('.cts')) return true;
  if (path.endsWith('.mts')) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type !== 'module';
      } catch {
        return true;
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

/** The spec of one agent, or a UsageError listing the agents there are. */
export function agentSpec(config: SpoolConfig, name: string) {
  const spec = config.agents[name];
  if (spec === undefined) {
    throw new UsageError(
      `no agent "${name}" in the config; agents: ${Object.keys(config.agents).join(', ')}`,
    );
  }
  return spec;
}

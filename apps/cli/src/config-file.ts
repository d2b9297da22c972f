import { existsSync, readFileSync } from 'node:fs';
import { extname, relative, resolve } from 'node:path';
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
  } else if (['.ts', '.mts', '.js', '.mjs'].includes(extname(path))) {
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

let typeScriptLoader: Promise<void> | undefined;

/**
 * Imports a TypeScript config. From source (this file is .ts) a loader already runs; the
 * installed CLI registers tsx's, which it carries, so users need no TypeScript tooling to run.
 */
async function importConfigModule(path: string): Promise<unknown> {
  if (/\.[mc]?ts$/.test(path) && !import.meta.url.endsWith('.ts')) {
    typeScriptLoader ??= import('tsx/esm/api').then(({ register }) => {
      register();
    });
    await typeScriptLoader;
  }
  return import(pathToFileURL(path).href);
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

import { McpError, McpErrorCode } from './errors.ts';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` in each value with the variable from `env`. Done at connect time only, so
 * secrets live in the environment and never in the config, the journal or a log line; an unset
 * variable is an error that names it (never a value).
 */
export function expandVariables(
  server: string,
  field: string,
  values: Readonly<Record<string, string>> | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = value.replace(VARIABLE, (_, name: string) => {
      const found = env[name];
      if (found === undefined)
        throw new McpError(
          McpErrorCode.MissingVariable,
          server,
          `${field}.${key} of MCP server "${server}" uses \${${name}}, which is not set in the environment`,
        );
      return found;
    });
  }
  return out;
}

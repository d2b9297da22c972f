import type { ConnectionLogger, SpoolConnection } from './types.ts';

/**
 * The oldest nats-server to run Spool on in production: 2.9.23 fixes CVE-2023-47090 (with an
 * `accounts` block but no authorization rules, clients could connect without authenticating),
 * among other JetStream fixes; on 2.10 the fix came in 2.10.2. Spool itself needs only 2.9
 * features; 2.9.10 (Debian's package) is fine for development and tests.
 */
export const MIN_PRODUCTION_SERVER = '2.9.23';
/** The same fix on the 2.10 line. */
const MIN_PRODUCTION_2_10 = '2.10.2';

/** Whether `version` (e.g. "2.9.10", "2.10.7-beta") is older than `minimum`; undefined if it is not a version. */
export function isOlderThan(version: string, minimum: string): boolean | undefined {
  const parse = (v: string) => /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim())?.slice(1, 4).map(Number);
  const have = parse(version);
  const need = parse(minimum);
  if (have === undefined || need === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    const a = have[i] as number;
    const b = need[i] as number;
    if (a !== b) return a < b;
  }
  return false;
}

let warned = false;

/** Whether `version` predates the production minimum (2.9.23, or 2.10.2 on the 2.10 line); undefined if it is not a version. */
export function belowProductionMinimum(version: string): boolean | undefined {
  const older = isOlderThan(version, MIN_PRODUCTION_SERVER);
  if (older !== false) return older;
  return /^v?2\.10\./.test(version.trim()) ? isOlderThan(version, MIN_PRODUCTION_2_10) : false;
}

/**
 * Logs once per process when the server is older than the production minimum (or does not
 * say its version). Returns whether it warned now.
 */
export function warnIfOldServer(connection: SpoolConnection, logger: ConnectionLogger): boolean {
  if (warned) return false;
  const older = belowProductionMinimum(connection.serverVersion);
  if (older === false) return false;
  warned = true;
  logger.warn(
    { serverVersion: connection.serverVersion, minimum: MIN_PRODUCTION_SERVER },
    older === undefined
      ? `the NATS server did not say its version; run nats-server ${MIN_PRODUCTION_SERVER} or newer in production`
      : `nats-server ${connection.serverVersion} is older than ${MIN_PRODUCTION_SERVER} (${MIN_PRODUCTION_2_10} on 2.10), the minimum for production (CVE-2023-47090 and other fixes): upgrade it before relying on it`,
  );
  return true;
}

import { anthropicModel, type ModelClient } from '@spool/claude';
import type { SpoolConfig } from '@spool/core';
import { OFFLINE_MODEL, startOfflineModel } from '@spool/offline-model';
import { UsageError } from './usage-error.ts';

export interface ModelChoice {
  readonly model: ModelClient;
  /** True when running on the built-in offline model instead of Claude. */
  readonly offline: boolean;
  close(): Promise<void>;
}

/** How a command picks its model when no key is set. */
export type WithoutKey = 'refuse' | 'offline';

export const OFFLINE_NOTICE =
  'running on the built-in offline model (a local stand-in for the Messages API), not Claude: results and history say model "offline".';

/** --offline or SPOOL_OFFLINE=1/true: the offline model, asked for explicitly. */
export function offlineAsked(flag: boolean | undefined): boolean {
  return (
    flag === true || ['1', 'true', 'yes'].includes(process.env.SPOOL_OFFLINE?.trim().toLowerCase() ?? '')
  );
}

/**
 * Claude when ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL, for a gateway) is set, as the SDK reads
 * them; the built-in offline model when asked for (`offline`), or when there is no key and the
 * command may fall back to it (`spool demo`). Long-running commands fail closed: without a key
 * and without --offline they refuse to start, so answers journaled for good never come from
 * the offline model by accident.
 */
export async function chooseModel(options: {
  offline: boolean;
  withoutKey: WithoutKey;
}): Promise<ModelChoice> {
  const hasKey = Boolean(process.env.ANTHROPIC_API_KEY?.trim());
  const hasBaseUrl = Boolean(process.env.ANTHROPIC_BASE_URL?.trim());
  // The runtime retries each model call itself (backoff, retry-after, one log line per
  // attempt), so the SDK's own hidden retries are off.
  if (!options.offline && (hasKey || hasBaseUrl)) {
    return {
      model: anthropicModel({ maxRetries: 0, ...(hasKey ? {} : { apiKey: 'unused-by-gateway' }) }),
      offline: false,
      close: async () => undefined,
    };
  }
  if (!options.offline && options.withoutKey === 'refuse') {
    throw new UsageError(
      'ANTHROPIC_API_KEY is not set: set it to run agents on Claude, or pass --offline (or SPOOL_OFFLINE=1) to run them on the built-in offline model',
    );
  }
  const server = await startOfflineModel();
  return {
    model: anthropicModel({ baseURL: server.url, apiKey: 'offline', maxRetries: 0 }),
    offline: true,
    close: () => server.close(),
  };
}

/**
 * The config as the offline model runs it: every agent's model is `offline` (at price 0, so
 * its cost budgets still hold), so requests, journaled replies, spec hashes and results all
 * say where the answers came from.
 */
export function offlineConfig(config: SpoolConfig): SpoolConfig {
  const agents = Object.fromEntries(
    Object.entries(config.agents).map(([name, spec]) => [
      name,
      {
        ...spec,
        model: OFFLINE_MODEL,
        prices: { ...spec.prices, [OFFLINE_MODEL]: { inputPerMTok: 0, outputPerMTok: 0 } },
      },
    ]),
  );
  return { ...config, agents };
}

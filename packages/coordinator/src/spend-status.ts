import type { Limits, SpendStatus, StatusReport } from '@spool/core/internal';
import { rateLimitViews, type SpoolConnection, spend } from '@spool/jetstream';

/** What the status report says of spending, per configured agent (a pool counts as one). */
export interface SpendConfig {
  /** Each agent's model and daily budget, by its name in the config. */
  readonly agents: Readonly<
    Record<string, { readonly model: string; readonly dailyCostUsd?: number | undefined }>
  >;
  readonly limits?: Limits | undefined;
}

/**
 * Spend today per agent (the larger of its histories' 24-hour cost and the fleet's shared
 * ledger, with what its calls in flight hold) against its daily budget, and each shared rate
 * limit as its bucket says now.
 */
export async function spendStatus(
  connection: SpoolConnection,
  report: StatusReport,
  config: SpendConfig,
): Promise<Pick<StatusReport, 'spend' | 'rateLimits'>> {
  const fromHistories = new Map<string, number>();
  for (const a of report.agents) fromHistories.set(a.name, a.costLast24hUsd ?? 0);
  for (const p of report.pools)
    fromHistories.set(
      p.name,
      p.replicas.reduce((sum, r) => sum + (r.costLast24hUsd ?? 0), 0),
    );
  const budgeted = Object.values(config.agents).some((a) => a.dailyCostUsd !== undefined);
  const ledger = budgeted ? await spend(connection) : undefined;
  const rows = await Promise.all(
    Object.entries(config.agents).map(async ([agent, { dailyCostUsd }]): Promise<SpendStatus> => {
      const shared =
        dailyCostUsd === undefined || ledger === undefined
          ? { spentUsd: 0, reservedUsd: 0 }
          : await ledger.read(agent);
      const spentTodayUsd = round(Math.max(shared.spentUsd, fromHistories.get(agent) ?? 0));
      return {
        agent,
        spentTodayUsd,
        heldUsd: round(shared.reservedUsd),
        ...(dailyCostUsd === undefined
          ? {}
          : { dailyCostUsd, share: Math.round((spentTodayUsd / dailyCostUsd) * 1_000) / 1_000 }),
      };
    }),
  );
  const models = [...new Set(Object.values(config.agents).map((a) => a.model))];
  const rateLimits =
    config.limits === undefined ? [] : await rateLimitViews(connection, config.limits, models);
  return { spend: rows, rateLimits };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

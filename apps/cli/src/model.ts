import { anthropicModel, type ModelClient } from '@spool/claude';
import { startFakeClaude, teamResponder } from '@spool/testkit';

export interface ModelChoice {
  readonly model: ModelClient;
  /** True when running on the built-in offline model instead of Claude. */
  readonly offline: boolean;
  close(): Promise<void>;
}

export const OFFLINE_NOTICE =
  'ANTHROPIC_API_KEY is not set: running on the built-in offline model (a local stand-in for the Messages API), not Claude.';

/**
 * Claude when ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL, for a gateway) is set, as the SDK
 * reads them; otherwise the built-in offline model: the testkit's fake Messages API with a
 * small rule-based team (the data analyst, and the researcher, writer, reviewer and planner
 * of the multi-agent examples), served on loopback and called through the real SDK.
 */
export async function chooseModel(): Promise<ModelChoice> {
  const hasKey = Boolean(process.env.ANTHROPIC_API_KEY?.trim());
  const hasBaseUrl = Boolean(process.env.ANTHROPIC_BASE_URL?.trim());
  // The runtime retries each model call itself (backoff, retry-after, one log line per
  // attempt), so the SDK's own hidden retries are off.
  if (hasKey || hasBaseUrl) {
    return {
      model: anthropicModel({ maxRetries: 0, ...(hasKey ? {} : { apiKey: 'unused-by-gateway' }) }),
      offline: false,
      close: async () => undefined,
    };
  }
  const fake = await startFakeClaude({ responder: teamResponder });
  return {
    model: anthropicModel({ baseURL: fake.url, apiKey: 'offline', maxRetries: 0 }),
    offline: true,
    close: () => fake.close(),
  };
}

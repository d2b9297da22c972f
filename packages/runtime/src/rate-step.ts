import { exhaustedUntil } from '@spool/claude';
import { ErrorCode, ensureError, type SpoolError } from '@spool/core/internal';
import type { RateGrant } from '@spool/jetstream';
import type { Logger } from 'pino';
import { type AgentContext, observedName } from './context.ts';

/** A wait for the shared rate limit this long or longer is logged. */
const LOGGED_WAIT_MS = 1_000;
/** A 429 without retry-after pauses every process this long. */
const DEFAULT_PAUSE_MS = 1_000;

export interface RateTurn {
  /** The response's headers: a limit the API says is used up pauses every process until its reset. */
  onHeaders(headers: Headers): void;
  /** After the call: unused output tokens go back; a 429 pauses every process. */
  done(outputTokens: number | undefined, error?: SpoolError): Promise<void>;
}

/** No shared rate limit: nothing to wait for or report. */
export const noRateLimit: RateTurn = { onHeaders: () => undefined, done: async () => undefined };

/**
 * Waits for the shared rate limit of the agent's model (`limits` in the config, jetstream's
 * rate-limiter.ts); none configured: at once. Undefined when the task stopped while waiting.
 */
export async function awaitRateLimit(
  ctx: AgentContext,
  call: { readonly inputTokens: number; readonly maxTokens: number; readonly step: number },
  stop: AbortSignal,
  log: Logger,
): Promise<RateTurn | undefined> {
  const rates = ctx.rates;
  const model = ctx.spec.model;
  if (rates === undefined) return noRateLimit;
  const grant: RateGrant | undefined = await rates.acquire(
    { model, agent: observedName(ctx), inputTokens: call.inputTokens, maxTokens: call.maxTokens },
    stop,
  );
  if (grant === undefined) return undefined;
  if (grant.waitedMs >= LOGGED_WAIT_MS)
    log.info({ step: call.step, waitedMs: grant.waitedMs }, 'waited for the shared rate limit');
  const pauseAll = (untilMs: number, why: string) =>
    rates
      .pauseUntil(model, untilMs, why)
      .catch((err) =>
        log.warn({ err: ensureError(err).message }, 'could not share the pause with other processes'),
      );
  return {
    onHeaders: (headers) => {
      const exhausted = exhaustedUntil(headers);
      if (exhausted !== undefined)
        void pauseAll(
          exhausted.untilMs,
          `the API reported no ${exhausted.limit} left until ${new Date(exhausted.untilMs).toISOString()}`,
        );
    },
    done: async (outputTokens, error) => {
      grant.settle(outputTokens ?? 0);
      if (error?.code === ErrorCode.RateLimited) {
        const ms = error.retryAfterMs ?? DEFAULT_PAUSE_MS;
        await pauseAll(Date.now() + ms, `429 from the API, retry after ${Math.ceil(ms / 1000)}s`);
      }
    },
  };
}

import { z } from 'zod';
import type { Usage } from './usage.ts';

/** USD per million tokens. Cache writes and reads default to 1.25× and 0.1× the input price, as the API bills them. */
export const PriceSchema = z.strictObject({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
});
export type Price = z.infer<typeof PriceSchema>;

/**
 * List prices by model family (USD per million input / output tokens) at the time of
 * writing. Prices change: set `prices` in the agent's config to the ones you pay.
 */
export const DEFAULT_PRICES: Readonly<Record<string, Price>> = {
  'claude-opus': { inputPerMTok: 15, outputPerMTok: 75 },
  'claude-sonnet': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-haiku': { inputPerMTok: 1, outputPerMTok: 5 },
};

/** The price of a model: an exact entry of `prices`, else the longest matching family prefix there or in the defaults. */
export function priceFor(model: string, prices: Readonly<Record<string, Price>> = {}): Price | undefined {
  const exact = prices[model];
  if (exact !== undefined) return exact;
  for (const table of [prices, DEFAULT_PRICES]) {
    const family = Object.keys(table)
      .filter((prefix) => model.startsWith(prefix))
      .sort((a, b) => b.length - a.length)[0];
    if (family !== undefined) return table[family];
  }
  return undefined;
}

/** What a usage costs at a price, in USD. */
export function costOf(usage: Usage, price: Price): number {
  const perToken = (perMTok: number) => perMTok / 1_000_000;
  return (
    usage.inputTokens * perToken(price.inputPerMTok) +
    usage.outputTokens * perToken(price.outputPerMTok) +
    usage.cacheCreationInputTokens * perToken(price.cacheWritePerMTok ?? price.inputPerMTok * 1.25) +
    usage.cacheReadInputTokens * perToken(price.cacheReadPerMTok ?? price.inputPerMTok * 0.1)
  );
}

/** Every token a usage counts: input, cache writes and reads, and output. */
export function totalTokens(usage: Usage): number {
  return usage.inputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens + usage.outputTokens;
}

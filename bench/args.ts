/**
 * The arguments of `pnpm bench`: run.sh passes every argument to all seven parts, so each part
 * takes the options that apply to it, says once which given ones it leaves to the others, and
 * refuses an option no part knows (exit 2, listing them all).
 */
import { parseArgs } from 'node:util';

/** Each part's options with their defaults and least values. */
export const BENCH_OPTIONS = {
  throughput: { tasks: { default: 2000, min: 1 }, concurrency: { default: 32, min: 1 } },
  recovery: { events: { default: 100_000, min: 2000 }, group: { default: 1, min: 1 } },
  workflow: {
    runs: { default: 20, min: 1 },
    items: { default: 1000, min: 1 },
    results: { default: 20_000, min: 1 },
  },
  pool: { 'pool-tasks': { default: 10_000, min: 1 } },
  coordinator: { 'finished-runs': { default: 100_000, min: 1000 } },
  mcp: { 'mcp-tasks': { default: 500, min: 1 } },
  keyed: { keys: { default: 10_000, min: 1 }, 'activation-events': { default: 1000, min: 1 } },
  observability: { 'obs-tasks': { default: 2000, min: 1 }, 'obs-rounds': { default: 5, min: 1 } },
  limits: { 'limits-tasks': { default: 2000, min: 1 } },
  console: { 'console-events': { default: 20_000, min: 100 } },
} as const;

type Part = keyof typeof BENCH_OPTIONS;
type Values<P extends Part> = { [K in keyof (typeof BENCH_OPTIONS)[P]]: number };

export function usage(): string {
  const parts = Object.entries(BENCH_OPTIONS).map(
    ([part, options]) =>
      `${Object.entries(options)
        .map(([name, o]) => `--${name} N (default ${o.default})`)
        .join(', ')} [${part}]`,
  );
  return `Usage: pnpm bench [options] [--json] [--profile]\n  ${parts.join('\n  ')}\n  --json  one JSON object per part on stdout\n  --profile  a CPU profile of the agent process during the throughput part: where its time went, by package`;
}

export function benchArgs<P extends Part>(part: P): { values: Values<P>; json: boolean; profile: boolean } {
  const all = Object.fromEntries(
    Object.values(BENCH_OPTIONS).flatMap((options) =>
      Object.keys(options).map((name) => [name, { type: 'string' }]),
    ),
  ) as Record<string, { type: 'string' }>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      options: { ...all, json: { type: 'boolean' }, profile: { type: 'boolean' } },
      strict: true,
    });
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message.split('\n')[0] : err}\n${usage()}`);
    process.exit(2);
  }
  const given = parsed.values as Record<string, string | boolean | undefined>;
  const own = BENCH_OPTIONS[part] as Record<string, { default: number; min: number }>;
  const global = new Set(['json', 'profile']);
  const others = Object.keys(given).filter((name) => !global.has(name) && !(name in own));
  const ownerOf = (name: string) => Object.entries(BENCH_OPTIONS).find(([, options]) => name in options)?.[0];
  if (others.length > 0)
    console.error(`bench ${part}: ignoring ${others.map((n) => `--${n} (${ownerOf(n)}'s)`).join(', ')}`);
  const values: Record<string, number> = {};
  for (const [name, option] of Object.entries(own)) {
    const raw = given[name];
    const n = raw === undefined ? option.default : Number(raw);
    if (!Number.isInteger(n) || n < option.min) {
      console.error(
        `bench ${part}: --${name} must be a whole number of at least ${option.min} (got "${raw}")`,
      );
      process.exit(2);
    }
    values[name] = n;
  }
  return { values: values as Values<P>, json: given.json === true, profile: given.profile === true };
}

/** Prometheus text exposition, parsed: each sample by `name{label="value",…}` (labels sorted). */
export type Samples = ReadonlyMap<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name, labels = '', value = ''] = match;
    const pairs = [...labels.matchAll(LABEL)].map(([, k, v]) => [k as string, v as string] as const);
    samples.set(key(name as string, Object.fromEntries(pairs)), Number(value));
  }
  return samples;
}

/** The sample's key, as `parsePrometheus` makes it. */
export function key(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const inner = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return inner === '' ? name : `${name}{${inner}}`;
}

/** One sample's value; undefined when the series is absent. */
export function sample(
  samples: Samples,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.get(key(name, labels));
}

/** Fetches and parses `<url>/metrics`. */
export async function scrape(baseUrl: string): Promise<Samples> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** The metrics address a spool process logged ("serving metrics"), as http://host:port. */
export function metricsUrlIn(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.includes('"serving metrics"'));
  const metrics = line === undefined ? undefined : (JSON.parse(line) as { metrics?: string }).metrics;
  return metrics?.replace(/\/metrics$/, '');
}

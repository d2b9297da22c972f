import { type MessagesBody, type Responder, textOfContent } from './fake-claude-protocol.ts';

/**
 * The built-in offline model of the demo: a small, deterministic, rule-based data analyst.
 * It reads the whole conversation it is sent, so what it can answer depends on the memory
 * the runtime carried into the request: asked for a standard deviation with no dataset in
 * the request, it says it has none.
 */
export const analystResponder: Responder = (body: MessagesBody) => {
  const messages = body.messages ?? [];
  const texts = messages.map((m) => ({ role: m.role, text: textOfContent(m.content) }));
  const question = texts.filter((m) => m.role === 'user').at(-1)?.text ?? '';
  const userTexts = texts.filter((m) => m.role === 'user').map((m) => m.text);
  const inQuestion = lastNumberArray(question);
  const earlier = inQuestion ?? lastNumberArray(userTexts.slice(0, -1).join('\n'), true);
  if (earlier === undefined) {
    return "I don't see a dataset in our conversation; send one as a JSON array, e.g. [1, 2, 3].";
  }
  const data = earlier;
  const shown = `[${data.join(',')}]`;
  const asked = question.toLowerCase();
  const parts: string[] = [];
  const m = mean(data);
  const wantsStd = /standard deviation|std\b|stdev|spread/.test(asked);
  const wantsMean = /\bmean\b|average/.test(asked);
  if (inQuestion === undefined) {
    const previousMean = texts
      .filter((t) => t.role === 'assistant')
      .map((t) => /mean (?:is|was|of)?\s*\(?(-?\d+(?:\.\d+)?)/i.exec(t.text)?.[1])
      .filter((v): v is string => v !== undefined)
      .at(-1);
    parts.push(
      `Using the dataset from your earlier message (${shown})${previousMean === undefined ? '' : ` and the mean I calculated before (${previousMean})`}:`,
    );
  } else {
    parts.push(`The dataset ${shown} has ${data.length} values;`);
  }
  if (wantsStd) {
    const population = Math.sqrt(variance(data, false));
    const sample = data.length > 1 ? Math.sqrt(variance(data, true)) : 0;
    const ratio = m === 0 ? undefined : population / Math.abs(m);
    parts.push(`the population standard deviation is ${round(population)} (sample: ${round(sample)}).`);
    if (ratio !== undefined) {
      const spread =
        ratio < 0.1
          ? 'tightly clustered around'
          : ratio < 0.6
            ? 'moderately spread around'
            : 'widely spread around';
      parts.push(
        `That is about ${Math.round(ratio * 100)}% of the mean (${round(m)}), so the values are ${spread} it.`,
      );
    }
  }
  if (wantsMean && !wantsStd) parts.push(`their mean is ${round(m)}.`);
  if (/variance/.test(asked)) parts.push(`The population variance is ${round(variance(data, false))}.`);
  if (/median/.test(asked)) parts.push(`The median is ${round(median(data))}.`);
  if (/\bmin(imum)?\b|smallest/.test(asked)) parts.push(`The minimum is ${Math.min(...data)}.`);
  if (/\bmax(imum)?\b|largest/.test(asked)) parts.push(`The maximum is ${Math.max(...data)}.`);
  if (/\bsum\b|total/.test(asked)) parts.push(`The sum is ${round(data.reduce((a, b) => a + b, 0))}.`);
  if (parts.length === 1)
    parts.push(
      `the mean is ${round(m)}, the median ${round(median(data))}, and the range ${Math.min(...data)} to ${Math.max(...data)}.`,
    );
  return parts.join(' ');
};

/** The last JSON array of numbers in the text (searching from the end when `fromEnd`). */
function lastNumberArray(text: string, fromEnd = true): number[] | undefined {
  const found = [...text.matchAll(/\[[-\d.,\s eE+]+\]/g)]
    .map((match) => {
      try {
        const value: unknown = JSON.parse(match[0]);
        return Array.isArray(value) &&
          value.length > 0 &&
          value.every((n) => typeof n === 'number' && Number.isFinite(n))
          ? (value as number[])
          : undefined;
      } catch {
        return undefined;
      }
    })
    .filter((v): v is number[] => v !== undefined);
  return fromEnd ? found.at(-1) : found[0];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function variance(xs: number[], sample: boolean): number {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (sample ? xs.length - 1 : xs.length);
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
const round = (x: number) => Math.round(x * 1000) / 1000;

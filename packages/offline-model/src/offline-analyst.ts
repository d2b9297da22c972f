import { type MessagesBody, type Reply, type Responder, textOfContent } from './messages-protocol.ts';

type Message = NonNullable<MessagesBody['messages']>[number];

/**
 * The built-in offline model of the demo: a small, deterministic, rule-based data analyst.
 * It reads the whole conversation it is sent, so what it can answer depends on the memory
 * the runtime carried into the request: asked for a standard deviation with no dataset in
 * the request, it says it has none. When the request offers a tool named `mean` (or
 * `standard_deviation`), it works as Claude would: it first asks for the tool calls it needs,
 * then answers from their results.
 */
export const analystResponder: Responder = (body: MessagesBody): Reply | string => {
  const messages = body.messages ?? [];
  const taskAt = messages.findLastIndex((m) => m.role === 'user' && !isToolResults(m));
  const question = taskAt < 0 ? '' : textOfContent(messages[taskAt]?.content ?? '');
  const earlierUserTexts = messages
    .slice(0, Math.max(0, taskAt))
    .filter((m) => m.role === 'user' && !isToolResults(m))
    .map((m) => textOfContent(m.content));
  const inQuestion = lastNumberArray(question);
  const data = inQuestion ?? lastNumberArray(earlierUserTexts.join('\n'));
  if (data === undefined) {
    return "I don't see a dataset in our conversation; send one as a JSON array, e.g. [1, 2, 3].";
  }
  const asked = question.toLowerCase();
  const wantsStd = /standard deviation|std\b|stdev|spread/.test(asked);
  const wantsMean = /\bmean\b|average/.test(asked);
  const tools = new Set((body.tools ?? []).map((t) => (t as { name?: unknown }).name));
  const fromTools = toolOutputs(messages.slice(taskAt + 1));

  // With tools and no results yet for this task: ask for the computations first.
  const needed = (wantsStd ? ['mean', 'standard_deviation'] : ['mean']).filter((name) => tools.has(name));
  if (fromTools === undefined && needed.length > 0) {
    return {
      content: [
        { type: 'text', text: `I'll compute ${needed.join(' and ')} of [${data.join(',')}] with the tools.` },
        ...needed.map((name, i) => ({
          type: 'tool_use',
          id: `toolu_offline_${i + 1}`,
          name,
          input: { values: data },
        })),
      ],
    };
  }
  const m = numberFrom(fromTools?.mean, 'mean') ?? mean(data);
  const std = fromTools?.standard_deviation as { population?: unknown; sample?: unknown } | undefined;
  const population = numberFrom(std, 'population') ?? Math.sqrt(variance(data, false));
  const sample = numberFrom(std, 'sample') ?? (data.length > 1 ? Math.sqrt(variance(data, true)) : 0);
  return describe({
    data,
    asked,
    wantsMean,
    wantsStd,
    inQuestion: inQuestion !== undefined,
    m,
    population,
    sample,
    messages,
    taskAt,
    usedTools: fromTools !== undefined,
  });
};

interface Findings {
  data: number[];
  asked: string;
  wantsMean: boolean;
  wantsStd: boolean;
  inQuestion: boolean;
  m: number;
  population: number;
  sample: number;
  messages: readonly Message[];
  taskAt: number;
  usedTools: boolean;
}

/** The answer in words, the numbers first. */
function describe(f: Findings): string {
  const { data, asked, m } = f;
  const shown = `[${data.join(',')}]`;
  const parts: string[] = [];
  if (!f.inQuestion) {
    const previousMean = f.messages
      .slice(0, f.taskAt)
      .filter((t) => t.role === 'assistant')
      .map((t) => /mean (?:is|was|of)?\s*\(?(-?\d+(?:\.\d+)?)/i.exec(textOfContent(t.content))?.[1])
      .filter((v): v is string => v !== undefined)
      .at(-1);
    parts.push(
      `Using the dataset from your earlier message (${shown})${previousMean === undefined ? '' : ` and the mean I calculated before (${previousMean})`}:`,
    );
  } else {
    parts.push(`The dataset ${shown} has ${data.length} values;`);
  }
  if (f.wantsStd) {
    const ratio = m === 0 ? undefined : f.population / Math.abs(m);
    parts.push(`the population standard deviation is ${round(f.population)} (sample: ${round(f.sample)}).`);
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
  if (f.wantsMean && !f.wantsStd) parts.push(`their mean is ${round(m)}.`);
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
}

function isToolResults(message: Message): boolean {
  return Array.isArray(message.content) && message.content.some((b) => b.type === 'tool_result');
}

/**
 * The outputs of the tools called for this task, by tool name (JSON when they are JSON), or
 * undefined when no tool has answered yet.
 */
function toolOutputs(turn: readonly Message[]): Record<string, unknown> | undefined {
  const names = new Map<string, string>();
  const outputs: Record<string, unknown> = {};
  let any = false;
  for (const message of turn) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string')
        names.set(block.id, block.name);
      if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
        const name = names.get(block.tool_use_id);
        if (name === undefined || block.is_error === true) continue;
        any = true;
        try {
          outputs[name] = JSON.parse(String(block.content));
        } catch {
          outputs[name] = block.content;
        }
      }
    }
  }
  return any ? outputs : undefined;
}

function numberFrom(value: unknown, field: string): number | undefined {
  const found = typeof value === 'number' ? value : (value as Record<string, unknown> | undefined)?.[field];
  return typeof found === 'number' && Number.isFinite(found) ? found : undefined;
}

/** The last JSON array of numbers in the text. */
function lastNumberArray(text: string): number[] | undefined {
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
  return found.at(-1);
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

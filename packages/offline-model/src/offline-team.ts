import { type MessagesBody, type Reply, type Responder, textOfContent } from './messages-protocol.ts';
import { analystResponder } from './offline-analyst.ts';
import { filesClerk, listingTool } from './offline-files.ts';
import { monitor, STATUS_TOOL } from './offline-monitor.ts';
import { LOOKUP_ORDER, supportClerk } from './offline-support.ts';

type Message = NonNullable<MessagesBody['messages']>[number];
type Role = 'researcher' | 'writer' | 'reviewer' | 'planner' | 'analyst';

/**
 * The built-in offline model for every example: a deterministic stand-in for Claude that
 * plays the role its system prompt (the agent's instructions) names, so the multi-agent
 * examples (a workflow, a planner that delegates) run end to end without an API key.
 *
 * - the data analyst (its instructions, or the `mean`/`standard_deviation` tools) → the
 *   offline analyst, unchanged;
 * - an agent offered the `fetch_status` tool → the site monitor of examples/monitor;
 * - an agent offered the `delegate` tool → a planner: first one reply that delegates a piece
 *   of the goal to each agent the tool allows, then, from their results, the combined answer;
 * - an agent offered `lookup_order` (examples/support) → a support clerk that looks the order
 *   up, and remembers which one its customer asked about (offline-support.ts);
 * - a researcher → a JSON array of subtopics when asked for one, else short findings;
 * - a writer → a short article quoting the notes it was given;
 * - a reviewer → a short review that ends with a verdict;
 * - the runtime's memory summarizer → a plain summary; a question about a dataset → the
 *   analyst; anything else → a plain answer that says what the offline model can do.
 *
 * It reads only the request (no state), so the same request always gets the same reply.
 */
export const teamResponder: Responder = (body: MessagesBody): Reply | string => {
  const system = systemText(body);
  const messages = body.messages ?? [];
  const taskAt = messages.findLastIndex((m) => m.role === 'user' && !isToolResults(m));
  const task = taskAt < 0 ? '' : textOfContent(messages[taskAt]?.content ?? '').trim();
  if (/^You compress an agent's earlier conversation/.test(system)) return summarize(task);
  const tools = toolNames(body);
  if (tools.has('mean') || tools.has('standard_deviation') || roleOf(system) === 'analyst') {
    return analystResponder(body);
  }
  if (tools.has('delegate')) return plan(body, task, messages.slice(taskAt + 1));
  if (tools.has(STATUS_TOOL)) return monitor(task, messages.slice(taskAt + 1));
  if (tools.has(LOOKUP_ORDER)) return supportClerk(messages, taskAt);
  const listing = listingTool(body);
  if (listing !== undefined && FILES_QUESTION.test(task))
    return filesClerk(listing, messages.slice(taskAt + 1));
  switch (roleOf(system)) {
    case 'researcher':
      return wantsList(task) ? JSON.stringify(subtopics(task)) : findings(task);
    case 'writer':
      return article(task);
    case 'reviewer':
      return review(task);
    default:
      // Before the team, the offline model was only the analyst: an agent of any other name
      // asked about a dataset still gets its answer.
      return DATA_QUESTION.test(task) ? analystResponder(body) : generic(task);
  }
};

const FILES_QUESTION = /\b(?:files?|director(?:y|ies)|folders?)\b/i;

const DATA_QUESTION = /\b(?:mean|average|median|variance|standard deviation|dataset)\b|\[\s*-?\d/i;

// --- roles -------------------------------------------------------------------------------

const ROLE_WORDS: readonly [Role, RegExp][] = [
  ['analyst', /\banaly(?:st|sis|ze|se)\b/i],
  ['planner', /\b(?:planner|orchestrat\w*|coordinator)\b/i],
  ['reviewer', /\b(?:reviewer|review|editor|critic)\b/i],
  ['writer', /\b(?:writer|write|author)\b/i],
  ['researcher', /\b(?:researcher|research)\b/i],
];

/**
 * The role the instructions give the agent: the one in "You are a/the … <role>" when there
 * is one (instructions often mention other roles: a writer's "from the researcher's notes"),
 * else the role word that comes first.
 */
function roleOf(system: string): Role | undefined {
  const named =
    /\byou are\s+(?:a|an|the)?\s*(?:[\w-]+\s+){0,3}?(researcher|writer|reviewer|planner|analyst)\b/i.exec(
      system,
    );
  if (named?.[1] !== undefined) return named[1].toLowerCase() as Role;
  let first: { role: Role; at: number } | undefined;
  for (const [role, pattern] of ROLE_WORDS) {
    const at = system.search(pattern);
    if (at >= 0 && (first === undefined || at < first.at)) first = { role, at };
  }
  return first?.role;
}

// --- researcher --------------------------------------------------------------------------

/** A request for a list the workflow will fan out over ("… a JSON array of subtopics"). */
function wantsList(task: string): boolean {
  return /json array/i.test(task) && /sub-?topics?|list/i.test(task);
}

const ANGLES = [
  'origins and background',
  'how it works',
  'open questions and what comes next',
  'who it affects and why',
  'costs and risks',
  'alternatives',
];
/** What a finding's first sentence says, by the kind of subtopic, so the notes differ. */
const LEADS: readonly [RegExp, string][] = [
  [
    /origin|background|history/i,
    'most accounts single out a few turning points that shaped everything after them',
  ],
  [/how|work|mechanism/i, 'the practical details turn out to matter more than the headline claims'],
  [/./, 'the sources agree it is best understood through concrete examples rather than definitions'],
];
const NUMBER_WORDS: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, six: 6 };

function subtopics(task: string): string[] {
  const topic = short(
    labelled(task, 'topic') ?? /sub-?topics? (?:of|for|about)\s+(.+)/i.exec(task)?.[1] ?? task,
  );
  const asked = /\b(\d+|two|three|four|five|six)\s+(?:short\s+)?sub-?topics?/i.exec(task)?.[1]?.toLowerCase();
  const count = asked === undefined ? 3 : (NUMBER_WORDS[asked] ?? Number(asked));
  return ANGLES.slice(0, Math.min(Math.max(count, 1), ANGLES.length)).map((angle) => `${topic} — ${angle}`);
}

function findings(task: string): string {
  // "Subtopic: X", else what the first sentence asks about ("Research the facts about: X. …").
  const asked = firstLine(task);
  const subject = short(
    labelled(task, 'subtopic') ??
      /\babout\b:?\s+(.+?)(?:[.?!]\s|$)/i.exec(asked)?.[1] ??
      /\bresearch\b:?\s+(.+?)(?:[.?!]\s|$)/i.exec(asked)?.[1] ??
      asked,
  );
  const topic = labelled(task, 'topic');
  const within =
    topic === undefined || subject.toLowerCase().includes(short(topic).toLowerCase())
      ? ''
      : ` (part of ${inSentence(short(topic))})`;
  // The angle after the dash, when the subtopic is one of ours: the topic itself says nothing.
  const angle = subject.split(' — ').at(-1) ?? subject;
  const lead = LEADS.find(([pattern]) => pattern.test(angle))?.[1];
  return [
    `Findings on ${inSentence(subject)}${within}: ${lead}.`,
    'The points raised most often are its causes, its effects and its limits.',
    'The evidence is solid on the first two and thinner on the last, which is still debated.',
  ].join(' ');
}

// --- writer and reviewer -----------------------------------------------------------------

function article(task: string): string {
  const notes = stringArrayIn(task) ?? [];
  const topic = short(
    labelled(task, 'topic') ??
      /\b(?:article|piece|report|summary|text|brief|memo|overview|note|essay|post)\s+(?:on|about|of)\s*:?\s+(.+)/i.exec(
        firstLine(task),
      )?.[1] ??
      firstLine(task),
  );
  const title = `# ${capitalized(topic)}`;
  const mid = inSentence(topic);
  if (notes.length === 0) {
    return [
      title,
      `${capitalized(topic)} is easiest to understand by starting with the problem it answers, then looking at how it plays out today.`,
      `In practice, ${mid} comes down to trade-offs: what it makes easier, what it costs, and where it stops helping.`,
      `In short: ${mid} is worth understanding well before deciding how much to rely on it.`,
    ].join('\n\n');
  }
  const body = notes.map(
    (note, i) =>
      `${i === 0 ? 'First' : i === notes.length - 1 ? 'Finally' : 'Next'}, the research notes say: "${firstSentence(note)}"`,
  );
  return [
    title,
    `This article brings together ${notes.length} research note${notes.length === 1 ? '' : 's'} on ${mid}.`,
    ...body,
    `Taken together, the notes show that ${mid} is best judged case by case, on what it changes in practice.`,
  ].join('\n\n');
}

function review(task: string): string {
  const draft = /^draft:\s*\n?([\s\S]*)$/im.exec(task)?.[1]?.trim() || task;
  const paragraphs = draft.split(/\n\s*\n/).filter((p) => p.trim() !== '');
  const words = draft.split(/\s+/).filter(Boolean).length;
  const quotes = (draft.match(/"[^"]+"/g) ?? []).length;
  const good = paragraphs.length >= 3 && words >= 60;
  return [
    `The draft has ${paragraphs.length} paragraph${paragraphs.length === 1 ? '' : 's'} and ${words} words${quotes > 0 ? `, and quotes its sources ${quotes} time${quotes === 1 ? '' : 's'}` : ''}.`,
    good
      ? 'It is clearly structured and stays on topic; the conclusion could name one concrete example.'
      : 'It is too short to stand on its own: add the findings behind each claim and a conclusion.',
    `Verdict: ${good ? 'approve' : 'revise'}.`,
  ].join(' ');
}

// --- planner -----------------------------------------------------------------------------

/** With no results yet: delegate a piece to each allowed agent; with results: combine them. */
function plan(body: MessagesBody, goal: string, turn: readonly Message[]): Reply | string {
  const results = toolResults(turn);
  if (results.length === 0) {
    const agents = delegateAgents(body).slice(0, 3);
    if (agents.length === 0) return generic(goal);
    const wanted = deliverable(goal);
    return {
      content: [
        {
          type: 'text',
          text: `I'll split this into ${agents.length} part${agents.length === 1 ? '' : 's'} and delegate them: ${agents.join(', ')}.`,
        },
        ...agents.map((agent, i) => ({
          type: 'tool_use',
          id: `toolu_offline_d${i + 1}`,
          name: 'delegate',
          input: { agent, task: pieceFor(roleOfPeer(body, agent), wanted) },
        })),
      ],
    };
  }
  return [
    `Here is the combined result for: ${short(goal)}`,
    ...results.map((r) =>
      r.isError ? `${r.agent} could not help: ${r.content}` : `From ${r.agent}:\n${r.content}`,
    ),
  ].join('\n\n');
}

const DELIVERABLE =
  /^(?:(?:please\s+)?(?:write|draft|prepare|create|produce)\s+)?((?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}?(?:brief|report|article|summary|overview|note|memo|post|essay|piece)\s+(?:on|about|of)\s+(.+))$/i;

/** What the goal is about, and the text it asks for if it names one ("a one-page brief on X"). */
function deliverable(goal: string): { subject: string; text?: string } {
  const found = DELIVERABLE.exec(short(goal));
  if (found?.[1] === undefined || found[2] === undefined) return { subject: short(goal) };
  return { subject: found[2], text: inSentence(found[1]) };
}

function pieceFor(role: Role | undefined, wanted: { subject: string; text?: string }): string {
  if (role === 'researcher')
    return `Research the key facts about: ${wanted.subject}. Answer in two or three sentences.`;
  if (role === 'writer') return `Write ${wanted.text ?? `a short article about: ${wanted.subject}`}.`;
  if (role === 'reviewer') return `Review a plan for: ${wanted.subject}.`;
  return `Help with this part of the goal: ${wanted.subject}.`;
}

/** The `delegate` tool the request offers, as far as the planner reads it. */
interface DelegateToolView {
  readonly description?: unknown;
  readonly input_schema?: { properties?: { agent?: { enum?: unknown } } };
}

function delegateTool(body: MessagesBody): DelegateToolView | undefined {
  return (body.tools ?? []).find((t) => (t as { name?: unknown }).name === 'delegate') as
    | DelegateToolView
    | undefined;
}

/**
 * What an agent the planner may delegate to does: read, as a model would, from its line in the
 * `delegate` tool's description (`- scout: The team's researcher: …`), else from its name.
 */
function roleOfPeer(body: MessagesBody, agent: string): Role | undefined {
  const description = delegateTool(body)?.description;
  const line = (typeof description === 'string' ? description : '')
    .split('\n')
    .find((l) => l.startsWith(`- ${agent}: `));
  return (line === undefined ? undefined : roleOf(line.slice(agent.length + 4))) ?? roleOf(agent);
}

/** The agents the `delegate` tool allows (its input schema's enum), in order. */
function delegateAgents(body: MessagesBody): string[] {
  const names = delegateTool(body)?.input_schema?.properties?.agent?.enum;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
}

interface ToolResult {
  agent: string;
  content: string;
  isError: boolean;
}

/** This task's tool results, each with the agent its `delegate` call named. */
function toolResults(turn: readonly Message[]): ToolResult[] {
  const agentOf = new Map<string, string>();
  const out: ToolResult[] = [];
  for (const message of turn) {
    if (!Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (block.type === 'tool_use' && typeof block.id === 'string') {
        const input = block.input as { agent?: unknown } | undefined;
        agentOf.set(block.id, typeof input?.agent === 'string' ? input.agent : String(block.name));
      }
      if (block.type === 'tool_result' && typeof block.tool_use_id === 'string') {
        const content = block.content;
        out.push({
          agent: agentOf.get(block.tool_use_id) ?? 'a helper',
          content: (typeof content === 'string'
            ? content
            : Array.isArray(content)
              ? textOfContent(content as { text?: unknown }[])
              : JSON.stringify(content ?? '')
          ).trim(),
          isError: block.is_error === true,
        });
      }
    }
  }
  return out;
}

// --- the rest ----------------------------------------------------------------------------

function summarize(transcript: string): string {
  const lines = transcript
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.length > 200 ? `${l.slice(0, 197)}...` : l));
  return `Summary of the earlier conversation:\n${lines.join('\n').slice(0, 2_400)}`;
}

function generic(task: string): string {
  return `This is the built-in offline model, a stand-in for Claude: it can analyze datasets, list subtopics, research, write, review and plan with the delegate tool, but not answer this request in full. The request was: "${short(task, 200)}". Set ANTHROPIC_API_KEY to run on Claude.`;
}

function systemText(body: MessagesBody): string {
  const { system } = body;
  if (system === undefined) return '';
  return typeof system === 'string' ? system : system.map((b) => b.text).join('\n');
}

function toolNames(body: MessagesBody): Set<unknown> {
  return new Set((body.tools ?? []).map((t) => (t as { name?: unknown }).name));
}

function isToolResults(message: Message): boolean {
  return Array.isArray(message.content) && message.content.some((b) => b.type === 'tool_result');
}

/** The value of a "Label: value" line. */
function labelled(text: string, label: string): string | undefined {
  return new RegExp(`^\\s*${label}:\\s*(.+)$`, 'im').exec(text)?.[1]?.trim() || undefined;
}

/** The first JSON array of strings in the text (a workflow's fan-in arrives as one). */
function stringArrayIn(text: string): string[] | undefined {
  const end = text.lastIndexOf(']');
  for (let at = text.indexOf('['); at >= 0 && at < end; at = text.indexOf('[', at + 1)) {
    try {
      const value: unknown = JSON.parse(text.slice(at, end + 1));
      if (Array.isArray(value) && value.length > 0)
        return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    } catch {
      // not this bracket; try the next one
    }
  }
  return undefined;
}

const capitalized = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
/** Mid-sentence form: a leading article is lower-cased (a name such as "Rust" is left alone). */
const inSentence = (text: string) => text.replace(/^(The|A|An)\b/, (w) => w.toLowerCase());

const firstLine = (text: string) =>
  text
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? '';

function firstSentence(text: string): string {
  const one = (/^[\s\S]*?[.!?](?=\s|$)/.exec(text.trim())?.[0] ?? text.trim()).replace(/\s+/g, ' ');
  return one.length > 300 ? `${one.slice(0, 297)}...` : one;
}

/** One line, trimmed of quotes and end punctuation, at most `max` characters. */
function short(text: string, max = 120): string {
  const line = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“]+|["'”.:;!?]+$/g, '');
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

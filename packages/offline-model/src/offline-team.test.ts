import { readFileSync } from 'node:fs';
import { ConfigSchema } from '@spool/core';
import { describe, expect, it } from 'vitest';
import type { MessagesBody, Reply } from './messages-protocol.ts';
import { analystResponder } from './offline-analyst.ts';
import { teamResponder } from './offline-team.ts';

/** A request as the runtime sends it: instructions as a cached system block, then the conversation. */
function request(
  instructions: string,
  messages: MessagesBody['messages'],
  tools: unknown[] = [],
): MessagesBody {
  return {
    model: 'claude-sonnet-4-6',
    system: [{ type: 'text', text: instructions, cache_control: { type: 'ephemeral' } }],
    messages,
    ...(tools.length > 0 ? { tools } : {}),
  };
}
const ask = (instructions: string, task: string, tools: unknown[] = []) =>
  request(instructions, [{ role: 'user', content: task }], tools);
const text = (reply: Reply | string) => (typeof reply === 'string' ? reply : (reply.text ?? ''));

const delegateTool = {
  name: 'delegate',
  description: 'Hand a task to another agent.',
  input_schema: {
    type: 'object',
    properties: { agent: { type: 'string', enum: ['researcher', 'writer'] }, task: { type: 'string' } },
    required: ['agent', 'task'],
  },
};

/** The research example as its agents would see it: each step's input rendered by hand. */
const research = JSON.parse(
  readFileSync(new URL('../../../examples/research/spool.config.json', import.meta.url), 'utf8'),
) as {
  agents: Record<string, { instructions: string }>;
  workflows: { research: { steps: Record<string, { input: string }> } };
};
const steps = research.workflows.research.steps;
const instructionsOf = (agent: string) => research.agents[agent]?.instructions ?? '';
const render = (template: string | undefined, values: Record<string, string>) =>
  (template ?? '').replace(/\{\{([\w.]+)\}\}/g, (_, key: string) => values[key] ?? '');

describe('the offline team model', () => {
  it('runs the research workflow: outline → one finding per subtopic → article quoting them → verdict', () => {
    const input = 'solar power in cities';
    const outline = text(
      teamResponder(ask(instructionsOf('researcher'), render(steps.outline?.input, { input }))),
    );
    const subtopics = JSON.parse(outline) as unknown;
    expect(subtopics).toEqual([
      'solar power in cities — origins and background',
      'solar power in cities — how it works',
      'solar power in cities — open questions and what comes next',
    ]);

    const notes = (subtopics as string[]).map((item, index) =>
      text(
        teamResponder(
          ask(instructionsOf('researcher'), render(steps.dig?.input, { input, item, index: String(index) })),
        ),
      ),
    );
    for (const [i, note] of notes.entries()) {
      expect(note).toContain((subtopics as string[])[i]);
      expect(note.split('. ').length).toBeGreaterThanOrEqual(2);
      expect(note).not.toMatch(/^\[/);
    }

    const draft = text(
      teamResponder(
        ask(
          instructionsOf('writer'),
          render(steps.draft?.input, { input, 'steps.dig.output': JSON.stringify(notes) }),
        ),
      ),
    );
    expect(draft).toMatch(/^# Solar power in cities/);
    for (const note of notes) expect(draft).toContain(`"${note.slice(0, note.indexOf('.') + 1)}"`);

    const verdict = text(
      teamResponder(
        ask(instructionsOf('reviewer'), render(steps.review?.input, { input, 'steps.draft.output': draft })),
      ),
    );
    expect(verdict).toMatch(/Verdict: approve\.$/);
    expect(verdict).toContain('quotes its sources 3 times');
  });

  it('lists as many subtopics as asked, and says revise to a draft too short to stand alone', () => {
    const four = teamResponder(
      ask('You are a researcher.', 'List 4 subtopics of rust. Answer with a JSON array of strings.'),
    );
    expect(JSON.parse(text(four))).toHaveLength(4);
    const verdict = text(teamResponder(ask('You are the reviewer.', 'Review:\n\nDraft:\nToo short.')));
    expect(verdict).toMatch(/Verdict: revise\.$/);
  });

  it('plays the role the instructions name, even when they mention other roles', () => {
    const writer = text(
      teamResponder(
        ask("You are the writer. Use the researcher's notes.", 'Write a short article about tides'),
      ),
    );
    expect(writer).toMatch(/^# Tides\n/);
    const researcher = text(
      teamResponder(ask('You are the researcher; the writer uses your notes.', 'Research tides')),
    );
    expect(researcher).toMatch(/^Findings on tides/);
  });

  it('as a planner, delegates to each allowed agent in one reply, then combines their results', () => {
    const goal = 'A one-page brief on heat pumps';
    const first = teamResponder(ask('You are the planner.', goal, [delegateTool]));
    expect(typeof first).toBe('object');
    const blocks = (first as Reply).content ?? [];
    const calls = blocks.filter((b) => b.type === 'tool_use');
    expect(calls).toEqual([
      {
        type: 'tool_use',
        id: 'toolu_offline_d1',
        name: 'delegate',
        input: {
          agent: 'researcher',
          task: 'Research the key facts about: heat pumps. Answer in two or three sentences.',
        },
      },
      {
        type: 'tool_use',
        id: 'toolu_offline_d2',
        name: 'delegate',
        input: { agent: 'writer', task: 'Write a one-page brief on heat pumps.' },
      },
    ]);

    const research = text(
      teamResponder(
        ask('You are the researcher.', (calls[0]?.input as { task: string } | undefined)?.task ?? ''),
      ),
    );
    expect(research).toMatch(/^Findings on heat pumps: /);
    const brief = text(
      teamResponder(
        ask('You are the writer.', (calls[1]?.input as { task: string } | undefined)?.task ?? ''),
      ),
    );
    expect(brief).toMatch(/^# Heat pumps\n/);
    // A goal that names no text to write: the writer gets an article on the goal itself.
    const plain = teamResponder(ask('You are the planner.', 'Tidal power', [delegateTool])) as Reply;
    expect(plain.content?.at(-1)).toMatchObject({
      input: { agent: 'writer', task: 'Write a short article about: Tidal power.' },
    });

    const final = teamResponder(
      request(
        'You are the planner.',
        [
          { role: 'user', content: goal },
          { role: 'assistant', content: blocks as { type: string }[] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_offline_d1', content: 'Heat pumps move heat.' },
              {
                type: 'tool_result',
                tool_use_id: 'toolu_offline_d2',
                content: 'delegation refused: writer is busy',
                is_error: true,
              },
            ],
          },
        ],
        [delegateTool],
      ),
    );
    expect(final).toBe(
      `Here is the combined result for: ${goal}\n\nFrom researcher:\nHeat pumps move heat.\n\nwriter could not help: delegation refused: writer is busy`,
    );
  });

  it("as a planner, reads each worker's role from the delegate tool's description, not only from its name", () => {
    const peers = {
      ...delegateTool,
      description: [
        'Hands a sub-task to another agent. The agents:',
        "- scout: The team's researcher: finds the facts.",
        "- scribe: The team's writer: turns notes into text.",
      ].join('\n'),
      input_schema: {
        ...delegateTool.input_schema,
        properties: { agent: { type: 'string', enum: ['scout', 'scribe'] }, task: { type: 'string' } },
      },
    };
    const reply = teamResponder(ask('You are the planner.', 'A short memo on tides', [peers])) as Reply;
    expect((reply.content ?? []).filter((b) => b.type === 'tool_use').map((b) => b.input)).toEqual([
      { agent: 'scout', task: 'Research the key facts about: tides. Answer in two or three sentences.' },
      { agent: 'scribe', task: 'Write a short memo on tides.' },
    ]);
  });

  it('answers the task, not the memory carried before it', () => {
    const body = request('You are the researcher.', [
      { role: 'user', content: 'Research volcanoes' },
      { role: 'assistant', content: 'Findings on volcanoes: ...' },
      { role: 'user', content: 'Research glaciers' },
    ]);
    expect(text(teamResponder(body))).toMatch(/^Findings on glaciers/);
    expect(teamResponder(body)).toEqual(teamResponder(body));
  });

  it('keeps the data analyst exactly as it was', () => {
    const analyst = ask(
      'You are a careful data analyst.',
      'Analyze this dataset: [1,2,3,4,5]. Calculate the mean.',
    );
    expect(teamResponder(analyst)).toEqual(analystResponder(analyst));
    const withTools = ask('Be useful.', 'Mean of [2, 4]?', [
      { name: 'mean' },
      { name: 'standard_deviation' },
    ]);
    expect(teamResponder(withTools)).toEqual(analystResponder(withTools));
    const anyName = ask('Help.', 'Analyze this dataset: [2,4]. Calculate the mean.');
    expect(text(teamResponder(anyName))).toContain('mean is 3');
  });

  it('summarizes for memory compaction, and says what it cannot do for an unknown role', () => {
    const summary = text(
      teamResponder(
        ask(
          "You compress an agent's earlier conversation into a summary it will read instead of the conversation.",
          'User: Research tides\nAssistant: Findings on tides: the moon.',
        ),
      ),
    );
    expect(summary).toContain('Assistant: Findings on tides: the moon.');
    const unknown = text(teamResponder(ask('You translate menus.', 'Translate "soupe du jour"')));
    expect(unknown).toContain('offline model');
    expect(unknown).toContain('Translate "soupe du jour"');
  });

  it("plays every worker of the examples' configs, which are valid configs", () => {
    for (const example of ['research', 'planner']) {
      const raw: unknown = JSON.parse(
        readFileSync(new URL(`../../../examples/${example}/spool.config.json`, import.meta.url), 'utf8'),
      );
      const config = ConfigSchema.parse(raw);
      for (const [name, spec] of Object.entries(config.agents)) {
        if (spec.delegation !== undefined) continue; // the planner: see above, it needs its tool
        const reply = text(teamResponder(ask(spec.instructions, 'Research tides')));
        expect(reply, `${example}/${name}`).not.toContain('offline model');
      }
    }
  });
});

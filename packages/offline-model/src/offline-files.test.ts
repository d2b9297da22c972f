import { describe, expect, it } from 'vitest';
import type { MessagesBody } from './messages-protocol.ts';
import { teamResponder } from './offline-team.ts';

const tools = [{ name: 'mcp__files__list_directory', input_schema: { type: 'object' } }];
const ask = { role: 'user', content: 'Which files are here?' } as const;

describe('offline-files - the offline model answers about files with an MCP filesystem server', () => {
  it('lists the directory with the server tool, then answers from the listing', () => {
    const first = teamResponder({ tools, messages: [ask] } as MessagesBody);
    expect(first).toMatchObject({
      content: [
        { type: 'text' },
        { type: 'tool_use', name: 'mcp__files__list_directory', input: { path: '.' } },
      ],
    });
    const second = teamResponder({
      tools,
      messages: [
        ask,
        { role: 'assistant', content: (first as { content: unknown[] }).content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_offline_ls', content: '[FILE] a.csv\n[DIR] docs' },
          ],
        },
      ],
    } as MessagesBody);
    expect(second).toBe('The directory holds 1 file(s): a.csv, and 1 folder(s): docs.');
  });

  it('without the tool, or for another question, answers as before', () => {
    expect(teamResponder({ messages: [ask] } as MessagesBody)).toEqual(expect.any(String));
    expect(teamResponder({ tools, messages: [{ role: 'user', content: 'Hello' }] } as MessagesBody)).toEqual(
      expect.any(String),
    );
  });
});

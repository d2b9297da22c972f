import { type MessagesBody, type Reply, textOfContent } from './messages-protocol.ts';

type Message = NonNullable<MessagesBody['messages']>[number];

/** An MCP filesystem server's listing tool, as an agent offers it (`mcp__<server>__list_directory`). */
const LIST_DIRECTORY = /^mcp__[a-zA-Z0-9-]+__list_directory$/;

/** The listing tool offered in this request, if any: the offline model can then answer about files. */
export function listingTool(body: MessagesBody): string | undefined {
  return (body.tools ?? [])
    .map((t) => (t as { name?: unknown }).name)
    .find((name): name is string => typeof name === 'string' && LIST_DIRECTORY.test(name));
}

/**
 * The offline model as a files clerk, for agents with an MCP filesystem server: it lists the
 * directory with the server's tool, then answers from the listing, as Claude would.
 */
export function filesClerk(tool: string, turn: readonly Message[]): Reply | string {
  const result = turn
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .find((b) => b.type === 'tool_result');
  if (result === undefined)
    return {
      content: [
        { type: 'text', text: 'I will list the directory with the filesystem tool.' },
        { type: 'tool_use', id: 'toolu_offline_ls', name: tool, input: { path: '.' } },
      ],
    };
  const listing = textOfContent(result.content as Parameters<typeof textOfContent>[0]);
  if (result.is_error === true) return `I could not list the directory: ${listing}`;
  const files = [...listing.matchAll(/^\[FILE\] (.+)$/gm)].map((m) => m[1]);
  const dirs = [...listing.matchAll(/^\[DIR\] (.+)$/gm)].map((m) => m[1]);
  return `The directory holds ${files.length} file(s)${files.length > 0 ? `: ${files.join(', ')}` : ''}${dirs.length > 0 ? `, and ${dirs.length} folder(s): ${dirs.join(', ')}` : ''}.`;
}

import type { MessagesBody, Reply } from './messages-protocol.ts';
import { toolThenAnswer } from './tool-then-answer.ts';

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
  const intro = 'I will list the directory with the filesystem tool.';
  const call = { intro, id: 'toolu_offline_ls', tool, input: { path: '.' } };
  return toolThenAnswer(turn, call, ({ text: listing, isError }) =>
    isError ? `I could not list the directory: ${listing}` : describeListing(listing),
  );
}

function describeListing(listing: string): string {
  const files = [...listing.matchAll(/^\[FILE\] (.+)$/gm)].map((m) => m[1]);
  const dirs = [...listing.matchAll(/^\[DIR\] (.+)$/gm)].map((m) => m[1]);
  return `The directory holds ${files.length} file(s)${files.length > 0 ? `: ${files.join(', ')}` : ''}${dirs.length > 0 ? `, and ${dirs.length} folder(s): ${dirs.join(', ')}` : ''}.`;
}

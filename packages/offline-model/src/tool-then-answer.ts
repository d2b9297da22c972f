import { type MessagesBody, type Reply, textOfContent } from './messages-protocol.ts';

type Message = NonNullable<MessagesBody['messages']>[number];

/** The first tool result of this turn: its text and whether the tool failed. */
export interface TurnToolResult {
  readonly text: string;
  readonly isError: boolean;
}

/**
 * A one-tool responder's turn: without a tool result yet, call `call.tool` (saying `call.intro`);
 * with one, answer from it. What the offline stand-ins do, as Claude would.
 */
export function toolThenAnswer(
  turn: readonly Message[],
  call: { readonly intro: string; readonly id: string; readonly tool: string; readonly input: unknown },
  answer: (result: TurnToolResult) => string,
): Reply | string {
  const result = turn
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .find((b) => b.type === 'tool_result');
  if (result === undefined)
    return {
      content: [
        { type: 'text', text: call.intro },
        { type: 'tool_use', id: call.id, name: call.tool, input: call.input },
      ],
    };
  return answer({
    text: textOfContent(result.content as Parameters<typeof textOfContent>[0]),
    isError: result.is_error === true,
  });
}

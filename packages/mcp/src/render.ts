/** A tool result's content, as the MCP SDK returns it (loosely typed: servers vary). */
export interface CallToolResultLike {
  readonly content?: readonly unknown[] | undefined;
  readonly structuredContent?: unknown;
  readonly isError?: boolean | undefined;
}

/**
 * Renders a result's content blocks as the text of one `tool_result` (the journal holds a
 * tool's outcome as text). Text is kept as is; structured content is added as JSON when no
 * text block already carries it; images, audio and binary resources are named, not inlined.
 */
export function renderResult(result: CallToolResultLike): string {
  const parts: string[] = [];
  for (const block of result.content ?? []) parts.push(renderBlock(block));
  if (result.structuredContent !== undefined) {
    const json = JSON.stringify(result.structuredContent);
    if (!parts.some((part) => part.trim() === json || safeJson(part) === json)) parts.push(json);
  }
  return parts.join('\n');
}

function renderBlock(block: unknown): string {
  const b = (block ?? {}) as Record<string, unknown>;
  switch (b.type) {
    case 'text':
      return String(b.text ?? '');
    case 'image':
    case 'audio':
      return `[${b.type} ${String(b.mimeType ?? '')}, ${base64Bytes(b.data)} bytes, not shown]`;
    case 'resource': {
      const resource = (b.resource ?? {}) as Record<string, unknown>;
      if (typeof resource.text === 'string') return resource.text;
      return `[resource ${String(resource.uri ?? '')} (${String(resource.mimeType ?? 'binary')}), not shown]`;
    }
    case 'resource_link':
      return `[resource link: ${String(b.name ?? '')} ${String(b.uri ?? '')}]`;
    default:
      return JSON.stringify(block);
  }
}

function base64Bytes(data: unknown): number {
  return typeof data === 'string' ? Math.floor((data.length * 3) / 4) : 0;
}

/** The canonical JSON of a text part that is JSON (pretty-printed or not). */
function safeJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

import type { McpImage } from './types.ts';

/** A tool result's content, as the MCP SDK returns it (loosely typed: servers vary). */
export interface CallToolResultLike {
  readonly content?: readonly unknown[] | undefined;
  readonly structuredContent?: unknown;
  readonly isError?: boolean | undefined;
}

/** The image types the Messages API takes in a tool result; others are named, not inlined. */
const MODEL_IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
]);

/**
 * The most base64 image data one result carries to the model. Images are journaled with the
 * result, and a history commit must fit the server's max_payload (1 MiB by default).
 */
export const MAX_IMAGE_CHARS = 512 * 1024;

/**
 * Renders a result's content blocks as one `tool_result`: text blocks as they are; structured
 * content as JSON when no text block already carries it; images of a type the model reads
 * (png, jpeg, gif, webp) as images, up to MAX_IMAGE_CHARS of base64 in all; other images, audio
 * and binary resources are named in the text, not inlined.
 */
export function renderResult(result: CallToolResultLike): RenderedResult {
  const parts: string[] = [];
  const images: McpImage[] = [];
  let imageChars = 0;
  for (const block of result.content ?? []) {
    const image = modelImage(block);
    if (image !== undefined && imageChars + image.data.length <= MAX_IMAGE_CHARS) {
      images.push(image);
      imageChars += image.data.length;
    } else parts.push(renderBlock(block, image === undefined ? '' : ' (too large to journal)'));
  }
  if (result.structuredContent !== undefined) {
    const json = JSON.stringify(result.structuredContent);
    if (!parts.some((part) => part.trim() === json || safeJson(part) === json)) parts.push(json);
  }
  return { content: parts.join('\n'), images };
}

export interface RenderedResult {
  readonly content: string;
  readonly images: McpImage[];
}

function modelImage(block: unknown): McpImage | undefined {
  const b = (block ?? {}) as Record<string, unknown>;
  if (b.type !== 'image' || typeof b.data !== 'string' || b.data === '') return undefined;
  const mediaType = String(b.mimeType ?? '');
  return MODEL_IMAGE_TYPES.has(mediaType)
    ? { mediaType: mediaType as McpImage['mediaType'], data: b.data }
    : undefined;
}

function renderBlock(block: unknown, why: string): string {
  const b = (block ?? {}) as Record<string, unknown>;
  switch (b.type) {
    case 'text':
      return String(b.text ?? '');
    case 'image':
    case 'audio':
      return `[${b.type} ${String(b.mimeType ?? '')}, ${base64Bytes(b.data)} bytes, not shown${why}]`;
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

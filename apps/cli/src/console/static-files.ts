import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** A file the console serves as is: its bytes, gzipped once, and its type. */
export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
  readonly gzipped: Buffer;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** The page and its scripts (apps/cli/console-web), beside src/ and dist/ alike. */
const WEB = new URL('../../console-web/', import.meta.url);

/**
 * What the browser loads: the page, its script and style, and Preact, its hooks and htm from
 * their npm packages (ES modules named in the page's import map). No build step: the
 * modules are served as they are.
 */
const FILES: Record<string, () => string> = {
  '/': () => fileURLToPath(new URL('index.html', WEB)),
  '/app.js': () => fileURLToPath(new URL('app.js', WEB)),
  '/graph.js': () => fileURLToPath(new URL('graph.js', WEB)),
  '/style.css': () => fileURLToPath(new URL('style.css', WEB)),
  '/vendor/preact.mjs': () => fileURLToPath(import.meta.resolve('preact')),
  '/vendor/hooks.mjs': () => fileURLToPath(import.meta.resolve('preact/hooks')),
  '/vendor/htm.mjs': () => fileURLToPath(import.meta.resolve('htm')),
};

/**
 * The CSP `script-src` hash sources of a page's inline scripts (its import map: Chromium takes
 * no external import map), so the policy allows exactly them and no other inline script.
 */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '', 'utf8')
        .digest('base64')}'`,
  );
}

/** The console's Content-Security-Policy: its own files only, and its page's inline import map by hash. */
export function contentSecurityPolicy(page: StaticFile): string {
  const scripts = ["'self'", ...inlineScriptHashes(page.body.toString('utf8'))].join(' ');
  return `default-src 'self'; script-src ${scripts}; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

export async function loadStaticFiles(): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const [path, locate] of Object.entries(FILES)) {
    const file = locate();
    const body = await readFile(file);
    const type = TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    files.set(path, { type, body, gzipped: gzipSync(body, { level: 9 }) });
  }
  return files;
}

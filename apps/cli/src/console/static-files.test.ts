import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  inlineScriptHashes,
  loadStaticFiles,
  type StaticFile,
} from './static-files.ts';

const sha = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe("the console page's Content-Security-Policy", () => {
  it('hashes inline scripts exactly as written, and leaves scripts loaded by src out', () => {
    const map = '\n      { "imports": { "preact": "/vendor/preact.mjs" } }\n    ';
    const html = `<head><script type="importmap">${map}</script><script type="module" src="/app.js"></script></head>`;
    expect(inlineScriptHashes(html)).toEqual([sha(map)]);
    expect(inlineScriptHashes('<p>no script</p>')).toEqual([]);
  });

  it("allows the page's own import map by its hash, and no other inline script", async () => {
    const page = (await loadStaticFiles()).get('/') as StaticFile;
    const html = page.body.toString('utf8');
    const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] as string;
    expect(map).toContain('/vendor/preact.mjs');
    const csp = contentSecurityPolicy(page);
    expect(csp).toContain(`script-src 'self' ${sha(map)};`);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

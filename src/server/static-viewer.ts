/**
 * The browser viewer's static files (built by scripts/build-viewer.mjs into dist/viewer/),
 * read once at start and served from memory: a handful of small files, no directory walking,
 * so no path traversal is possible.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** Where the built viewer lives: next to the compiled server (dist/viewer), or dist/ when running from src/. */
export function defaultViewerDir(): string | undefined {
  const candidates = [new URL('../viewer/', import.meta.url), new URL('../../dist/viewer/', import.meta.url)];
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/** Files by URL path: `/` is index.html, the rest under `/assets/`. */
export function loadViewer(dir: string | undefined): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!dir || !existsSync(join(dir, 'index.html'))) return files;
  for (const name of readdirSync(dir)) {
    const contentType = TYPES[extname(name)];
    if (!contentType) continue;
    const file = { body: readFileSync(join(dir, name)), contentType };
    files.set(name === 'index.html' ? '/' : `/assets/${name}`, file);
  }
  return files;
}

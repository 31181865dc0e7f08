#!/usr/bin/env node
/**
 * Builds the browser viewer (src/viewer/web) into dist/viewer: one bundled app.js (esbuild),
 * plus the static index.html, style.css and favicon.svg. No CDN, everything works offline.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/viewer/web');
const STATIC_FILES = ['index.html', 'style.css', 'favicon.svg'];

export async function buildViewer(outDir = join(root, 'dist/viewer')) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(source, 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of STATIC_FILES) copyFileSync(join(source, file), join(outDir, file));
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = await buildViewer(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`viewer built into ${out}\n`);
}

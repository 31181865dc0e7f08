import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { renderFindingCodes } from '../../src/oauth/finding-codes.js';
import { FINDING_CODES } from '../../src/oauth/catalogue.js';

describe('docs/finding-codes.md', () => {
  it('is exactly what the catalogue generates (regenerate: node scripts/finding-codes.mjs > docs/finding-codes.md)', () => {
    const doc = readFileSync(new URL('../../docs/finding-codes.md', import.meta.url), 'utf8');
    expect(doc).toBe(renderFindingCodes());
    for (const code of FINDING_CODES) expect(doc).toContain(`| \`${code}\` |`);
  });

  const REF = '/work/shared/reference/oauth-rules.md';
  it.skipIf(!existsSync(REF))('every code of the reference index is in the catalogue, and nothing else', () => {
    const ref = readFileSync(REF, 'utf8');
    const index = ref.slice(ref.indexOf('### 1.0 Index'), ref.indexOf('### 1.1 '));
    const codes = [...index.matchAll(/^\| R\d\d \| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(codes).toHaveLength(70);
    expect([...FINDING_CODES].sort()).toEqual([...codes, 'grant_type.params_mismatch'].sort());
  });
});

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFindingCodes } from '../../src/oauth/finding-codes.js';
import { FINDING_CODES } from '../../src/oauth/catalogue.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the README list of finding codes', () => {
  it('is exactly what the catalogue generates (regenerate: npm run finding-codes)', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(renderFindingCodes());
    for (const code of FINDING_CODES) expect(readme).toContain(`| \`${code}\` |`);
  });

  // The research catalogue sits beside the repository (../shared) on developer machines and in CI.
  const REF = [path.join(ROOT, '../shared/reference/oauth-rules.md'), '/work/shared/reference/oauth-rules.md'].find(existsSync);
  it.skipIf(!REF)('every code of the reference index is in the catalogue, and nothing else', () => {
    const ref = readFileSync(REF!, 'utf8');
    const index = ref.slice(ref.indexOf('### 1.0 Index'), ref.indexOf('### 1.1 '));
    const codes = [...index.matchAll(/^\| R\d\d \| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(codes).toHaveLength(70);
    expect([...FINDING_CODES].sort()).toEqual([...codes, 'grant_type.params_mismatch'].sort());
  });
});

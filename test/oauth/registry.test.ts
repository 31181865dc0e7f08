import { describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/oauth/rules/index.js';
import { CATALOGUE, FINDING_CODES, isFindingCode } from '../../src/oauth/catalogue.js';

describe('rule registry', () => {
  it('the catalogue has the 70 rules of oauth-rules.md plus grant_type.params_mismatch', () => {
    expect(FINDING_CODES).toHaveLength(71);
    const numbers = FINDING_CODES.map((c) => CATALOGUE[c].rule).filter((r) => r.startsWith('R'));
    expect(new Set(numbers).size).toBe(70);
    expect(isFindingCode('grant_type.params_mismatch')).toBe(true);
  });

  it('every rule code is in the catalogue, once, with the catalogue family', () => {
    const seen = new Set<string>();
    for (const rule of ALL_RULES) {
      expect(isFindingCode(rule.code), `${rule.code} not in catalogue`).toBe(true);
      expect(seen.has(rule.code), `${rule.code} registered twice`).toBe(false);
      seen.add(rule.code);
      expect(rule.family).toBe(CATALOGUE[rule.code].family);
    }
  });
});

/** Shared assertions for rule tests: a finding's text and evidence never carry a raw secret. */
import { expect } from 'vitest';
import type { Finding } from '../../../src/model.js';

/** Asserts none of `secrets` (nor their percent-encoded or base64 forms) appears in title, detail, fix or evidence. */
export function expectNoSecret(findings: readonly Finding[], secrets: readonly string[]): void {
  const text = JSON.stringify(findings.map((f) => ({ t: f.title, d: f.detail, f: f.fix, e: f.evidence })));
  for (const s of secrets) {
    for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]) {
      expect(text.includes(form), `secret leaked into a finding: ${form.slice(0, 4)}…`).toBe(false);
    }
  }
}

/** The one finding with `code` on an exchange's final findings, failing clearly when absent. */
export function findingOf(findings: readonly Finding[], code: string): Finding {
  const f = findings.find((x) => x.code === code);
  expect(f, `expected ${code} among [${findings.map((x) => x.code).join(', ')}]`).toBeDefined();
  return f as Finding;
}

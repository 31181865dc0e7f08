/**
 * Assertions shared by the redirect_uri, client-auth and state rule tests: run the real engine, and
 * check that no finding carries one of the file's secrets and that no rule of these families threw.
 */
import { expect } from 'vitest';
import type { Finding } from '../../src/model.js';
import { runRules } from './exchanges.js';

export interface RuleHarness {
  /** Fails when any of the secrets (or `extra`), raw, percent-encoded or base64, appears in the findings. */
  expectNoSecret(findings: readonly Finding[], extra?: readonly string[]): void;
  /** `runRules`, then `expectNoSecret` on every finding and no contained rule error of these families. */
  run(...args: Parameters<typeof runRules>): ReturnType<typeof runRules>;
}

export function ruleHarness(secrets: readonly string[]): RuleHarness {
  const expectNoSecret = (findings: readonly Finding[], extra: readonly string[] = []): void => {
    const text = JSON.stringify(findings);
    for (const s of [...secrets, ...extra]) {
      for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString('base64')]) expect(text).not.toContain(form);
    }
  };
  const run = (...args: Parameters<typeof runRules>): ReturnType<typeof runRules> => {
    const r = runRules(...args);
    expectNoSecret(r.findings.flat());
    // No rule of this family may throw (the runner would contain it and log OAL_ERR_RULE).
    expect(r.warnings.filter((w) => /^(redirect_uri|client|state)/.test(String((w.obj as { rule?: unknown }).rule)))).toEqual([]);
    return r;
  };
  return { expectNoSecret, run };
}

/** The single finding with `code`; fails, listing what was found, when there is none or more than one. */
export function one(findings: readonly Finding[], code: string): Finding {
  const hits = findings.filter((f) => f.code === code);
  expect(hits, `${code} in [${findings.map((f) => f.code).join(', ')}]`).toHaveLength(1);
  return hits[0] as Finding;
}

/** Assertions shared by the framing, responses, refresh, transport and secrets rule tests. */
import { expect } from 'vitest';
import type { Finding } from '../../../src/model.js';
import type { RunResult } from '../../support/exchanges.js';

/** The one finding with `code` on exchange `which`; fails the test when absent or duplicated. */
export function only(r: RunResult, which: number, code: string): Finding {
  const found = r.of(which).filter((f) => f.code === code);
  expect(found.map((f) => f.code), `findings on #${which}: ${r.codes[which]?.join(', ')}`).toEqual([code]);
  return found[0]!;
}

export function none(r: RunResult, which: number, code: string): void {
  expect(r.codes[which] ?? [], `unexpected ${code} on #${which}`).not.toContain(code);
}

function encodings(secret: string): string[] {
  return [...new Set([
    secret, encodeURIComponent(secret), new URLSearchParams({ v: secret }).toString().slice(2),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('base64url'),
  ])];
}

/** No secret, in any common encoding, in any finding of the run (title, detail, fix, evidence). */
export function expectNoSecrets(r: RunResult, secrets: string[]): void {
  const text = JSON.stringify(r.findings);
  for (const s of secrets) for (const e of encodings(s)) expect(text.includes(e), `secret leaked into findings (${e.slice(0, 4)}…)`).toBe(false);
  const stored = JSON.stringify(r.exchanges);
  for (const s of secrets) expect(stored.includes(s), 'secret leaked into the stored exchange').toBe(false);
}

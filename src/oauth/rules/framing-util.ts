/** Parameter-set checks for request.param_hygiene (R39): repeats, query/body overlap, empty values, near-miss names. */
import type { Param, ParamValue } from '../types.js';

/** Parameter names of RFC 6749, 7636, 7009, 7662, 8628, 8693, 9126 and OIDC Core that clients send. */
const CANONICAL = [
  'grant_type', 'client_id', 'client_secret', 'redirect_uri', 'response_type', 'response_mode', 'code', 'code_verifier',
  'code_challenge', 'code_challenge_method', 'refresh_token', 'scope', 'state', 'nonce', 'prompt', 'client_assertion',
  'client_assertion_type', 'device_code', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type',
  'requested_token_type', 'token_type_hint', 'id_token_hint', 'login_hint', 'max_age', 'ui_locales', 'acr_values',
  'access_type', 'include_granted_scopes', 'request_uri', 'audience', 'resource', 'assertion', 'password', 'username',
];
const CANONICAL_SET = new Set(CANONICAL);
const normal = (name: string) => name.toLowerCase().replace(/[-_\s]/g, '');
const BY_NORMAL = new Map(CANONICAL.map((c) => [normal(c), c]));

function key(value: ParamValue): string {
  return typeof value === 'string' ? `s:${value}` : `f:${value.fp}`;
}

export function paramDuplicates(params: readonly Param[]): Array<{ name: string; count: number; differ: boolean }> {
  const groups = new Map<string, ParamValue[]>();
  for (const p of params) groups.set(p.name, [...(groups.get(p.name) ?? []), p.value]);
  const out: Array<{ name: string; count: number; differ: boolean }> = [];
  for (const [name, values] of groups) {
    if (values.length > 1) out.push({ name, count: values.length, differ: new Set(values.map(key)).size > 1 });
  }
  return out;
}

export function queryBodyOverlap(query: readonly Param[], body: readonly Param[]): Array<{ name: string; differ: boolean }> {
  const out: Array<{ name: string; differ: boolean }> = [];
  const seen = new Set<string>();
  for (const q of query) {
    if (seen.has(q.name)) continue;
    const inBody = body.filter((b) => b.name === q.name);
    if (!inBody.length) continue;
    seen.add(q.name);
    out.push({ name: q.name, differ: inBody.some((b) => key(b.value) !== key(q.value)) });
  }
  return out;
}

export function emptyParams(params: readonly Param[]): string[] {
  const out = new Set<string>();
  for (const p of params) {
    const empty = typeof p.value === 'string' ? p.value === '' : p.value.length === 0;
    if (empty) out.add(p.name);
  }
  return [...out];
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 3;
}

/**
 * The canonical name `name` misspells (`redirect_url`, `redirectUri`, `client-id`, `code_challange`), unless the
 * canonical name is also present or `name` is itself a known parameter. Unknown extension parameters are allowed
 * (RFC 6749 §3.1), so only close spellings of canonical names count.
 */
export function nearMissName(name: string, present: ReadonlySet<string>): string | undefined {
  if (CANONICAL_SET.has(name)) return undefined;
  const byNormal = BY_NORMAL.get(normal(name));
  if (byNormal && !present.has(byNormal)) return byNormal;
  if (byNormal) return undefined;
  const n = name.toLowerCase();
  if (n.length < 8) return undefined;
  for (const c of CANONICAL) {
    if (c.length < 8 || present.has(c)) continue;
    if (distance(n, c) <= 2 && !(n.startsWith(c) || c.startsWith(n)) || (n === `${c}s`)) return c;
  }
  return undefined;
}

/**
 * Reading the normalised provider error (oauth-rules.md §0.6) the way the redirect-uri, client-auth
 * and state rules need it: stable error codes and AADSTS numbers first, provider text only loosely
 * (§7: exact provider strings are unverified), and a compact evidence record for findings.
 */
import { failed, isSuccess } from '../facts.js';
import type { AnalyzedExchange } from './types.js';

/** All provider-facing error text of an exchange, lower-cased: error, description, subtype, Facebook message, HTML title/excerpt. */
export function errorText(ex: AnalyzedExchange): string {
  // Many rules ask for the same exchange in a row; exchanges are immutable, so one entry suffices.
  if (lastText?.ex === ex) return lastText.text;
  const text = buildErrorText(ex);
  lastText = { ex, text };
  return text;
}

let lastText: { ex: AnalyzedExchange; text: string } | undefined;
let lastAadsts: { ex: AnalyzedExchange; codes: ReadonlySet<string> } | undefined;

function buildErrorText(ex: AnalyzedExchange): string {
  const pe = ex.providerError;
  const parts = [
    pe?.error, pe?.errorDescription, pe?.errorSubtype, pe?.facebook?.message, pe?.htmlTitle, pe?.htmlExcerpt,
    ex.response?.htmlTitle, ex.response?.htmlExcerpt, ex.authorizeResponse?.error, ex.authorizeResponse?.errorDescription,
  ];
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' \u2022 ').toLowerCase();
}

/** The RFC 6749 `error` code (or Slack/GitHub equivalent) in lower case. */
export function errorCode(ex: AnalyzedExchange): string | undefined {
  return (ex.providerError?.error ?? ex.authorizeResponse?.error)?.toLowerCase();
}

/** AADSTS numbers in `error_codes[]`, the description, or an HTML error page. */
export function aadstsCodes(ex: AnalyzedExchange): ReadonlySet<string> {
  if (lastAadsts?.ex === ex) return lastAadsts.codes;
  const codes = new Set(ex.providerError?.aadsts ?? []);
  const text = errorText(ex);
  if (text.includes('aadsts')) for (const m of text.matchAll(/aadsts(\d{5,8})/g)) if (m[1]) codes.add(m[1]);
  lastAadsts = { ex, codes };
  return codes;
}

export function hasAadsts(ex: AnalyzedExchange, ...codes: string[]): string | undefined {
  const found = aadstsCodes(ex);
  return codes.find((c) => found.has(c));
}

/** The AS rejected the request (HTTP error, error in a 2xx body, Slack ok:false). */
export function rejected(ex: AnalyzedExchange): boolean {
  return !!ex.response && !isSuccess(ex);
}

/** The AS answered with a success (nothing to diagnose from its side). */
export function accepted(ex: AnalyzedExchange): boolean {
  return !!ex.response && isSuccess(ex);
}

export { failed };

/** Redacted, compact provider error for evidence: codes, description, support ids, WWW-Authenticate. */
export function asErrorEvidence(ex: AnalyzedExchange): Record<string, unknown> | undefined {
  const pe = ex.providerError;
  const status = ex.response?.status;
  if (!pe && status === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (status !== undefined) out.status = status;
  if (pe?.error) out.error = pe.error;
  if (pe?.errorDescription) out.error_description = clip(pe.errorDescription);
  if (pe?.errorSubtype) out.error_subtype = pe.errorSubtype;
  if (pe?.aadsts.length) out.aadsts = pe.aadsts.map((c) => `AADSTS${c}`);
  if (pe?.traceId) out.trace_id = pe.traceId;
  if (pe?.correlationId) out.correlation_id = pe.correlationId;
  if (pe?.timestamp) out.timestamp = pe.timestamp;
  if (pe?.slackOk === false) out.ok = false;
  if (pe?.errorIn2xx) out.error_in_2xx = true;
  if (pe?.facebook) out.facebook = pe.facebook;
  const title = pe?.htmlTitle ?? ex.response?.htmlTitle;
  if (title) out.html_title = clip(title);
  if (pe?.wwwAuthenticate.length) out.www_authenticate = pe.wwwAuthenticate;
  return Object.keys(out).length ? out : undefined;
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** `Entra`, `Google` … for hint text; undefined for unknown providers. */
export function providerName(ex: AnalyzedExchange): string | undefined {
  const names: Record<string, string> = {
    google: 'Google', entra: 'Microsoft Entra ID', github: 'GitHub', auth0: 'Auth0', okta: 'Okta', keycloak: 'Keycloak',
    cognito: 'Amazon Cognito', slack: 'Slack', facebook: 'Facebook', apple: 'Sign in with Apple', salesforce: 'Salesforce',
  };
  return ex.provider ? names[ex.provider] ?? ex.provider : undefined;
}

/** Exchange ids oldest first, without duplicates, always ending with (or including) `ex`. */
export function exchangeIds(ex: AnalyzedExchange, ...others: Array<AnalyzedExchange | undefined>): string[] {
  const all = [...others.filter((o): o is AnalyzedExchange => !!o), ex];
  const seen = new Set<string>();
  return all
    .sort((a, b) => a.at - b.at || a.seq - b.seq)
    .filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)))
    .map((e) => e.id);
}

/** Where and when an exchange happened, for evidence. */
export function where(ex: AnalyzedExchange): { id: string; at: string; request: string } {
  return { id: ex.id, at: isoTime(ex.at), request: `${ex.request.method} ${ex.request.url.base}` };
}

/** ISO time for evidence; a value Date cannot represent (a forged JWT exp) is shown as the number. */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
}

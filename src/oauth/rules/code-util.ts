/**
 * Helpers shared by the code-lifecycle, grant/scope and PKCE rule families: which exchanges they
 * apply to, how a provider error is summarised in evidence, and how exchange ids are listed.
 * Pure functions over redacted facts only.
 */
import type { AnalyzedExchange, SecretRef } from '../types.js';
import type { Rule, RuleContext } from './types.js';
import { DEFAULT_THRESHOLDS } from '../config.js';

export const CODE_GRANT = 'authorization_code';

/** grant_type as sent, trimmed (R22 looks at the untrimmed value itself). */
export function grantOf(ex: AnalyzedExchange): string | undefined {
  return ex.grantType?.trim();
}

/**
 * A token request redeeming an authorization code (TOKEN/code). GitHub, Slack and Facebook code
 * exchanges carry no grant_type, so a code without any grant_type counts too.
 */
export function isCodeExchange(ex: AnalyzedExchange): boolean {
  if (ex.kind !== 'token') return false;
  const grant = grantOf(ex);
  return grant === CODE_GRANT || (grant === undefined && ex.code !== undefined);
}

/** Exchange ids oldest first, without duplicates. */
export function exchangeIds(...list: Array<AnalyzedExchange | undefined>): string[] {
  const present = list.filter((e): e is AnalyzedExchange => e !== undefined);
  present.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return [...new Set(present.map((e) => e.id))];
}

/** The normalised provider error, reduced to what a user quotes in a ticket. */
export function asErrorEvidence(ex: AnalyzedExchange): Record<string, unknown> | undefined {
  const pe = ex.providerError;
  if (!pe || (!pe.error && !pe.aadsts.length && !pe.facebook && !pe.htmlTitle)) return undefined;
  const out: Record<string, unknown> = {};
  if (pe.error) out.error = pe.error;
  if (pe.errorDescription) out.error_description = pe.errorDescription.slice(0, 500);
  if (pe.errorSubtype) out.error_subtype = pe.errorSubtype;
  if (pe.aadsts.length) out.aadsts = pe.aadsts.map((c) => `AADSTS${c}`);
  if (pe.traceId) out.trace_id = pe.traceId;
  if (pe.correlationId) out.correlation_id = pe.correlationId;
  if (pe.facebook) out.facebook = pe.facebook;
  if (pe.slackOk === false) out.ok = false;
  if (pe.errorIn2xx) out.error_in_2xx = true;
  if (pe.htmlTitle) out.html_title = pe.htmlTitle;
  return out;
}

/** One line: status and error of an exchange, for evidence and detail text. */
export function outcome(ex: AnalyzedExchange): string {
  if (ex.transportError) return `transport error ${ex.transportError.code}`;
  if (!ex.response) return 'no response';
  const pe = ex.providerError;
  const err = pe?.error ? ` ${pe.error}` : '';
  const aad = pe?.aadsts.length ? ` (AADSTS${pe.aadsts[0]})` : '';
  return `HTTP ${ex.response.status}${err}${aad}`;
}

/** Lower-cased error code + description + provider message, for loose matching (§7: never exact). */
export function errorText(ex: AnalyzedExchange): string {
  const pe = ex.providerError;
  if (!pe) return '';
  return [pe.error, pe.errorDescription, pe.errorSubtype, pe.facebook?.message, pe.htmlTitle]
    .filter(Boolean).join(' ').toLowerCase();
}

export function errorCode(ex: AnalyzedExchange): string | undefined {
  return ex.providerError?.error?.toLowerCase();
}

export function hasAadsts(ex: AnalyzedExchange, ...codes: string[]): boolean {
  const list = ex.providerError?.aadsts ?? [];
  return codes.some((c) => list.includes(c));
}

/** The AS refused the authorization code (invalid_grant or a provider equivalent). */
export function codeRejected(ex: AnalyzedExchange): boolean {
  const code = errorCode(ex);
  return code === 'invalid_grant' || code === 'bad_verification_code' || code === 'invalid_code'
    || hasAadsts(ex, '54005', '70008', '70000') || ex.providerError?.facebook?.code === 100
    || (code === 'invalid_request' && /\bcode\b/.test(errorText(ex)));
}

export function isClientError(ex: AnalyzedExchange): boolean {
  return !!ex.response && ex.response.status >= 400 && ex.response.status < 500;
}

/** Codes issued to the browser for this flow (authorization response and callbacks), with where each was seen. */
export function issuedCodes(ctx: RuleContext): Array<{ ref: SecretRef; from: AnalyzedExchange }> {
  const out: Array<{ ref: SecretRef; from: AnalyzedExchange }> = [];
  const seen = new Set<string>();
  const sources = [ctx.correlation.authorizeResponse, ...ctx.correlation.callbacks];
  for (const from of sources) {
    const ref = from?.authorizeResponse?.code;
    if (from && ref && !seen.has(`${from.id}:${ref.fp}`)) {
      seen.add(`${from.id}:${ref.fp}`);
      out.push({ ref, from });
    }
  }
  return out;
}

/** ISO time for evidence; undefined for a timestamp that is not a valid date (e.g. from a hand-edited HAR). */
export function iso(ms: number): string | undefined {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

/** `12.3 s` / `4 min 5 s` — Δt for titles and detail. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  return `${min} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A missing, empty, or literal ("undefined", "null", a placeholder) secret value. */
export function isBogus(ref: SecretRef | undefined): boolean {
  return !ref || ref.length === 0 || ref.anomalies.some((a) => a === 'empty' || a === 'literal' || a === 'placeholder');
}

/** Provider hint, if any, for the exchange's provider. */
export function hintFor(ex: AnalyzedExchange, hints: Readonly<Record<string, string>>): string {
  const hint = ex.provider ? hints[ex.provider] : undefined;
  return hint ? ` ${hint}` : '';
}

/** The link quality to the authorize request: deterministic keys give high confidence, fallback medium. */
export function linkConfidence(ctx: RuleContext): 'high' | 'medium' {
  return ctx.correlation.authorizeLink === 'fallback' ? 'medium' : 'high';
}

const PROVIDER_CODE_LIFETIME: Record<string, { ms: number; source: string }> = {
  cognito: { ms: 300_000, source: 'Cognito: codes are valid for 5 minutes' },
  github: { ms: 600_000, source: 'GitHub: codes expire after 10 minutes' },
  entra: { ms: 600_000, source: 'Entra: codes last about 10 minutes' },
};

/** Code lifetime to judge R17 by: the configured threshold wins, else the provider's documented one, else RFC 6749's 10 min. */
export function codeLifetime(ex: AnalyzedExchange, ctx: RuleContext): { ms: number; source: string } {
  if (ctx.thresholds.codeMaxAgeMs !== DEFAULT_THRESHOLDS.codeMaxAgeMs) return { ms: ctx.thresholds.codeMaxAgeMs, source: 'thresholds.codeMaxAgeMs' };
  const known = ex.provider ? PROVIDER_CODE_LIFETIME[ex.provider] : undefined;
  return known ?? { ms: ctx.thresholds.codeMaxAgeMs, source: 'RFC 6749 §4.1.2 recommended maximum (10 minutes)' };
}

/** R18: which single transform turns the issued code into the one sent, proven by fingerprints only. */
export function explainAlteration(sent: SecretRef, issued: SecretRef, states: readonly SecretRef[]): { transform: string; text: string } | undefined {
  const sv = sent.variants ?? {};
  const iv = issued.variants ?? {};
  if (iv.encoded === sent.fp || sv.decoded === issued.fp) {
    return { transform: 'extra_encoding', text: 'it was URL-encoded once more before being put into the form body (e.g. "4/0A…" sent as "4%2F0A…", i.e. %252F on the wire)' };
  }
  if (iv.decoded === sent.fp || sv.encoded === issued.fp) {
    return { transform: 'extra_decoding', text: 'it was URL-decoded once more than the form encoding requires (a %-escape inside the issued code was decoded)' };
  }
  if (sv.plus_as_space === issued.fp) {
    return { transform: 'plus_as_space', text: 'a "+" in the issued code became a space (the value was form-decoded twice, or put into a URL without encoding)' };
  }
  if (sv.trimmed === issued.fp) return { transform: 'whitespace', text: 'whitespace or a newline was added around it' };
  if (sv.unquoted === issued.fp || sent.trimmedFp === issued.fp) return { transform: 'quotes', text: 'it was wrapped in quotes (a JSON-stringified or shell-quoted value)' };
  const state = states.find((s) => sv.as_state === s.fp);
  if (state) return { transform: 'state_as_code', text: 'the state value was sent in place of the code' };
  return undefined;
}

const ENTRA_MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/**
 * R19: true when the token endpoint belongs to the AS that issued the code, false when it provably
 * does not, undefined when the lens cannot tell (issuers derived at different precision, Entra
 * multi-tenant aliases, Cognito's documented host split).
 */
export function sameAuthorizationServer(issuedBy: string, authz: AnalyzedExchange | undefined, ex: AnalyzedExchange, ctx: RuleContext): boolean | undefined {
  const a = trimSlash(issuedBy);
  const b = trimSlash(ex.issuer);
  if (a === b) return true;
  const disc = ctx.correlation.discovery;
  if (disc && trimSlash(disc.issuer) === a) {
    const endpoints = [disc.tokenEndpoint, ...Object.values(disc.mtlsAliases ?? {})].filter(Boolean).map((u) => trimSlash(String(u)));
    if (endpoints.includes(trimSlash(ex.request.url.base))) return true;
  }
  if (ex.provider === 'cognito' && authz) return authz.request.url.host === ex.request.url.host ? true : undefined;
  if (ex.provider === 'entra') {
    const tenants = [a, b].map((u) => /\/([^/]+)\/v2\.0$|\/([^/]+)$/.exec(u)?.slice(1).find(Boolean)?.toLowerCase());
    if (tenants.some((t) => t && ENTRA_MULTI_TENANT.has(t))) return undefined;
  }
  const oa = originOf(a);
  const ob = originOf(b);
  if (!oa || !ob) return undefined;
  // Same origin but one issuer only known as scheme://host: the paths (realm, tenant) are unknown.
  if (oa === ob && (a === oa || b === ob)) return undefined;
  return false;
}

/**
 * §1.17: provider answers that mean "this code is used or expired" without saying which. When the
 * lens saw neither the authorization response nor an earlier redemption it reports both, medium.
 */
export function ambiguousCodeSignal(ex: AnalyzedExchange): string | undefined {
  const code = errorCode(ex);
  const text = errorText(ex);
  if (code === 'bad_verification_code') return 'GitHub bad_verification_code';
  if (code === 'invalid_code' && ex.provider === 'slack') return 'Slack invalid_code';
  if (code !== 'invalid_grant') return undefined;
  if (ex.provider === 'google' && /bad request/.test(text)) return 'Google invalid_grant "Bad Request"';
  if (/code not valid/.test(text)) return 'Keycloak "Code not valid"';
  if (ex.provider === 'apple') return 'Apple invalid_grant';
  if (ex.provider === 'cognito') return 'Cognito invalid_grant';
  return undefined;
}

/** §0.8: what every finding of these families starts from — the exchange, AS identity and client (Class C only). */
export function baseEvidence(ex: AnalyzedExchange): Record<string, unknown> {
  return {
    exchange: ex.id,
    request: `${ex.request.method} ${ex.request.url.base}`,
    issuer: ex.issuer,
    ...(ex.provider ? { provider: ex.provider } : {}),
    ...(ex.clientId ? { client_id: ex.clientId } : {}),
    ...(ex.grantType !== undefined ? { grant_type: ex.grantType } : {}),
    ...(ex.response ? { status: ex.response.status } : {}),
    ...(ex.transportError ? { transport_error: ex.transportError.code } : {}),
  };
}

/** Wraps a rule so each draft's evidence starts with `baseEvidence` (the rule's own keys win). */
export function withBaseEvidence(rule: Rule): Rule {
  return {
    ...rule,
    check(ex, ctx) {
      return rule.check(ex, ctx).map((d) => ({ ...d, evidence: { ...baseEvidence(ex), ...d.evidence } }));
    },
  };
}

const NEVER_DELIVERED = new Set(['dns', 'refused', 'tls_hostname', 'tls_expired', 'tls_untrusted', 'tls_other', 'proxy_loop']);

/**
 * An earlier presentation counts only if the AS could have consumed the code: not a redirect, not a
 * failed connect, not a request refused for its grant_type before the code was looked at.
 */
export function reachedAs(x: AnalyzedExchange): boolean {
  if (x.transportError) return !NEVER_DELIVERED.has(x.transportError.code);
  const err = x.providerError?.error;
  if (err === 'unsupported_grant_type' || err === 'invalid_grant_type') return false;
  return !x.response || x.response.status < 300 || x.response.status >= 400;
}

/** A 2xx without an error in the body (GitHub's error in a 200 and Slack ok:false are failures). */
export function succeeded(x: AnalyzedExchange): boolean {
  return !!x.response && x.response.status < 300 && !x.providerError?.error && x.providerError?.slackOk !== false;
}

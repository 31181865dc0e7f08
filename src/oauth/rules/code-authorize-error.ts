/**
 * R21 `authorize.error_returned` (oauth-rules.md §1.3): the authorization response carried `error`
 * instead of a code. Also catches the usual consequence, a token call without a code
 * (`#token_call_without_code`), and makes this finding primary there: that token failure is a symptom.
 */
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { exchangeIds, isBogus, isCodeExchange, outcome } from './code-util.js';

const SILENT_ERRORS = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

const ERROR_HINTS: Record<string, string> = {
  access_denied: 'The user cancelled or refused consent (or an admin policy denied it): treat it as a cancel and show a way back, not a crash.',
  invalid_scope: 'A requested scope is unknown or not allowed for this client (see scope.invalid).',
  unauthorized_client: 'The client is not allowed to use this response_type / grant: enable it on the client registration.',
  unsupported_response_type: 'The AS does not support or allow this response_type for the client.',
  invalid_request: 'A parameter of the authorize request is missing, repeated or malformed; error_description names it.',
  server_error: 'The AS failed while handling the authorize request; retry later and quote the trace id to the provider.',
  temporarily_unavailable: 'The AS is overloaded or in maintenance; retry later.',
  login_required: 'prompt=none (silent sign-in) found no session: fall back to an interactive login.',
  interaction_required: 'The AS needs user interaction (MFA, terms, conditional access): fall back to an interactive login.',
  consent_required: 'The user has not consented to these scopes: send an interactive request with prompt=consent.',
  account_selection_required: 'Several accounts are signed in: send an interactive request (prompt=select_account).',
};

const AADSTS_HINTS: Record<string, string> = {
  '65001': 'AADSTS65001: the user or an admin has not consented to the app/scopes — grant (admin) consent.',
  '50058': 'AADSTS50058: silent sign-in without a session — fall back to an interactive login.',
  '16000': 'AADSTS16000: account selection needed — send prompt=select_account.',
  '50076': 'AADSTS50076: MFA required by policy — use an interactive login.',
  '50079': 'AADSTS50079: the user must register for MFA.',
  '53003': 'AADSTS53003: blocked by Conditional Access — check the sign-in logs with the correlation id.',
  '50011': 'AADSTS50011: the redirect_uri is not registered (see redirect_uri.not_registered).',
  '700016': 'AADSTS700016: the application (client_id) is not found in this tenant.',
};

function normaliseError(error: string): string {
  // Salesforce documents `access-denied` with a hyphen for the web-server flow.
  return error.trim().toLowerCase().replace(/-/g, '_');
}

function aadstsIn(text: string | undefined): string[] {
  return [...new Set([...(text ?? '').matchAll(/AADSTS(\d{4,})/g)].map((m) => m[1] ?? ''))].filter(Boolean);
}

/** The error an authorization response of this flow carried, and where. */
function flowError(ctx: RuleContext): AnalyzedExchange | undefined {
  const candidates = [ctx.correlation.authorizeResponse, ...ctx.correlation.callbacks];
  return candidates.find((c) => c?.authorizeResponse?.error);
}

function explain(error: string, description: string | undefined, prompt: string | undefined): string {
  const parts = [ERROR_HINTS[error] ?? ''];
  for (const code of aadstsIn(description)) if (AADSTS_HINTS[code]) parts.push(AADSTS_HINTS[code]);
  if (/form_post/i.test(description ?? '')) {
    parts.push('Apple requires response_mode=form_post when the name or email scope is requested; the callback then arrives as a cross-site POST (watch state.cookie_not_sent).');
  }
  if (SILENT_ERRORS.has(error) && prompt === 'none') parts.push('This is the expected answer to prompt=none when no usable session exists.');
  return parts.filter(Boolean).join(' ');
}

/** The AS rendered an error page for the authorize request instead of redirecting back (no code, no error redirect). */
function onErrorPage(ex: AnalyzedExchange): FindingDraft[] {
  const pe = ex.providerError;
  const status = ex.response?.status ?? 0;
  if (status < 400 || !pe || (!pe.error && !pe.htmlTitle)) return [];
  const what = pe.error ? `error=${pe.error}${pe.errorDescription ? ` ("${pe.errorDescription}")` : ''}` : `a page titled "${pe.htmlTitle}"`;
  const fix = 'Fix the authorize request the page complains about (client_id, redirect_uri, response_type, scope, PKCE); the user cannot get past this page.';
  return [{
    code: 'authorize.error_returned',
    severity: 'error',
    title: `The authorization server answered the authorize request with an error page (HTTP ${status})`,
    detail: `Instead of redirecting back to the app, the AS answered HTTP ${status} with ${what}. It does this when it cannot trust the redirect_uri or client_id enough to redirect (RFC 6749 §4.1.2.1).`
      + (pe.aadsts.length ? ` ${pe.aadsts.map((c) => AADSTS_HINTS[c] ?? `AADSTS${c}`).join(' ')}` : '') + ` Fix: ${fix}`,
    fix,
    evidence: {
      status, ...(pe.error ? { error: pe.error } : {}), ...(pe.errorDescription ? { error_description: pe.errorDescription.slice(0, 500) } : {}),
      ...(pe.htmlTitle ? { html_title: pe.htmlTitle } : {}), ...(pe.htmlExcerpt ? { html_excerpt: pe.htmlExcerpt.slice(0, 300) } : {}),
      ...(pe.aadsts.length ? { aadsts: pe.aadsts.map((c) => `AADSTS${c}`) } : {}),
      ...(pe.traceId ? { trace_id: pe.traceId } : {}), ...(pe.correlationId ? { correlation_id: pe.correlationId } : {}),
    },
    confidence: pe.error ? 'high' : 'medium',
    exchangeIds: [ex.id],
  }];
}

function onAuthorizeResponse(ex: AnalyzedExchange, ctx: RuleContext): FindingDraft[] {
  const resp = ex.authorizeResponse;
  if (!resp?.error) return ex.kind === 'authorize' ? onErrorPage(ex) : [];
  const error = normaliseError(resp.error);
  const prompt = ex.authorize?.prompt ?? ctx.correlation.authorize?.authorize?.prompt;
  const expected = error === 'access_denied' || (SILENT_ERRORS.has(error) && prompt === 'none');
  const fix = 'Check for `error` in the callback before exchanging a code; surface error_description to the user; treat access_denied as a user cancel.';
  const aadsts = aadstsIn(resp.errorDescription);
  return [{
    code: 'authorize.error_returned',
    severity: expected ? 'info' : 'error',
    title: `Authorization response returned error "${error}" instead of a code`,
    detail: `The authorization server answered the authorize request with error=${resp.error}`
      + (resp.errorDescription ? ` ("${resp.errorDescription}")` : '') + ` via ${resp.via.replace(/_/g, ' ')} to ${resp.target}. `
      + `${explain(error, resp.errorDescription, prompt)} Fix: ${fix}`,
    fix,
    evidence: {
      error: resp.error,
      ...(resp.errorDescription ? { error_description: resp.errorDescription } : {}),
      ...(resp.errorUri ? { error_uri: resp.errorUri } : {}),
      ...(aadsts.length ? { aadsts: aadsts.map((c) => `AADSTS${c}`) } : {}),
      via: resp.via, target: resp.target,
      ...(resp.state ? { state: resp.state.display } : {}),
      ...(prompt ? { prompt } : {}),
    },
    confidence: 'high',
    exchangeIds: exchangeIds(ctx.correlation.authorize, ex),
  }];
}

/** `#token_call_without_code`: the backend went on to the token endpoint with no usable code. */
function onTokenWithoutCode(ex: AnalyzedExchange, ctx: RuleContext): FindingDraft[] {
  if (!isCodeExchange(ex) || !isBogus(ex.code)) return [];
  const source = flowError(ctx);
  const resp = source?.authorizeResponse;
  if (!source || !resp?.error) return [];
  const error = normaliseError(resp.error);
  const sentAs = !ex.code ? 'without a code' : `with code ${ex.code.display} (${ex.code.anomalies.join(', ') || 'empty'})`;
  const fix = 'In the callback handler, check for `error` first and stop: there is no code to exchange.';
  return [{
    code: 'authorize.error_returned',
    severity: 'error',
    title: `Token call made after the authorization response returned "${error}"`,
    detail: `The authorization response (exchange ${source.id}) carried error=${resp.error}`
      + (resp.errorDescription ? ` ("${resp.errorDescription}")` : '')
      + `, yet the backend called the token endpoint ${sentAs} and got ${outcome(ex)}. That token failure is only a symptom; the real failure is the authorization error. `
      + `${explain(error, resp.errorDescription, ctx.correlation.authorize?.authorize?.prompt)} Fix: ${fix}`,
    fix,
    evidence: {
      subDiagnosis: '#token_call_without_code',
      authorizeError: resp.error,
      ...(resp.errorDescription ? { error_description: resp.errorDescription } : {}),
      code: ex.code ? ex.code.display : null,
      tokenOutcome: outcome(ex),
    },
    confidence: 'high',
    exchangeIds: exchangeIds(ctx.correlation.authorize, source, ex),
    primary: true,
  }];
}

export const authorizeErrorReturned: Rule = {
  code: 'authorize.error_returned',
  family: 'code',
  severity: 'error',
  kinds: ['authorize', 'authorize_response', 'token'],
  check(ex, ctx) {
    return ex.kind === 'token' ? onTokenWithoutCode(ex, ctx) : onAuthorizeResponse(ex, ctx);
  },
};

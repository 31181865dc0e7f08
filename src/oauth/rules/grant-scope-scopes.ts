/**
 * Scope rules (oauth-rules.md §1.5, R25–R27): scopes the AS refuses or the config does not allow,
 * badly delimited or cased scopes, scopes beyond the original grant, and grants narrower than asked.
 */
import type { AnalyzedExchange } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { asErrorEvidence, errorCode, exchangeIds, hasAadsts, hintFor, linkConfidence, outcome, grantOf, CODE_GRANT } from './code-util.js';
import {
  OIDC_STANDARD_SCOPES, entraResource, isWildcardRequest, scopesMissing, splitScopes, usesCommaScopes,
} from './grant-scope-util.js';

interface ScopeIssue { sub: string; scopes: string[]; text: string; severity: FindingDraft['severity'] }

/** The scope a request asks for, from a token or authorize/PAR request. */
function requested(ex: AnalyzedExchange): { raw?: string; scopes: string[]; clientId?: string } {
  const raw = ex.kind === 'authorize' ? ex.authorize?.scopeRaw ?? ex.scopeRaw : ex.scopeRaw;
  return { raw, scopes: splitScopes(raw, usesCommaScopes(ex)), clientId: ex.kind === 'authorize' ? ex.authorize?.clientId ?? ex.clientId : ex.clientId };
}

function rejectedForScope(ex: AnalyzedExchange): boolean {
  return errorCode(ex) === 'invalid_scope' || hasAadsts(ex, '70011', '700022', '28000')
    || ex.authorizeResponse?.error?.toLowerCase() === 'invalid_scope';
}

/** Outcome-based severity: proven failure or config violation → error; accepted → warning. */
function succeeded(ex: AnalyzedExchange): boolean {
  return ex.kind === 'token' && !!ex.response && ex.response.status < 300 && !ex.providerError?.error;
}

function scopeIssues(ex: AnalyzedExchange, ctx: RuleContext): ScopeIssue[] {
  const { raw, scopes, clientId } = requested(ex);
  const issues: ScopeIssue[] = [];
  if (raw === undefined) return issues;
  const soft: FindingDraft['severity'] = succeeded(ex) || ex.kind === 'authorize' ? 'warning' : 'error';
  const client = ctx.config.clients.find((c) => c.clientId === clientId && c.scopes);
  const known = [...(client?.scopes ?? []), ...(ctx.correlation.discovery?.scopes ?? []), ...OIDC_STANDARD_SCOPES];
  if (!usesCommaScopes(ex) && raw.includes(',')) {
    issues.push({ sub: 'delimiter', scopes: scopes.filter((s) => s.includes(',')), severity: soft, text: 'scopes are separated by commas; RFC 6749 §3.3 scopes are space-delimited, so the AS reads one unknown scope' });
  }
  if (/\+|%20|%2B/i.test(raw)) {
    issues.push({ sub: 'delimiter', scopes: scopes.filter((s) => /\+|%20|%2B/i.test(s)), severity: soft, text: 'the scope still contains "+" or "%20" after the form decode, i.e. it was encoded twice (spaces became %2520 or %2B on the wire)' });
  }
  const caseMiss = scopes.filter((s) => !known.includes(s) && known.some((k) => k.toLowerCase() === s.toLowerCase()));
  if (caseMiss.length) {
    issues.push({ sub: 'case', scopes: caseMiss, severity: soft, text: `scope names are case-sensitive: ${caseMiss.map((s) => `"${s}" should be "${known.find((k) => k.toLowerCase() === s.toLowerCase())}"`).join(', ')}` });
  }
  if (client?.scopes) {
    const notAllowed = scopes.filter((s) => !client.scopes?.includes(s) && !caseMiss.includes(s));
    if (notAllowed.length) issues.push({ sub: 'not_allowed', scopes: notAllowed, severity: succeeded(ex) ? 'warning' : 'error', text: `not in the scopes configured for client "${client.name}" (${client.scopes.join(' ')})` });
  }
  if (ex.provider === 'entra' && ex.kind === 'token') {
    const resources = [...new Set(scopes.map(entraResource).filter((r): r is string => !!r))];
    if (resources.length > 1) issues.push({ sub: 'multi_resource', scopes, severity: 'error', text: `the scopes span ${resources.length} resources (${resources.join(', ')}); Entra issues a token for one resource per request` });
  }
  if (ex.kind === 'authorize' && !scopes.includes('openid')) {
    const rt = ex.authorize?.responseType?.split(/\s+/) ?? [];
    if (ex.authorize?.nonce || rt.includes('id_token')) {
      issues.push({ sub: 'missing_openid', scopes, severity: 'error', text: `the request expects an id_token (${rt.includes('id_token') ? 'response_type includes id_token' : 'a nonce is sent'}) but scope lacks "openid", so the AS treats it as plain OAuth and returns no id_token` });
    }
  }
  return issues;
}

const scopeInvalid: Rule = {
  code: 'scope.invalid',
  family: 'grant-scope',
  severity: 'error',
  kinds: ['token', 'authorize', 'authorize_response', 'par'],
  check(ex, ctx) {
    const signal = rejectedForScope(ex);
    const issues = ex.kind === 'authorize_response' ? [] : scopeIssues(ex, ctx);
    const { raw, scopes } = requested(ex.kind === 'authorize_response' && ctx.correlation.authorize ? ctx.correlation.authorize : ex);
    if (!signal && !issues.length) {
      // Advisory: a failed token request asking for a simple scope the AS does not advertise.
      const advertised = ctx.correlation.discovery?.scopes;
      const failedToken = ex.kind === 'token' && !!ex.response && ex.response.status >= 400;
      const unknown = advertised ? scopes.filter((s) => !/[:/]/.test(s) && !advertised.includes(s)) : [];
      if (!failedToken || !unknown.length) return [];
      issues.push({ sub: 'not_advertised', scopes: unknown, severity: 'warning', text: `not in the AS's scopes_supported (${advertised?.join(' ')}); that list is advisory, so this may not be the cause` });
    }
    if (signal && !issues.some((i) => i.severity === 'error')) issues.push({ sub: 'rejected', scopes, severity: 'error', text: 'the authorization server rejected the requested scope' });
    const severity = issues.some((i) => i.severity === 'error') ? 'error' : 'warning';
    const fix = 'Request only registered scopes, space-delimited, exact case' + (ex.provider === 'entra' ? '; Entra: one resource per token request (e.g. https://graph.microsoft.com/.default), other resources in separate token requests.' : '.');
    const entra = hasAadsts(ex, '700022') ? ' Entra AADSTS700022: the scope names more than one resource.' : hasAadsts(ex, '70011') ? ' Entra AADSTS70011: the scope value is not valid.' : '';
    const main = issues[0];
    const asError = asErrorEvidence(ex);
    const aresp = ex.authorizeResponse;
    const respErr = aresp?.error ? { error: aresp.error, ...(aresp.errorDescription ? { error_description: aresp.errorDescription } : {}) } : undefined;
    return [{
      code: 'scope.invalid', severity,
      title: main && main.sub !== 'rejected' ? `Invalid scope (${main.sub.replace(/_/g, ' ')}): ${main.scopes.join(' ') || raw || ''}`.trim() : `The authorization server rejected scope "${raw ?? ''}"`,
      detail: `Requested scope "${raw ?? '(unknown)'}": ${issues.map((i) => i.text).join('; ')}.${signal ? ` The AS answered ${ex.kind === 'authorize_response' ? `error=${aresp?.error}${aresp?.errorDescription ? ` ("${aresp.errorDescription}")` : ''}` : outcome(ex)}.` : ''}${entra} Fix: ${fix}`,
      fix,
      evidence: { scope: raw, scopes, issues: issues.map((i) => ({ subDiagnosis: `#${i.sub}`, scopes: i.scopes })), ...(asError ? { as_error: asError } : {}), ...(respErr ? { authorizeError: respErr } : {}) },
      confidence: issues.some((i) => i.sub === 'not_advertised') ? 'medium' : 'high',
      exchangeIds: exchangeIds(ex.kind === 'authorize_response' ? ctx.correlation.authorize : undefined, ex),
    }];
  },
};

/** What the resource owner originally granted, for comparing a later token request against it. */
function originalGrant(ex: AnalyzedExchange, ctx: RuleContext): { scopes: string[]; source: string; from?: AnalyzedExchange } | undefined {
  const grant = grantOf(ex);
  if (grant === 'refresh_token') {
    const issuer = ctx.correlation.refreshIssuedBy;
    if (!issuer) return undefined;
    const granted = issuer.tokenResponse?.scopeRaw ?? issuer.scopeRaw;
    if (granted === undefined) return undefined;
    return { scopes: splitScopes(granted, usesCommaScopes(ex)), source: issuer.tokenResponse?.scopeRaw !== undefined ? 'scope of the token response that issued this refresh token' : 'scope requested when this refresh token was issued', from: issuer };
  }
  if (grant === CODE_GRANT) {
    const authz = ctx.correlation.authorize;
    const scope = authz?.authorize?.scopeRaw;
    if (!authz || scope === undefined) return undefined;
    return { scopes: splitScopes(scope, usesCommaScopes(authz)), source: 'scope of the authorize request', from: authz };
  }
  return undefined;
}

const scopeEscalation: Rule = {
  code: 'scope.escalation_or_drift',
  family: 'grant-scope',
  severity: 'warning',
  kinds: ['token'],
  check(ex, ctx) {
    const asked = splitScopes(ex.scopeRaw, usesCommaScopes(ex));
    if (!asked.length || isWildcardRequest(asked)) return [];
    const original = originalGrant(ex, ctx);
    if (!original) return [];
    const extra = scopesMissing(ex.provider, asked, original.scopes).filter((s) => s !== 'offline_access' || grantOf(ex) !== 'refresh_token');
    if (!extra.length) return [];
    const rejected = errorCode(ex) === 'invalid_scope' || errorCode(ex) === 'consent_required' || hasAadsts(ex, '65001', '70011') || (errorCode(ex) === 'invalid_grant' && /scope/i.test(ex.providerError?.errorDescription ?? ''));
    const refresh = grantOf(ex) === 'refresh_token';
    const fix = refresh ? 'On refresh, request the original scopes or a subset (or omit scope); get new scopes through a new authorization.' : 'Send the same scope in the code redemption as in the authorize request (or omit it); ask for new scopes through a new authorization.';
    return [{
      code: 'scope.escalation_or_drift',
      severity: rejected ? 'error' : 'warning',
      title: `${refresh ? 'Refresh' : 'Code redemption'} asks for scopes beyond the original grant: ${extra.join(' ')}`,
      detail: `This ${refresh ? 'refresh' : 'code'} request asks for "${ex.scopeRaw}", but the ${original.source} was "${original.scopes.join(' ')}"; ${extra.join(', ')} ${extra.length === 1 ? 'was' : 'were'} never granted. RFC 6749 §6: a refresh MUST NOT include any scope not originally granted.`
        + (ex.provider === 'entra' ? ' Entra: the scopes of the redemption must be equivalent to or a subset of the original request (else consent_required / AADSTS65001).' : '')
        + ` The AS answered ${outcome(ex)}. Fix: ${fix}`,
      fix,
      evidence: { requested: asked, original: original.scopes, originalSource: original.source, extra, ...(asErrorEvidence(ex) ? { as_error: asErrorEvidence(ex) } : {}) },
      confidence: original.from?.kind === 'authorize' ? linkConfidence(ctx) : 'high',
      exchangeIds: exchangeIds(original.from, ex),
    }];
  },
};

const NARROWER_HINTS: Record<string, string> = {
  google: 'Google shows granular consent: users can untick individual scopes.',
  github: 'GitHub users can edit the requested scopes on the consent page.',
  entra: 'Entra grants only what the user or an admin consented to.',
};

const scopeNarrower: Rule = {
  code: 'scope.granted_narrower',
  family: 'grant-scope',
  severity: 'warning',
  kinds: ['token'],
  check(ex, ctx) {
    const tr = ex.tokenResponse;
    if (!tr || tr.scopeRaw === undefined || !tr.accessToken || !succeededToken(ex)) return [];
    const granted = splitScopes(tr.scopeRaw, true);
    let asked = splitScopes(ex.scopeRaw, usesCommaScopes(ex));
    let source = 'scope of this token request';
    let from: AnalyzedExchange | undefined;
    if (!asked.length && grantOf(ex) === CODE_GRANT && ctx.correlation.authorize?.authorize?.scopeRaw) {
      from = ctx.correlation.authorize;
      asked = splitScopes(from.authorize?.scopeRaw, usesCommaScopes(from));
      source = 'scope of the authorize request';
    }
    if (!asked.length || isWildcardRequest(asked)) return [];
    const missing = scopesMissing(ex.provider, asked, granted)
      .filter((s) => s !== 'offline_access' && !(s === 'openid' && tr.idToken));
    if (!missing.length) return [];
    const fix = 'Read the granted scopes from the token response and re-prompt (incremental authorization) for the missing ones; never assume requested = granted.';
    return [{
      code: 'scope.granted_narrower', severity: 'warning',
      title: `Granted scope is narrower than requested: missing ${missing.join(' ')}`,
      detail: `The ${source} asked for "${asked.join(' ')}" but the token response grants "${tr.scopeRaw}"; ${missing.join(', ')} ${missing.length === 1 ? 'was' : 'were'} not granted (the user unticked a permission, granular consent, or an admin policy). Calls needing ${missing.length === 1 ? 'it' : 'them'} will fail with 403 insufficient_scope.${hintFor(ex, NARROWER_HINTS)} Fix: ${fix}`,
      fix,
      evidence: { requested: asked, requestedSource: source, granted, missing },
      confidence: from ? linkConfidence(ctx) : 'high',
      exchangeIds: exchangeIds(from, ex),
    }];
  },
};

function succeededToken(ex: AnalyzedExchange): boolean {
  return !!ex.response && ex.response.status < 300 && !ex.providerError?.error && ex.providerError?.slackOk !== false;
}

export const scopeRules: Rule[] = [scopeInvalid, scopeEscalation, scopeNarrower];

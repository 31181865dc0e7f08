/**
 * §1.9 Responses, availability, retries (R43–R47): what the AS answered — not JSON, an error inside a
 * 2xx, a malformed success, an outage, throttling. The retry rules (R48, R49) are in retries.ts.
 */
import { header } from '../facts.js';
import type { AnalyzedExchange } from '../types.js';
import type { Rule, RuleContext } from './types.js';
import { retryStorm, maskedFailure } from './responses-retries.js';
import {
  OAUTH_KINDS, TOKEN_LIKE_KINDS, baseEvidence, errorText, is2xx, latencyMs, missingValue, rateLimitInfo, seconds, unavailableReason,
} from './responses-util.js';

const NON_JSON_FIX = 'Send Accept: application/json, and make the client handle non-JSON (HTML, form, empty) error bodies instead of crashing on JSON.parse.';

function nonJsonKind(ex: AnalyzedExchange): string {
  const r = ex.response!;
  if (r.bodyFormat === 'form' && (ex.provider === 'github' || r.form?.some((p) => p.name === 'access_token' || p.name === 'error'))) return 'github_form';
  if (r.bodyFormat === 'empty') return 'empty';
  return r.bodyFormat;
}

const nonJson: Rule = {
  code: 'response.non_json', family: 'responses', severity: 'error', kinds: TOKEN_LIKE_KINDS,
  check(ex) {
    const r = ex.response;
    if (!r || r.bodyFormat === 'json' || (r.status >= 300 && r.status < 400) || r.status === 204) return [];
    // RFC 7009 §2.2: a revocation answers 200 and the client ignores the body.
    if (ex.kind === 'revocation' && r.status === 200 && (r.bodyFormat === 'empty' || r.bodyFormat === 'text')) return [];
    const kind = nonJsonKind(ex);
    const title = r.htmlTitle ?? ex.providerError?.htmlTitle;
    const success = kind === 'github_form' && is2xx(ex) && r.form?.some((p) => p.name === 'access_token');
    const what: Record<string, string> = {
      github_form: 'a form-encoded body (GitHub answers access_token=…&scope=…&token_type=bearer unless the request sends Accept: application/json; classify by body, its Content-Type may not match)',
      html: `an HTML page${title ? ` titled "${title}"` : ''} (from the AS, a CDN, WAF or load balancer)`,
      xml: 'an XML body (GitHub returns XML for Accept: application/xml)',
      empty: 'an empty body',
      text: 'plain text',
      binary: `an undecodable body${r.decodeError ? ` (${r.decodeError})` : ''}`,
      multipart: 'a multipart body',
      form: 'a form-encoded body',
    };
    return [{
      code: 'response.non_json', severity: success ? 'warning' : 'error',
      title: `${ex.kind} response is ${kind === 'github_form' ? 'form-encoded' : kind} (HTTP ${r.status}), not JSON`,
      detail: `RFC 6749 §5.1/§5.2 responses are application/json; this one is ${what[kind] ?? kind}. JSON clients fail with "Unexpected token < in JSON" or "unexpected response content-type", which applications surface as "internal server error". ${NON_JSON_FIX}`,
      fix: NON_JSON_FIX,
      evidence: {
        ...baseEvidence(ex), body_kind: kind, content_type: r.contentType ?? null, body_size: r.bodySize,
        ...(title ? { html_title: title } : {}), ...(r.htmlExcerpt ?? ex.providerError?.htmlExcerpt ? { html_excerpt: r.htmlExcerpt ?? ex.providerError?.htmlExcerpt } : {}),
        ...(ex.request.accept ? { request_accept: ex.request.accept } : { request_accept: null }),
      },
      confidence: 'high', exchangeIds: [ex.id],
    }];
  },
};

/** Provider hint for an error code carried in a 2xx (oauth-rules.md §1.17). */
const IN_2XX_HINTS: Record<string, string> = {
  incorrect_client_credentials: 'GitHub incorrect_client_credentials: the client_id/client_secret pair is wrong (see client.authentication_failed).',
  redirect_uri_mismatch: 'GitHub redirect_uri_mismatch: the redirect_uri is not the registered callback (see redirect_uri.not_registered).',
  bad_verification_code: 'GitHub bad_verification_code: the code was already used, expired (10 min) or altered.',
  bad_refresh_token: 'GitHub bad_refresh_token: the refresh token was rotated out or expired.',
  invalid_code: 'Slack invalid_code: the code was already used, expired or altered.',
  bad_redirect_uri: 'Slack bad_redirect_uri: redirect_uri differs from the one used at authorize time.',
  invalid_client_id: 'Slack invalid_client_id: unknown client_id.',
  bad_client_secret: 'Slack bad_client_secret: wrong client_secret.',
  invalid_grant_type: 'Slack invalid_grant_type: grant_type is not one Slack accepts.',
  invalid_refresh_token: 'Slack invalid_refresh_token: the rotating refresh token was already used or expired.',
  oauth_authorization_url_mismatch: 'Slack oauth_authorization_url_mismatch: the flow started on another authorize URL version (v1 vs v2).',
};

/** Device-flow polling answers that are normal protocol steps, not failures (R63 owns them). */
const POLLING = new Set(['authorization_pending', 'slow_down']);

function bearerMisuseAfter(ex: AnalyzedExchange, ctx: RuleContext): AnalyzedExchange | undefined {
  return ctx.correlation.sameHostLater.find((l) => l.at - ex.at <= 60_000 && l.request.authorizationScheme?.toLowerCase() === 'bearer'
    && (l.request.bearer ? missingValue(l.request.bearer) : /^Bearer\s*(undefined|null)?\s*$/i.test(header(l.request.headers, 'authorization') ?? '')));
}

const errorIn2xx: Rule = {
  code: 'response.error_in_2xx', family: 'responses', severity: 'warning', kinds: [...TOKEN_LIKE_KINDS, 'userinfo'],
  check(ex, ctx) {
    if (!is2xx(ex)) return [];
    const pe = ex.providerError;
    const slack = pe?.slackOk === false;
    const tokenError = !!pe?.error && !ex.tokenResponse?.accessToken;
    if (!slack && !pe?.errorIn2xx && !tokenError) return [];
    if (pe?.error && POLLING.has(pe.error) && ex.grantType?.endsWith(':device_code')) return [];
    const later = bearerMisuseAfter(ex, ctx);
    const hint = pe?.error ? IN_2XX_HINTS[pe.error] : undefined;
    const fix = slack ? 'Check the body\'s "ok" field (Slack: "Callers should always check the value of the ok params in the response"), not just the HTTP status.'
      : 'Branch on the body (error field, presence of access_token), not only on the HTTP status code.';
    return [{
      code: 'response.error_in_2xx', severity: later ? 'error' : 'warning',
      title: `HTTP ${ex.response!.status} carrying an error: ${errorText(ex)}`.slice(0, 200),
      detail: `The AS answered ${ex.response!.status} but the body is an error${slack ? ' ({"ok":false})' : ''}: ${errorText(ex)}. A client that only checks the status reads access_token as undefined. `
        + `${later ? `It then called ${later.request.url.base} with "Authorization: Bearer" and no real token (exchange ${later.id}). ` : ''}${hint ? `${hint} ` : ''}${fix}`,
      fix,
      evidence: { ...baseEvidence(ex), ...(later ? { bearer_misuse: later.id } : {}) },
      confidence: 'high',
      exchangeIds: later ? [ex.id, later.id] : [ex.id],
    }];
  },
};

const shapeInvalid: Rule = {
  code: 'response.shape_invalid', family: 'responses', severity: 'error', kinds: ['token'],
  check(ex, ctx) {
    const r = ex.response;
    if (!r || !is2xx(ex) || ex.providerError?.error || ex.providerError?.slackOk === false) return [];
    if (r.bodyFormat !== 'json' && r.bodyFormat !== 'form') return [];
    // tokenResponse is absent when the JSON is not an object (nothing to judge field by field).
    const t = ex.tokenResponse;
    if (!t) return [];
    const problems: Array<{ problem: string; severity: 'error' | 'warning' | 'info'; text: string }> = [];
    if (!t.accessToken) problems.push({ problem: 'missing_access_token', severity: 'error', text: 'no access_token' });
    if (!t.tokenType) problems.push({ problem: 'missing_token_type', severity: 'error', text: 'no token_type' });
    const requested = ex.grantType === 'authorization_code' ? (ctx.correlation.authorize?.authorize?.scopes ?? ex.scopes) : undefined;
    if (t.accessToken && !t.idToken && requested?.includes('openid')) {
      problems.push({ problem: 'missing_id_token', severity: 'error', text: 'no id_token although the authorize request asked for openid' });
    }
    if (typeof t.expiresIn === 'string') problems.push({ problem: 'expires_in_string', severity: 'warning', text: `expires_in is a string ("${t.expiresIn.slice(0, 20)}")` });
    else if (typeof t.expiresIn === 'number' && !Number.isInteger(t.expiresIn)) problems.push({ problem: 'expires_in_float', severity: 'warning', text: `expires_in is not an integer (${t.expiresIn})` });
    if (t.tokenType && t.tokenType !== 'Bearer' && t.tokenType !== 'DPoP' && ['bearer', 'dpop'].includes(t.tokenType.toLowerCase())) {
      problems.push({ problem: 'token_type_case', severity: 'warning', text: `token_type is "${t.tokenType}"` });
    }
    if (t.scopeRaw?.includes(',') && !t.scopeRaw.includes(' ')) problems.push({ problem: 'scope_comma_delimited', severity: 'warning', text: `scope is comma-delimited ("${t.scopeRaw.slice(0, 60)}")` });
    if (t.accessToken && !/no-store/i.test(r.cacheControl ?? '')) problems.push({ problem: 'missing_cache_control_no_store', severity: 'info', text: 'no Cache-Control: no-store' });
    if (!problems.length) return [];
    const severity = problems.some((p) => p.severity === 'error') ? 'error' : problems.some((p) => p.severity === 'warning') ? 'warning' : 'info';
    const fix = severity === 'error' ? 'Check the grant and scopes requested (openid for an id_token); report the AS deviation upstream.'
      : 'Parse tolerantly (expires_in as number or string, token_type case-insensitively, scope split on space or comma); report the AS deviation upstream.';
    const hints = [
      ex.provider === 'github' ? 'GitHub returns token_type=bearer in lower case and comma-separated scopes.' : undefined,
      ex.provider === 'entra' && problems.some((p) => p.problem === 'expires_in_string') ? 'Entra returns expires_in as a JSON string in some flows.' : undefined,
    ].filter(Boolean);
    return [{
      code: 'response.shape_invalid', severity,
      title: `Token response shape: ${problems.map((p) => p.text).join('; ')}`.slice(0, 200),
      detail: `RFC 6749 §5.1 requires access_token and token_type (case-insensitive, §7.1), an integer expires_in and Cache-Control: no-store; OIDC Core §3.1.3.3 requires id_token when openid was requested. Found: ${problems.map((p) => p.text).join('; ')}. ${hints.join(' ')} ${fix}`.replace(/\s+/g, ' '),
      fix,
      evidence: {
        ...baseEvidence(ex), problems: problems.map((p) => p.problem),
        fields: { access_token: !!t.accessToken, token_type: t.tokenType ?? null, expires_in: t.expiresIn ?? null, id_token: !!t.idToken, refresh_token: !!t.refreshToken, scope: t.scopeRaw ?? null },
      },
      confidence: 'high', exchangeIds: [ex.id],
    }];
  },
};

function isUnavailable(e: AnalyzedExchange): boolean {
  return unavailableReason(e) !== undefined;
}

/** Failures against this host since its last success (within the outage window), when they span enough clients. */
function outage(ex: AnalyzedExchange, ctx: RuleContext): AnalyzedExchange[] | undefined {
  const win = ctx.thresholds.outage;
  const earlier = ctx.correlation.sameHostEarlier;
  const failing: AnalyzedExchange[] = [];
  for (let i = earlier.length - 1; i >= 0; i--) {
    const e = earlier[i]!;
    if (ex.at - e.at > win.windowMs || is2xx(e)) break;
    if (e.kind !== 'other' && isUnavailable(e)) failing.unshift(e);
  }
  if (!failing.length) return undefined;
  const who = new Set([...failing, ex].map((e) => e.clientId ?? e.clientAddress ?? e.id));
  return who.size >= win.count ? failing : undefined;
}

const TRANSPORT_TEXT: Record<string, string> = {
  timeout: 'did not answer in time', reset: 'closed the connection', refused: 'refused the connection', dns: 'host name did not resolve (check the host, tenant or region spelling)',
};

const unavailable: Rule = {
  code: 'provider.unavailable', family: 'responses', severity: 'error', kinds: OAUTH_KINDS,
  check(ex, ctx) {
    const reason = unavailableReason(ex);
    if (!reason) return [];
    const [source, value] = reason.split(':') as [string, string];
    const what = source === 'transport' ? `the AS ${TRANSPORT_TEXT[value] ?? value} (seen by oauth-lens upstream)`
      : source === 'http' ? `HTTP ${value}${ex.providerError?.htmlTitle ? ` ("${ex.providerError.htmlTitle}")` : ''}`
        : source === 'aadsts' ? `Entra AADSTS${value} (transient)` : `error "${value}"`;
    const failing = outage(ex, ctx);
    const rl = rateLimitInfo(ex);
    const codeHint = ex.grantType === 'authorization_code' || ex.grantType === 'refresh_token'
      ? ` A retried ${ex.grantType === 'authorization_code' ? 'code' : 'refresh token'} may already be consumed: if the retry gets invalid_grant, this failure is the cause (retry.masked_original_failure).` : '';
    const fix = 'Retry only this class of failure, with exponential backoff, jitter and a cap; check the provider status page.';
    return [{
      code: 'provider.unavailable', severity: 'error',
      title: `${failing ? 'Provider outage: ' : ''}${ex.kind} request failed upstream: ${what}`.slice(0, 200),
      detail: `The authorization server failed, not the client's request: ${what}${latencyMs(ex) !== undefined ? ` after ${seconds(latencyMs(ex)!)}` : ''}.`
        + `${failing ? ` ${failing.length + 1} failures from ${ctx.thresholds.outage.count}+ clients/flows against ${ex.request.url.host} within ${seconds(ctx.thresholds.outage.windowMs)} and no success: provider-side outage.` : ''}`
        + `${codeHint} ${fix}`,
      fix,
      evidence: {
        ...baseEvidence(ex), reason, latency_ms: latencyMs(ex) ?? null,
        ...(ex.response?.server ? { server: ex.response.server } : {}), ...(ex.response?.via ? { via: ex.response.via } : {}),
        ...(ex.providerError?.htmlExcerpt ? { html_excerpt: ex.providerError.htmlExcerpt } : {}),
        ...(rl.retryAfterRaw ? { retry_after: rl.retryAfterRaw } : {}),
        ...(failing ? { outage: { host: ex.request.url.host, failures: failing.length + 1, exchanges: failing.map((e) => e.id).slice(-10) } } : {}),
      },
      confidence: source === 'transport' || source === 'http' || source === 'error' ? 'high' : 'medium',
      exchangeIds: failing ? [...failing.map((e) => e.id).slice(-10), ex.id] : [ex.id],
    }];
  },
};

/** Throttling signal of one response, or undefined. */
function throttle(ex: AnalyzedExchange): { signal: string; severity: 'error' | 'warning' } | undefined {
  const s = ex.response?.status;
  const pe = ex.providerError;
  if (s === 429) return { signal: 'HTTP 429', severity: 'error' };
  // Every other signal (AADSTS, slow_down, Retry-After, rate-limit headers) makes the engine build a providerError.
  if (!pe) return undefined;
  const aad = pe?.aadsts.find((c) => c === '90055' || c === '50196');
  if (aad) return { signal: `AADSTS${aad}${aad === '90055' ? ' TenantThrottlingError' : ' LoopDetected'}`, severity: 'error' };
  if (pe?.error === 'slow_down') return { signal: 'slow_down (device flow)', severity: 'error' };
  if (s === 503 && ex.kind === 'revocation' && rateLimitInfo(ex).retryAfterRaw) return { signal: '503 + Retry-After (RFC 7009 §2.2.1)', severity: 'error' };
  const rl = rateLimitInfo(ex);
  if (rl.limit && rl.remaining !== undefined && rl.remaining < rl.limit * 0.1) return { signal: `rate limit nearly exhausted (${rl.remaining}/${rl.limit} left)`, severity: 'warning' };
  return undefined;
}

/** The request to the same endpoint just before / after this one (Retry-After concerns the next request only). */
function neighbour(ex: AnalyzedExchange, list: readonly AnalyzedExchange[], backwards: boolean): AnalyzedExchange | undefined {
  for (let i = backwards ? list.length - 1 : 0; backwards ? i >= 0 : i < list.length; i += backwards ? -1 : 1) {
    const e = list[i]!;
    if (e.request.url.base === ex.request.url.base) return e;
  }
  return undefined;
}

function allowedAt(ex: AnalyzedExchange): number | undefined {
  const rl = rateLimitInfo(ex);
  return rl.retryAt ?? (ex.response?.status === 429 ? rl.resetAt : undefined);
}

const throttled: Rule = {
  code: 'rate_limit.throttled', family: 'responses', severity: 'error', kinds: OAUTH_KINDS,
  check(ex, ctx) {
    const t = throttle(ex);
    // #retry_after_ignored, seen from the later request: an earlier throttled answer told it to wait.
    const previous = neighbour(ex, ctx.correlation.sameHostEarlier, true);
    const earlier = previous && throttle(previous)?.severity === 'error' ? previous : undefined;
    const earlierAllowed = earlier ? allowedAt(earlier) : undefined;
    const ignoredEarlier = earlier && earlierAllowed !== undefined && ex.at < earlierAllowed ? earlier : undefined;
    // … and from the throttled exchange, when re-evaluated after the next request arrived.
    const myAllowed = allowedAt(ex);
    const next = t && myAllowed !== undefined ? neighbour(ex, ctx.correlation.sameHostLater, false) : undefined;
    const ignoredLater = next && myAllowed !== undefined && next.at < myAllowed ? next : undefined;
    if (!t && !ignoredEarlier) return [];
    const rl = rateLimitInfo(ex);
    const hint = ex.provider === 'okta' ? ' Okta: X-Rate-Limit-Reset is a UTC epoch second.' : ex.provider === 'auth0' ? ' Auth0: cache M2M tokens; quotas count token requests.'
      : ex.provider === 'slack' ? ' Slack: honour Retry-After.' : ex.provider === 'entra' ? ' Entra: reduce identical requests (AADSTS50196 loop detection).' : '';
    const fix = 'Honour Retry-After (or the reset time) before the next request; cache tokens until expiry; spread scheduled refreshes with jitter.';
    const parts: string[] = [];
    if (t) parts.push(`The AS throttled this request: ${t.signal}${rl.retryAfterRaw ? `, Retry-After ${rl.retryAfterRaw}` : ''}.`);
    if (ignoredLater && myAllowed !== undefined) parts.push(`The client sent the next request (${ignoredLater.id}) ${seconds(myAllowed - ignoredLater.at)} before it was allowed to.`);
    if (ignoredEarlier && earlierAllowed !== undefined) parts.push(`This request came ${seconds(earlierAllowed - ex.at)} before the time the earlier throttled answer (${ignoredEarlier.id}) allowed: Retry-After ignored.`);
    const ids = [...(ignoredEarlier ? [ignoredEarlier.id] : []), ex.id, ...(ignoredLater ? [ignoredLater.id] : [])];
    const ignored = !!(ignoredEarlier ?? ignoredLater);
    return [{
      code: 'rate_limit.throttled', severity: ignored ? 'error' : (t?.severity ?? 'error'),
      title: `${ignored ? 'Retry-After ignored; ' : ''}${t ? `rate limited: ${t.signal}` : 'request sent before the rate-limit wait elapsed'}`,
      detail: `${parts.join(' ')}${hint} ${fix}`,
      fix,
      evidence: {
        ...baseEvidence(ex), ...(t ? { signal: t.signal } : {}), rate_limit_headers: rl.headers,
        ...(myAllowed !== undefined ? { allowed_at: new Date(myAllowed).toISOString() } : {}),
        ...(ignoredEarlier && earlierAllowed !== undefined ? { retry_after_ignored: { earlier: ignoredEarlier.id, allowed_at: new Date(earlierAllowed).toISOString(), sent_at: new Date(ex.at).toISOString() } } : {}),
        ...(ignoredLater && myAllowed !== undefined ? { retry_after_ignored: { later: ignoredLater.id, early_by_ms: myAllowed - ignoredLater.at } } : {}),
      },
      confidence: 'high', exchangeIds: ids,
    }];
  },
};

export const rules: Rule[] = [nonJson, errorIn2xx, shapeInvalid, unavailable, throttled, retryStorm, maskedFailure];

/**
 * §1.8 Request framing and transport (R37–R42): how the request was put on the wire — content type,
 * parameters in the query, repeated/empty/misspelled parameters, redirects of token endpoints, plain
 * http, wrong path or method.
 */
import type { AnalyzedExchange, Param } from '../types.js';
import type { FindingDraft, Rule, RuleContext } from './types.js';
import { OAUTH_KINDS, TOKEN_LIKE_KINDS, baseEvidence, errorText, is2xx } from './responses-util.js';
import { nearMissName, paramDuplicates, queryBodyOverlap, emptyParams } from './framing-util.js';

const TOKEN_LIKE: ReadonlySet<string> = new Set(TOKEN_LIKE_KINDS);
/** Recognised only by score: rules that need an OAuth endpoint also need a grant_type (§3.3). */
const weaklyRecognised = (ex: AnalyzedExchange) => ex.recognition === 'heuristic' || ex.recognition === 'probable';

const FORM_FIX = 'Send the parameters as application/x-www-form-urlencoded UTF-8 (URLSearchParams / a form encoder), not a JSON serializer or multipart.';

const wrongContentType: Rule = {
  code: 'request.wrong_content_type', family: 'framing', severity: 'error', kinds: TOKEN_LIKE_KINDS,
  check(ex) {
    const req = ex.request;
    if (req.method !== 'POST') return [];
    const jsonBody = req.bodyFormat === 'json' || req.contentType === 'application/json' || req.contentType?.endsWith('+json');
    if (weaklyRecognised(ex) && !ex.grantType && !req.jsonKeys?.includes('grant_type')) return [];
    let problem: string | undefined;
    if (ex.response?.status === 411) problem = 'length_required';
    else if (jsonBody) problem = 'json';
    else if (req.contentType?.startsWith('multipart/')) problem = 'multipart';
    else if (req.contentType === 'text/plain') problem = 'text_plain';
    else if (!req.contentType && req.bodySize > 0) problem = 'missing';
    if (!problem) return [];
    const accepted = is2xx(ex);
    const what: Record<string, string> = {
      json: `a JSON body (Content-Type ${req.contentType ?? 'none'})`,
      multipart: 'a multipart/form-data body',
      text_plain: 'a text/plain body',
      missing: 'a body without Content-Type',
      length_required: 'a chunked body (no Content-Length), which the AS refused with 411 Length Required',
    };
    const hints: string[] = [];
    if (problem === 'json' && ex.provider === 'auth0') hints.push('Auth0 accepts JSON on /oauth/token, but other servers and proxies do not.');
    if (problem === 'missing' && ex.provider === 'cognito') hints.push('Cognito answers 405 when the token request has no Content-Type.');
    if (ex.providerError?.error === 'unsupported_grant_type' || ex.providerError?.error === 'invalid_request') {
      hints.push(`The AS answered ${errorText(ex)} because it could not read grant_type from a non-form body.`);
    }
    const fix = problem === 'length_required' ? 'Send a Content-Length (buffer the form body) instead of chunked transfer encoding.' : FORM_FIX;
    const keys = req.jsonKeys ?? req.form?.map((p) => p.name);
    return [{
      code: 'request.wrong_content_type',
      severity: accepted ? 'warning' : 'error',
      title: `Token request sent ${what[problem] ?? problem}`,
      detail: `RFC 6749 §4.1.3 and App. B require application/x-www-form-urlencoded parameters at the ${ex.kind} endpoint; this request used ${what[problem] ?? problem}.`
        + `${accepted ? ' This AS accepted it, but it is not portable.' : ''} ${hints.join(' ')} ${fix}`.replace(/\s+/g, ' ').trim(),
      fix,
      evidence: { ...baseEvidence(ex), problem, content_type: req.contentType ?? null, body_format: req.bodyFormat, body_size: req.bodySize, ...(keys ? { keys } : {}) },
      confidence: 'high',
      exchangeIds: [ex.id],
    }];
  },
};

/** Parameters that must never travel in a token request's URL (RFC 6749 §3.2, §2.3.1). */
const QUERY_PARAMS = ['grant_type', 'code', 'refresh_token', 'client_secret', 'code_verifier', 'client_assertion', 'password', 'device_code'];
/** Services documented as taking token parameters in the query (§3.3); still reported by secret.in_url. */
const QUERY_EXEMPT = new Set(['facebook', 'slack', 'azure_imds']);

const paramsInQuery: Rule = {
  code: 'request.params_in_query', family: 'framing', severity: 'error', kinds: ['token'],
  check(ex) {
    if (weaklyRecognised(ex) && !ex.grantType) return [];
    const inQuery = [...new Set(ex.request.query.map((p) => p.name).filter((n) => QUERY_PARAMS.includes(n)))];
    if (!inQuery.length) return [];
    const bodyNames = new Set((ex.request.form ?? []).map((p) => p.name));
    const onlyInQuery = inQuery.filter((n) => !bodyNames.has(n));
    // Present in both places is request.param_hygiene's finding.
    if (!onlyInQuery.length) return [];
    const exempt = ex.provider !== undefined && QUERY_EXEMPT.has(ex.provider);
    const hint = ex.provider === 'facebook' ? ' Facebook documents a GET exchange; prefer POST anyway so the secret stays out of logs.'
      : ex.provider === 'slack' ? ' Slack accepts arguments in the query, but secrets there end up in logs.' : '';
    const fix = 'POST the parameters in an application/x-www-form-urlencoded body; keep the URL free of OAuth parameters.';
    return [{
      code: 'request.params_in_query',
      severity: exempt ? 'warning' : 'error',
      title: `OAuth parameters in the URL query of a ${ex.request.method} token request: ${onlyInQuery.join(', ')}`,
      detail: `RFC 6749 §3.2: "The client MUST use the HTTP POST method when making access token requests", with parameters in the body. `
        + `${ex.request.method === 'GET' ? 'This was a GET. ' : ex.request.bodySize === 0 ? 'The POST body was empty. ' : 'These parameters were only in the query, which the AS ignores. '}`
        + `Symptoms: "Grant type is missing", unsupported_grant_type or 405.${hint} ${fix}`,
      fix,
      evidence: { ...baseEvidence(ex), query_params: onlyInQuery, body_size: ex.request.bodySize },
      confidence: 'high',
      exchangeIds: [ex.id],
    }];
  },
};

const paramHygiene: Rule = {
  code: 'request.param_hygiene', family: 'framing', severity: 'error', kinds: [...TOKEN_LIKE_KINDS, 'authorize'],
  check(ex) {
    if (weaklyRecognised(ex) && !ex.grantType) return [];
    const problems: Array<{ kind: string; name: string; severity: 'error' | 'warning'; text: string }> = [];
    const params: Param[] = ex.kind === 'authorize' ? ex.params : (ex.request.form ?? ex.params);
    for (const d of paramDuplicates(params)) {
      problems.push({ kind: 'repeated', name: d.name, severity: 'error', text: `"${d.name}" sent ${d.count} times${d.differ ? ' with different values' : ''}` });
    }
    if (ex.kind !== 'authorize') {
      for (const o of queryBodyOverlap(ex.request.query, ex.request.form ?? [])) {
        problems.push({ kind: 'query_and_body', name: o.name, severity: o.differ ? 'error' : 'warning', text: `"${o.name}" in both the query and the body${o.differ ? ' with different values' : ''}` });
      }
    }
    for (const name of emptyParams(params)) problems.push({ kind: 'empty', name, severity: 'warning', text: `"${name}" sent with an empty value` });
    const present = new Set(params.map((p) => p.name));
    for (const p of present) {
      const canonical = nearMissName(p, present);
      if (canonical) problems.push({ kind: 'near_miss', name: p, severity: 'error', text: `"${p}" looks like a misspelling of "${canonical}"` });
    }
    if (!problems.length) return [];
    const severity = problems.some((p) => p.severity === 'error') ? 'error' : 'warning';
    const fix = 'Build the parameter set once; omit a parameter instead of sending it empty; use the exact RFC names.';
    return [{
      code: 'request.param_hygiene', severity,
      title: `Request parameter problem: ${problems.map((p) => p.text).join('; ').slice(0, 160)}`,
      detail: `RFC 6749 §3.1/§3.2: "Request and response parameters MUST NOT be included more than once" and parameters sent without a value are treated as omitted (some servers reject them: an empty code_verifier fails PKCE). `
        + `Found: ${problems.map((p) => p.text).join('; ')}. ${fix}`,
      fix,
      evidence: { ...baseEvidence(ex), problems: problems.map(({ kind, name }) => ({ kind, name })) },
      confidence: 'high',
      exchangeIds: [ex.id],
    }];
  },
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function resolve(location: string, from: string): string | undefined {
  try {
    const u = new URL(location, from);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return undefined;
  }
}

interface FollowUp { ex: AnalyzedExchange; lost: string[] }

function followUpLosses(original: AnalyzedExchange, follow: AnalyzedExchange): string[] {
  const lost: string[] = [];
  if (follow.request.method !== original.request.method) lost.push(`method ${original.request.method}→${follow.request.method}`);
  if (original.request.bodySize > 0 && follow.request.bodySize === 0) lost.push('body dropped');
  if (original.request.authorizationScheme && !follow.request.authorizationScheme) lost.push('Authorization header dropped');
  return lost;
}

function findFollowUp(ex: AnalyzedExchange, ctx: RuleContext): FollowUp | undefined {
  const target = ex.response?.location ? resolve(ex.response.location, ex.request.url.href) : undefined;
  if (!target) return undefined;
  const norm = (s: string) => s.toLowerCase();
  const follow = ctx.correlation.sameHostLater.find((l) => l.at - ex.at <= ctx.thresholds.redirectFollowMs && norm(l.request.url.base) === norm(target));
  return follow ? { ex: follow, lost: followUpLosses(ex, follow) } : undefined;
}

function redirectOrigin(ex: AnalyzedExchange, ctx: RuleContext): AnalyzedExchange | undefined {
  const earlier = ctx.correlation.sameHostEarlier;
  // Newest first, without copying the (up to 100-long) list: only the last redirectFollowMs matter.
  for (let i = earlier.length - 1; i >= 0; i--) {
    const e = earlier[i]!;
    if (ex.at - e.at > ctx.thresholds.redirectFollowMs) break;
    if (!TOKEN_LIKE.has(e.kind) || !e.response || !REDIRECTS.has(e.response.status) || !e.response.location) continue;
    const target = resolve(e.response.location, e.request.url.href);
    if (target && target.toLowerCase() === ex.request.url.base.toLowerCase()) return e;
  }
  return undefined;
}

const REDIRECT_FIX = 'Configure the exact token_endpoint from discovery (trailing slash, scheme, host). AS operators: serve both URL forms or redirect with 308.';

const redirected: Rule = {
  code: 'request.redirected', family: 'framing', severity: 'error',
  check(ex, ctx) {
    // The redirect response itself.
    if (TOKEN_LIKE.has(ex.kind) && ex.response && REDIRECTS.has(ex.response.status)) {
      const follow = findFollowUp(ex, ctx);
      const preserving = ex.response.status === 307 || ex.response.status === 308;
      if (follow && follow.lost.length === 0 && preserving) return [];
      const outcome = follow
        ? follow.lost.length ? `The client followed to ${follow.ex.request.method} ${follow.ex.request.url.base} and lost: ${follow.lost.join(', ')} (answered ${errorText(follow.ex)}).`
          : `The client followed with the same method and body (answered ${errorText(follow.ex)}), but a ${ex.response.status} lets clients switch POST to GET.`
        : `No follow-up request was seen within ${ctx.thresholds.redirectFollowMs} ms: the client may have tried to parse the redirect response itself.`;
      return [draft(ex, follow?.ex, ex, follow ? 'high' : 'medium',
        `Token endpoint answered ${ex.response.status} redirect to ${ex.response.location}`,
        `The ${ex.kind} endpoint redirected ${ex.request.method} ${ex.request.url.base} with ${ex.response.status} to ${ex.response.location}. RFC 9110 §15.4.2–15.4.4 let clients turn a POST into a GET on 301/302/303, dropping the body and credentials. ${outcome}`,
        { redirect_status: ex.response.status, location: ex.response.location, ...(follow ? { follow_up: follow.ex.id, follow_up_method: follow.ex.request.method, follow_up_body_size: follow.ex.request.bodySize, lost: follow.lost } : {}) })];
    }
    // The follow-up: attach where the failure shows.
    const origin = redirectOrigin(ex, ctx);
    if (!origin?.response) return [];
    const lost = followUpLosses(origin, ex);
    if (!lost.length) return [];
    return [draft(origin, ex, ex, 'high',
      `Redirected token request lost ${lost.join(', ')}`,
      `${origin.request.method} ${origin.request.url.base} was redirected (${origin.response.status}) to ${ex.request.url.base}; the follow-up ${lost.join(', ')} and got ${errorText(ex)}.`,
      { redirect_status: origin.response.status, location: origin.response.location, lost })];
  },
};

function draft(origin: AnalyzedExchange, follow: AnalyzedExchange | undefined, at: AnalyzedExchange, confidence: 'high' | 'medium',
  title: string, why: string, extra: Record<string, unknown>): FindingDraft {
  const ids = [origin.id, ...(follow && follow.id !== origin.id ? [follow.id] : [])];
  return {
    code: 'request.redirected', severity: 'error', title, detail: `${why} ${REDIRECT_FIX}`, fix: REDIRECT_FIX,
    evidence: { ...baseEvidence(at), original: `${origin.request.method} ${origin.request.url.base}`, ...extra },
    confidence,
    exchangeIds: ids,
  };
}

const PLAIN_HTTP_KINDS = ['token', 'introspection', 'revocation', 'userinfo', 'par', 'device_authorization', 'authorize', 'discovery'] as const;

const plainHttp: Rule = {
  code: 'transport.plain_http', family: 'framing', severity: 'error', kinds: PLAIN_HTTP_KINDS,
  check(ex) {
    const fix = 'Use https endpoints only; treat every secret already sent over http as compromised and rotate it.';
    const out: FindingDraft[] = [];
    const url = ex.request.url;
    // Azure IMDS is link-local http by design (§3.3).
    if (url.scheme === 'http' && !url.isLoopback && ex.provider !== 'azure_imds' && ex.kind !== 'discovery') {
      const exposed = [...new Set(ex.secrets.filter((s) => s.place.startsWith('request.') || s.place.startsWith('response.')).map((s) => s.name))];
      out.push({
        code: 'transport.plain_http', severity: 'error',
        title: `${ex.kind} endpoint called over plain http: ${url.base}`,
        detail: `RFC 6749 §3.1/§3.2 require TLS at OAuth endpoints; this ${ex.kind} request went to ${url.base} in clear text${exposed.length ? `, exposing ${exposed.join(', ')}` : ''}. ${fix}`,
        fix,
        evidence: { ...baseEvidence(ex), scheme: url.scheme, host: url.host, exposed },
        confidence: 'high', exchangeIds: [ex.id],
      });
    }
    const meta = ex.discovery;
    if (ex.kind === 'discovery' && meta) {
      const endpoints = Object.entries(meta).filter(([k, v]) => /Endpoint$|Uri$/.test(k) && typeof v === 'string' && /^http:\/\//i.test(v) && !/^http:\/\/(localhost|127\.|\[::1\])/i.test(v));
      if (endpoints.length) {
        out.push({
          code: 'transport.plain_http', severity: 'error',
          title: `Discovery document advertises http endpoints (${endpoints.map(([k]) => k).join(', ')})`,
          detail: `The discovery document of ${meta.issuer} lists plain-http endpoints: ${endpoints.map(([k, v]) => `${k}=${String(v)}`).join(', ')}. Clients following it send secrets in clear text (often a TLS-terminating proxy without X-Forwarded-Proto). ${fix}`,
          fix,
          evidence: { ...baseEvidence(ex), issuer: meta.issuer, endpoints: Object.fromEntries(endpoints) },
          confidence: 'high', exchangeIds: [ex.id],
        });
      }
    }
    return out;
  },
};

function pathHints(ex: AnalyzedExchange, ctx: RuleContext): string[] {
  const path = ex.request.url.path;
  const hints: string[] = [];
  if (/\/auth\/realms\//.test(path)) hints.push('Keycloak 17+ removed /auth from the default context path: drop "/auth" from the URL, or run the server with --http-relative-path=/auth.');
  if (ex.provider === 'okta' || /\.okta(preview|-emea)?\.com$/.test(ex.request.url.host)) hints.push('Okta: the org authorization server uses /oauth2/v1/…, a custom one /oauth2/{authServerId}/v1/… (e.g. /oauth2/default/v1/token); issuer and paths must match.');
  if (ex.provider === 'entra') {
    if (/^\/oauth2\//.test(path)) hints.push('Entra: the tenant segment is missing (…/{tenant}/oauth2/v2.0/token).');
    else if (/\/oauth2\/(token|authorize)\/?$/.test(path)) hints.push('Entra: this is the v1 endpoint; v2 apps use /{tenant}/oauth2/v2.0/token.');
  }
  if (ex.kind === 'discovery') hints.push('RFC 8414 inserts /.well-known/oauth-authorization-server between host and issuer path; OIDC appends /.well-known/openid-configuration to the issuer.');
  if (ex.kind === 'token' && ex.request.method !== 'POST') hints.push(`The token endpoint only takes POST; this was ${ex.request.method}.`);
  const meta = ctx.correlation.discovery;
  const advertised = ex.kind === 'token' ? meta?.tokenEndpoint : ex.kind === 'userinfo' ? meta?.userinfoEndpoint : ex.kind === 'authorize' ? meta?.authorizationEndpoint
    : ex.kind === 'revocation' ? meta?.revocationEndpoint : ex.kind === 'introspection' ? meta?.introspectionEndpoint : undefined;
  if (advertised && advertised !== ex.request.url.base) hints.push(`Discovery advertises ${advertised}.`);
  return hints;
}

const notFound: Rule = {
  code: 'endpoint.not_found_or_method', family: 'framing', severity: 'error', kinds: OAUTH_KINDS,
  check(ex, ctx) {
    const s = ex.response?.status;
    const aadGet = ex.providerError?.aadsts.includes('90056') ?? false;
    const slackVersion = ex.providerError?.error === 'oauth_authorization_url_mismatch';
    if (!(s === 404 || s === 405 || s === 501 || aadGet || slackVersion)) return [];
    if (weaklyRecognised(ex) && !ex.grantType) return [];
    const hints = pathHints(ex, ctx);
    if (aadGet) hints.unshift('Entra AADSTS90056: the app should send a POST request to the /token endpoint.');
    if (slackVersion) hints.unshift('Slack oauth_authorization_url_mismatch: the flow started on one authorize URL version (/oauth/authorize vs /oauth/v2/authorize) and was redeemed at the other token method (oauth.access vs oauth.v2.access); use the v2 pair.');
    const fix = 'Take endpoint URLs from the discovery document and correct the base path and method.';
    return [{
      code: 'endpoint.not_found_or_method', severity: 'error',
      title: `${ex.kind} endpoint ${ex.request.method} ${ex.request.url.base} answered ${slackVersion ? 'oauth_authorization_url_mismatch' : aadGet ? 'AADSTS90056' : s}`,
      detail: `The ${ex.kind} request got ${errorText(ex)}: the path, base path or method is wrong for this server. ${hints.join(' ')} ${fix}`.trim(),
      fix,
      evidence: { ...baseEvidence(ex), method: ex.request.method, path: ex.request.url.path, ...(ctx.correlation.discovery ? { discovery_issuer: ctx.correlation.discovery.issuer } : {}) },
      confidence: hints.length ? 'high' : 'medium',
      exchangeIds: [ex.id],
    }];
  },
};

export const rules: Rule[] = [wrongContentType, paramsInQuery, paramHygiene, redirected, plainHttp, notFound];

/**
 * Turns one raw `CapturedExchange` into `AnalyzedExchange` facts: parse → classify → mint secret
 * facts (fingerprints, PKCE hashes, anomalies). Raw secret values exist only inside this call and the
 * per-exchange SecretCollector; the returned facts hold none.
 */
import type { CapturedExchange } from '../capture/types.js';
import { authorizationFacts, clientAuthFacts, pkceFactsFor, refOf, textOf } from './analyze-auth.js';
import { classify, type Classification, type EndpointBook } from './classify.js';
import { extractDiscovery, extractJwksKids, extractProviderError, extractTokenResponse, splitScopes } from './extract.js';
import type { Fingerprinter } from './fingerprint.js';
import type { SecretCollector } from './inventory.js';
import { decodeJwt, looksLikeJwt } from './jwt.js';
import { htmlExcerpt, htmlForms, htmlTitle } from './html.js';
import {
  bodyText, detectFormat, headerValue, mediaType, parseCookieHeader, parseForm, parseSetCookie, parseUrl, tryJson,
  type Pairs,
} from './parse.js';
import { copyTls, redactPath, redactText, redactUrl, secretOrText, type BodyInput } from './redact.js';
import type {
  AnalyzedExchange, AuthorizeFacts, AuthorizeResponseFacts, DecodedJwt, Param, RequestFacts, ResponseFacts, SecretPlace,
} from './types.js';

export interface AnalyzeDeps {
  book: EndpointBook;
  fingerprinter: Fingerprinter;
}

export interface Analysis {
  facts: AnalyzedExchange;
  classification: Classification;
  requestBody: BodyInput;
  responseBody?: BodyInput;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const TOKENISH = new Set(['token', 'introspection', 'revocation', 'par', 'device_authorization']);
const JWT_PARAMS = new Set(['client_assertion', 'assertion', 'subject_token', 'actor_token', 'id_token_hint', 'request', 'logout_token', 'client_secret']);

function bodyInput(body: CapturedExchange['request']['body'], headers: CapturedExchange['request']['headers']) {
  const ct = headerValue(headers, 'content-type');
  const enc = headerValue(headers, 'content-encoding');
  const decoded = bodyText(body, enc);
  const type = mediaType(ct);
  const format = detectFormat(type, decoded.text);
  const json = format === 'json' && decoded.text !== undefined ? tryJson(decoded.text) : undefined;
  const input: BodyInput = {
    body, format,
    ...(type ? { mimeType: type } : {}),
    ...(enc ? { encoding: enc } : {}),
    ...(decoded.text !== undefined ? { text: decoded.text } : {}),
    ...(decoded.error ? { textError: decoded.error } : {}),
    ...(json !== undefined ? { json } : {}),
  };
  const formLike = decoded.text !== undefined && decoded.text !== '' && (format === 'form' || (type === 'application/x-www-form-urlencoded' && format !== 'json'));
  if (formLike && format !== 'form') input.format = 'form';
  return { input, type, form: formLike ? parseForm(decoded.text ?? '') : undefined, json };
}

function toParams(pairs: Pairs, c: SecretCollector, place: SecretPlace): Param[] {
  return pairs.map(([name, value]) => ({ name, value: secretOrText(name, value, c, place) }));
}

const rawOf = (pairs: Pairs | undefined, name: string): string | undefined => pairs?.find(([n]) => n === name)?.[1];

export function analyze(captured: CapturedExchange, seq: number, c: SecretCollector, deps: AnalyzeDeps): Analysis {
  const { fingerprinter: fp, book } = deps;
  const at = captured.timings.start;
  const req = captured.request;
  const url = parseUrl(req.url);
  const query = parseForm(url.query ?? '');
  const fragment = url.fragment?.includes('=') ? parseForm(url.fragment) : [];
  const rq = bodyInput(req.body, req.headers);
  const reqJsonObj = isObj(rq.json) ? rq.json : undefined;

  const res = captured.response;
  const rs = res ? bodyInput(res.body, res.headers) : undefined;
  const respHtml = rs?.input.format === 'html' ? rs.input.text : undefined;
  const rawLocation = res ? headerValue(res.headers, 'location') : undefined;
  const loc = rawLocation !== undefined ? parseUrl(rawLocation.includes('://') ? rawLocation : `https://relative.invalid${rawLocation.startsWith('/') ? '' : '/'}${rawLocation}`) : undefined;
  const locQuery = loc ? parseForm(loc.query ?? '') : [];
  const locFragment = loc?.fragment?.includes('=') ? parseForm(loc.fragment) : [];
  const forms = respHtml ? htmlForms(respHtml) : [];
  const formPost = forms.find((f) => f.method === 'post' && f.inputs.some(([n]) => n === 'code' || n === 'error' || n === 'id_token'));

  const classification = classify({
    method: req.method.toUpperCase(),
    url,
    requestHeaders: req.headers,
    ...(rq.type ? { contentType: rq.type } : {}),
    ...(rq.form ? { form: rq.form } : {}),
    ...(reqJsonObj ? { json: reqJsonObj } : {}),
    query,
    ...(res && rs ? {
      response: {
        status: res.status,
        headers: res.headers,
        json: rs.json,
        ...(rs.form ? { formNames: rs.form.map(([n]) => n) } : {}),
        locationParams: [...locQuery, ...locFragment],
        ...(formPost ? { formPostInputs: formPost.inputs } : {}),
        empty: rs.input.format === 'empty',
      },
    } : {}),
  }, book);
  const kind = classification.kind;

  // The OAuth parameter set and where it came from.
  let pairs: Pairs;
  let place: SecretPlace;
  const post = req.method.toUpperCase() === 'POST';
  if (TOKENISH.has(kind)) {
    if (rq.form) [pairs, place] = [rq.form, 'request.form'];
    else if (reqJsonObj) [pairs, place] = [Object.entries(reqJsonObj).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]), 'request.json'];
    else [pairs, place] = [query, 'request.query'];
  } else if (post && rq.form) [pairs, place] = [rq.form, 'request.form'];
  else [pairs, place] = [query, 'request.query'];
  const params = toParams(pairs, c, place);
  const queryParams = pairs === query ? params : toParams(query, c, 'request.query');
  const fragmentParams = toParams(fragment, c, 'request.fragment');
  const lookup = (name: string) => (params.some((p) => p.name === name) ? params : queryParams);

  const jwts: DecodedJwt[] = [];
  for (const [name, value] of [...pairs, ...(pairs === query ? [] : query)]) {
    if (JWT_PARAMS.has(name) && looksLikeJwt(value)) jwts.push(decodeJwt(value, `request.${name}`, fp, name === 'client_assertion' || name === 'client_secret' ? ['sub'] : []));
  }

  const h = (n: string) => headerValue(req.headers, n);
  const { scheme: authScheme, basic, bearer, bearerFacts } = authorizationFacts(h('authorization'), c, fp, jwts);
  const dpop = h('dpop');
  if (dpop && looksLikeJwt(dpop.trim())) jwts.push(decodeJwt(dpop.trim(), 'header.dpop', fp));
  const clientAuth = clientAuthFacts(basic, lookup, jwts);
  const bodyClientId = clientAuth.bodyClientId;
  const assertionJwt = clientAuth.assertionJwt;
  const pkce = pkceFactsFor(lookup, rawOf(pairs, 'code_verifier') ?? rawOf(query, 'code_verifier'), fp);

  const scopeRaw = textOf(lookup('scope'), 'scope');
  const grantType = textOf(lookup('grant_type'), 'grant_type');
  const redirectUri = textOf(lookup('redirect_uri'), 'redirect_uri');
  const clientId = bodyClientId ?? basic?.clientId ?? (typeof assertionJwt?.claims.sub === 'string' ? assertionJwt.claims.sub : undefined);

  // Request facts.
  const cookieNames = (h('cookie') ? parseCookieHeader(h('cookie') ?? '').map(([n]) => n) : []);
  const referer = h('referer');
  const contentLength = Number(h('content-length'));
  const requestFacts: RequestFacts = {
    method: req.method.toUpperCase(),
    url: {
      scheme: url.scheme, host: url.host, port: url.port, explicitPort: url.explicitPort,
      // Facts leave the engine in findings: the path as stored, token-like segments redacted (redactUrl).
      path: redactPath(url.path, c),
      href: redactUrl(req.url, c, 'request'), base: redactBase(url.base, url.path, c), isLoopback: url.isLoopback,
    },
    query: queryParams,
    fragment: fragmentParams,
    headers: [],
    ...(rq.type ? { contentType: rq.type } : {}),
    ...(Number.isFinite(contentLength) && h('content-length') !== undefined ? { contentLength } : {}),
    bodyFormat: rq.input.format,
    bodySize: req.body.size,
    ...(rq.form ? { form: pairs === rq.form ? params : toParams(rq.form, c, 'request.form') } : {}),
    ...(reqJsonObj ? { jsonKeys: Object.keys(reqJsonObj) } : {}),
    cookieNames,
    ...(h('origin') ? { origin: c.sweep(h('origin') ?? '') } : {}),
    ...(h('sec-fetch-site') ? { secFetchSite: h('sec-fetch-site') } : {}),
    ...(referer ? { referer: redactUrl(referer, c, 'referer') } : {}),
    ...(h('accept') ? { accept: h('accept') } : {}),
    ...(h('user-agent') ? { userAgent: c.sweep(h('user-agent') ?? '') } : {}),
    ...(h('via') ? { via: c.sweep(h('via') ?? '') } : {}),
    ...(h('forwarded') ? { forwarded: c.sweep(h('forwarded') ?? '') } : {}),
    ...(authScheme ? { authorizationScheme: authScheme.slice(0, 30) } : {}),
    ...(bearer ? { bearer, ...bearerFacts } : {}),
  };

  // Response facts.
  let responseFacts: ResponseFacts | undefined;
  if (res && rs) {
    const rh = (n: string) => headerValue(res.headers, n);
    const declared = rh('content-length') !== undefined ? Number(rh('content-length')) : undefined;
    const title = respHtml ? htmlTitle(respHtml) : undefined;
    responseFacts = {
      status: res.status,
      statusText: c.sweep(res.statusText),
      headers: [],
      ...(rs.type ? { contentType: rs.type } : {}),
      ...(declared !== undefined && Number.isFinite(declared) ? { contentLength: declared } : {}),
      bodyFormat: rs.input.format,
      bodySize: res.body.size,
      truncated: res.body.truncated,
      ...(rs.input.encoding ? { encoding: rs.input.encoding } : {}),
      ...(rs.input.textError ?? res.body.decodeError ? { decodeError: c.sweep(rs.input.textError ?? res.body.decodeError ?? '') } : {}),
      ...(rs.form ? { form: toParams(rs.form, c, 'response.form') } : {}),
      ...(title !== undefined ? { htmlTitle: redactText(title, c) } : {}),
      ...(respHtml ? { htmlExcerpt: redactText(htmlExcerpt(respHtml), c) } : {}),
      ...(rawLocation !== undefined ? { location: redactUrl(rawLocation, c, 'location') } : {}),
      ...(rh('cache-control') ? { cacheControl: rh('cache-control') } : {}),
      ...(rh('pragma') ? { pragma: rh('pragma') } : {}),
      ...(rh('date') && Number.isFinite(Date.parse(rh('date') ?? '')) ? { date: Date.parse(rh('date') ?? '') } : {}),
      ...(rh('server') ? { server: c.sweep(rh('server') ?? '') } : {}),
      ...(rh('via') ? { via: c.sweep(rh('via') ?? '') } : {}),
      setCookies: res.headers.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => {
        const sc = parseSetCookie(v);
        return { name: sc.name, valueRef: c.mint(`cookie:${sc.name}`, `cookie:${sc.name}`, sc.value, 'response.set_cookie'), attributes: sc.attributes };
      }),
      shortBody: declared !== undefined && !res.body.truncated && res.body.size < declared && req.method.toUpperCase() !== 'HEAD' && res.status !== 204 && res.status !== 304,
    };
  }

  // Authorization request / response.
  let authorize: AuthorizeFacts | undefined;
  if (kind === 'authorize') {
    authorize = {
      ...(textOf(params, 'response_type') !== undefined ? { responseType: textOf(params, 'response_type') } : {}),
      ...(textOf(params, 'response_mode') !== undefined ? { responseMode: textOf(params, 'response_mode') } : {}),
      ...(bodyClientId !== undefined ? { clientId: bodyClientId } : {}),
      ...(redirectUri !== undefined ? { redirectUri } : {}),
      ...(scopeRaw !== undefined ? { scopeRaw, scopes: splitScopes(scopeRaw) } : {}),
      ...(refOf(params, 'state') ? { state: refOf(params, 'state') } : {}),
      ...(refOf(params, 'nonce') ? { nonce: refOf(params, 'nonce') } : {}),
      ...(refOf(params, 'request_uri') ? { requestUri: refOf(params, 'request_uri') } : {}),
      ...(textOf(params, 'prompt') !== undefined ? { prompt: textOf(params, 'prompt') } : {}),
      ...(textOf(params, 'access_type') !== undefined ? { accessType: textOf(params, 'access_type') } : {}),
      urlLength: Buffer.byteLength(req.url),
      via: pairs === query ? 'query' : 'form',
    };
  }
  let authorizeResponse: AuthorizeResponseFacts | undefined;
  const authzRespFrom = (via: AuthorizeResponseFacts['via'], target: string, p: Param[]): AuthorizeResponseFacts => ({
    via, target, params: p,
    ...(refOf(p, 'code') ? { code: refOf(p, 'code') } : {}),
    ...(refOf(p, 'state') ? { state: refOf(p, 'state') } : {}),
    ...(textOf(p, 'iss') !== undefined ? { iss: textOf(p, 'iss') } : {}),
    ...(refOf(p, 'session_state') ? { sessionState: refOf(p, 'session_state') } : {}),
    ...(textOf(p, 'error') !== undefined ? { error: textOf(p, 'error') } : {}),
    ...(textOf(p, 'error_description') !== undefined ? { errorDescription: c.sweep(textOf(p, 'error_description') ?? '') } : {}),
    ...(textOf(p, 'error_uri') !== undefined ? { errorUri: textOf(p, 'error_uri') } : {}),
  });
  const hasResp = (p: Pairs) => p.some(([n]) => n === 'code' || n === 'error');
  // A request that itself carries code/error went to the app's redirect_uri (a callback): its Location is the app's
  // own next page (next-auth: /api/auth/error?error=OAuthCallback), not the authorization server's answer.
  const isCallback = kind === 'authorize_response' && hasResp(pairs);
  if (kind === 'authorize' || kind === 'authorize_response') {
    if (!isCallback && res && res.status >= 300 && res.status < 400 && loc && (hasResp(locQuery) || hasResp(locFragment))) {
      const fromFragment = hasResp(locFragment);
      authorizeResponse = authzRespFrom(fromFragment ? 'location_fragment' : 'location_query', loc.base,
        toParams(fromFragment ? locFragment : locQuery, c, 'response.location'));
    } else if (formPost) {
      authorizeResponse = authzRespFrom('form_post', formPost.action ? parseUrl(formPost.action).base : '', toParams(formPost.inputs, c, 'response.html'));
    } else if (kind === 'authorize_response') {
      authorizeResponse = authzRespFrom(pairs === query ? 'callback_query' : 'callback_form', url.base, params);
    }
  }

  const providerError = extractProviderError({
    ...(res ? { status: res.status, headers: res.headers } : {}),
    json: rs?.json,
    ...(rs?.form ? { form: rs.form } : {}),
    ...(responseFacts?.htmlTitle !== undefined ? { htmlTitle: responseFacts.htmlTitle } : {}),
    ...(responseFacts?.htmlExcerpt !== undefined ? { htmlExcerpt: responseFacts.htmlExcerpt } : {}),
    ...(authorizeResponse ? { params: authorizeResponse.params.map((p) => [p.name, typeof p.value === 'string' ? p.value : p.value.display] as [string, string]), paramsSource: authorizeResponse.via === 'location_fragment' ? 'fragment' as const : 'query' as const } : {}),
    now: at,
  }, (s) => redactText(s, c));

  const tokenResponse = res && rs && (kind === 'token' || kind === 'device_authorization' || kind === 'introspection' || kind === 'par')
    ? extractTokenResponse(rs.json, rs.form, c, fp, jwts) : undefined;
  const discovery = kind === 'discovery' && rs ? extractDiscovery(rs.json, url.base, captured.id, at) : undefined;
  const jwksKids = kind === 'jwks' && rs ? extractJwksKids(rs.json) : undefined;

  const facts: AnalyzedExchange = {
    id: captured.id,
    seq,
    at,
    timings: { ...captured.timings },
    kind,
    recognition: classification.recognition,
    tokenScore: classification.score,
    ...(classification.provider ? { provider: classification.provider } : {}),
    issuer: discovery?.issuer ?? classification.issuer,
    request: requestFacts,
    ...(responseFacts ? { response: responseFacts } : {}),
    ...(captured.error ? { transportError: { code: captured.error.code, message: c.sweep(captured.error.message), ...(captured.error.nodeCode ? { nodeCode: captured.error.nodeCode } : {}) } } : {}),
    ...(captured.tls ? { tls: copyTls(captured.tls) } : {}),
    ...(captured.clientAddress ? { clientAddress: captured.clientAddress } : {}),
    params,
    ...(grantType !== undefined ? { grantType } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
    clientAuth,
    pkce,
    ...(redirectUri !== undefined ? { redirectUri } : {}),
    ...(scopeRaw !== undefined ? { scopeRaw, scopes: splitScopes(scopeRaw) } : {}),
    ...(TOKENISH.has(kind) && refOf(lookup('code'), 'code') ? { code: refOf(lookup('code'), 'code') } : {}),
    ...(refOf(lookup('refresh_token'), 'refresh_token') ? { refreshToken: refOf(lookup('refresh_token'), 'refresh_token') } : {}),
    ...(refOf(lookup('device_code'), 'device_code') ? { deviceCode: refOf(lookup('device_code'), 'device_code') } : {}),
    ...(refOf(lookup('token'), 'token') ? { token: refOf(lookup('token'), 'token') } : {}),
    ...(textOf(lookup('token_type_hint'), 'token_type_hint') !== undefined ? { tokenTypeHint: textOf(lookup('token_type_hint'), 'token_type_hint') } : {}),
    ...(authorize ? { authorize } : {}),
    ...(authorizeResponse ? { authorizeResponse } : {}),
    ...(providerError ? { providerError } : {}),
    ...(tokenResponse ? { tokenResponse } : {}),
    ...(discovery ? { discovery } : {}),
    ...(jwksKids ? { jwksKids } : {}),
    jwts,
    secrets: c.occurrences,
  };
  return { facts, classification, requestBody: rq.input, ...(rs ? { responseBody: rs.input } : {}) };
}

/** `base` (scheme://authority followed by the path as sent, see parseUrl) with the path redacted as `redactPath` does. */
function redactBase(base: string, path: string, c: SecretCollector): string {
  const sent = base.endsWith(path) ? path : '';
  return base.slice(0, base.length - sent.length) + redactPath(sent, c);
}

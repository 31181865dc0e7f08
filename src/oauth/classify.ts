/**
 * Recognises the kind of an exchange (oauth-rules.md §3), in order of trust: endpoints learned from
 * observed discovery documents → configured tokenEndpoints → known provider endpoints (§2.1) →
 * shape (authorize parameters, authorization responses, JWKS, discovery) → the §3.1 token score
 * with its false-positive guards. Works on parsed parameter *names* and Class C values only.
 */
import type { ExchangeKind, RawHeaders } from '../model.js';
import type { DiscoveryMetadata, Recognition } from './types.js';
import { headerValue, parseUrl, type Pairs, type UrlInfo } from './parse.js';
import { providerFor, knownEndpoint } from './providers.js';

export interface ClassifyInput {
  method: string;
  url: UrlInfo;
  requestHeaders: RawHeaders;
  /** Request media type. */
  contentType?: string;
  /** Form body pairs (when the body parses as a form). */
  form?: Pairs;
  /** JSON object body. */
  json?: Record<string, unknown>;
  query: Pairs;
  response?: {
    status: number;
    headers: RawHeaders;
    json?: unknown;
    /** Names of form-encoded response fields (GitHub). */
    formNames?: string[];
    /** `Location` parameters (query and fragment). */
    locationParams?: Pairs;
    /** form_post inputs of an HTML response. */
    formPostInputs?: Pairs;
    empty: boolean;
  };
}

export interface Classification {
  kind: ExchangeKind;
  recognition: Recognition;
  score: number;
  provider?: string;
  issuer: string;
}

export const REGISTERED_GRANTS = new Set([
  'authorization_code', 'refresh_token', 'client_credentials', 'password',
  'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:ietf:params:oauth:grant-type:saml2-bearer',
]);

const TOKEN_PATHS = [
  '/token', '/oauth/token', '/oauth2/token', '/oauth2/v1/token', '/oauth2/v2.0/token', '/protocol/openid-connect/token',
  '/connect/token', '/o/token/', '/o/token', '/login/oauth/access_token', '/oauth/access_token', '/services/oauth2/token',
  '/auth/token', '/oauth/tokens', '/api/token', '/as/token.oauth2', '/oauth2/access_token', '/api/oauth.v2.access',
];

const RFC_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);

const MAX_LEARNED = 500;

/** Endpoints and hosts learned from traffic: discovery documents, authorize targets, redirect URIs. Bounded. */
export class EndpointBook {
  #endpoints = new Map<string, { kind: ExchangeKind; issuer: string }>();
  #metadata = new Map<string, DiscoveryMetadata>();
  #authorizeHosts = new Map<string, number>();
  #redirectBases = new Map<string, number>();
  #configured = new Set<string>();
  #baseKeys = new Map<string, string>();

  constructor(tokenEndpoints: readonly string[] = []) {
    for (const url of tokenEndpoints) this.#configured.add(endpointKey(url));
  }

  learn(meta: DiscoveryMetadata): void {
    this.#metadata.delete(meta.issuer);
    this.#metadata.set(meta.issuer, meta);
    trim(this.#metadata, 100);
    const add = (url: string | undefined, kind: ExchangeKind) => {
      if (!url) return;
      const key = endpointKey(url);
      this.#endpoints.delete(key);
      this.#endpoints.set(key, { kind, issuer: meta.issuer });
    };
    add(meta.tokenEndpoint, 'token');
    add(meta.authorizationEndpoint, 'authorize');
    add(meta.userinfoEndpoint, 'userinfo');
    add(meta.jwksUri, 'jwks');
    add(meta.introspectionEndpoint, 'introspection');
    add(meta.revocationEndpoint, 'revocation');
    add(meta.deviceAuthorizationEndpoint, 'device_authorization');
    add(meta.parEndpoint, 'par');
    for (const alias of Object.values(meta.mtlsAliases ?? {})) add(alias, 'token');
    trim(this.#endpoints, MAX_LEARNED);
  }

  endpoint(url: string | UrlInfo): { kind: ExchangeKind; issuer: string } | undefined {
    return this.#endpoints.get(endpointKey(url));
  }

  /** endpointKey of a URL base, remembered: correlation asks for every exchange and rule evaluation (bounded). */
  #baseKey(base: string): string {
    let key = this.#baseKeys.get(base);
    if (key === undefined) {
      key = endpointKey(base);
      this.#baseKeys.set(base, key);
      trim(this.#baseKeys, MAX_LEARNED);
    }
    return key;
  }

  /** Metadata for an issuer, or for the issuer owning an endpoint base / host. */
  metadataFor(issuer: string, base?: string): DiscoveryMetadata | undefined {
    const direct = this.#metadata.get(issuer);
    if (direct) return direct;
    const owner = base ? this.#endpoints.get(this.#baseKey(base))?.issuer : undefined;
    return owner ? this.#metadata.get(owner) : undefined;
  }

  isConfiguredToken(url: string | UrlInfo): boolean {
    return this.#configured.has(endpointKey(url));
  }

  noteAuthorize(host: string, redirectUri: string | undefined, at: number): void {
    this.#authorizeHosts.set(host, at);
    trim(this.#authorizeHosts, MAX_LEARNED);
    if (redirectUri) {
      this.#redirectBases.set(endpointKey(redirectUri), at);
      trim(this.#redirectBases, MAX_LEARNED);
    }
  }

  isAuthorizeHost(host: string): boolean {
    return this.#authorizeHosts.has(host);
  }

  isRedirectBase(url: string | UrlInfo): boolean {
    return this.#redirectBases.has(endpointKey(url));
  }
}

/** Endpoint identity: scheme, lower-case host, effective port and exact path (`:443` and no port are the same endpoint). */
export function endpointKey(url: string | UrlInfo): string {
  const u = typeof url === 'string' ? parseUrl(url) : url;
  return `${u.scheme}://${u.host}:${u.port}${u.path}`;
}

function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const first = map.keys().next();
    if (first.done) break;
    map.delete(first.value);
  }
}

function names(pairs: Pairs | undefined): Set<string> {
  return new Set((pairs ?? []).map(([n]) => n));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decides the kind of one exchange. */
export function classify(input: ClassifyInput, book: EndpointBook): Classification {
  const { url, method } = input;
  const providerInfo = providerFor(url);
  const issuerDefault = providerInfo?.issuer ?? `${url.scheme}://${url.explicitPort ? `${url.host}:${url.port}` : url.host}`;
  const result = (kind: ExchangeKind, recognition: Recognition, score = 0, issuer = issuerDefault): Classification => ({
    kind, recognition, score, issuer, ...(providerInfo ? { provider: providerInfo.id } : {}),
  });
  const auth = headerValue(input.requestHeaders, 'authorization') ?? '';
  // OAuth 1.0a is a different protocol (§3.3).
  if (/^OAuth\s/i.test(auth)) return result('other', 'none');

  const path = url.path;
  const respJson = input.response?.json;
  if (/\/\.well-known\/(openid-configuration|oauth-authorization-server)/.test(path)
    || (isObject(respJson) && typeof respJson.issuer === 'string' && (typeof respJson.token_endpoint === 'string' || typeof respJson.authorization_endpoint === 'string'))) {
    return result('discovery', 'shape', 0, isObject(respJson) && typeof respJson.issuer === 'string' ? respJson.issuer : issuerDefault);
  }

  const learned = book.endpoint(url);
  if (learned) return result(learned.kind, 'discovery', 0, learned.issuer);
  if (book.isConfiguredToken(url)) return result('token', 'config');

  const params = input.form ?? (input.json ? Object.entries(input.json).map(([k, v]) => [k, typeof v === 'string' ? v : ''] as [string, string]) : undefined);
  const paramNames = names(params);
  const queryNames = names(input.query);
  const formNames = input.form ? paramNames : new Set<string>();

  const known = knownEndpoint(url, method);
  if (known) return result(known.kind, 'known_provider', 0, known.issuer ?? issuerDefault);

  const resp0 = input.response;
  if (method === 'POST' && resp0?.status === 201 && isObject(respJson) && typeof respJson.request_uri === 'string') return result('par', 'shape');

  // Authorization request: response_type + client_id (query, or an OIDC POST form), or a PAR reference.
  const authzNames = method === 'POST' && formNames.size ? formNames : queryNames;
  if ((authzNames.has('response_type') && authzNames.has('client_id')) || (authzNames.has('request_uri') && authzNames.has('client_id') && !authzNames.has('grant_type'))) {
    return result('authorize', 'shape');
  }

  // Authorization response: a redirect or form_post carrying code/error with state, or a callback request to a known redirect_uri.
  const resp = input.response;
  const hasAuthzResp = (n: Set<string>) => (n.has('code') || n.has('error')) && (n.has('state') || n.has('iss') || n.has('session_state'));
  if (resp && resp.status >= 300 && resp.status < 400 && resp.locationParams && hasAuthzResp(names(resp.locationParams))) {
    return result('authorize_response', 'shape');
  }
  if (resp?.formPostInputs && hasAuthzResp(names(resp.formPostInputs))) return result('authorize_response', 'shape');
  const callbackNames = method === 'POST' && formNames.size ? formNames : queryNames;
  if (!callbackNames.has('grant_type') && (hasAuthzResp(callbackNames) || (book.isRedirectBase(url) && (callbackNames.has('code') || callbackNames.has('error'))))) {
    return result('authorize_response', 'shape');
  }

  if (isObject(respJson) && Array.isArray(respJson.keys) && respJson.keys.every((k) => isObject(k) && typeof k.kty === 'string') && respJson.keys.length > 0) {
    return result('jwks', 'shape');
  }

  // Token management endpoints by response shape (§3.2).
  if (method === 'POST' && paramNames.has('token') && !paramNames.has('grant_type')) {
    if (isObject(respJson) && 'active' in respJson) return result('introspection', 'shape');
    if (/\/(introspect|introspection)\/?$/.test(path)) return result('introspection', 'shape');
    if (/\/(revoke|revocation)\/?$/.test(path) || (resp && resp.status === 200 && resp.empty)) return result('revocation', 'shape');
  }
  if (isObject(respJson) && typeof respJson.device_code === 'string' && typeof respJson.user_code === 'string') return result('device_authorization', 'shape');
  if (method === 'POST' && resp?.status === 201 && isObject(respJson) && typeof respJson.request_uri === 'string') return result('par', 'shape');

  const score = tokenScore(input, params, book);
  if (score >= 7) return result('token', 'heuristic', score);
  if (score >= 4) return result('token', 'probable', score);
  return result('other', 'none', score);
}

/** §3.1 token request score. */
export function tokenScore(input: ClassifyInput, params: Pairs | undefined, book: EndpointBook): number {
  const n = names(params);
  const q = names(input.query);
  let score = 0;
  const grant = params?.find(([k]) => k === 'grant_type')?.[1] ?? input.query.find(([k]) => k === 'grant_type')?.[1];
  if (input.method === 'POST' && input.form && grant !== undefined) {
    score += REGISTERED_GRANTS.has(grant) ? 5 : 4; // near-miss grant values still mark a token request (R22)
  } else if (input.json && grant !== undefined) {
    score += 3; // JSON-bodied token request (feeds R37)
  } else if (grant !== undefined && q.has('grant_type')) {
    score += 3; // parameters in the query (feeds R38)
  }
  const all = new Set([...n, ...q]);
  if (['code', 'refresh_token', 'device_code', 'assertion', 'subject_token'].some((k) => all.has(k))) score += 2;
  const auth = headerValue(input.requestHeaders, 'authorization') ?? '';
  if (/^Basic\s/i.test(auth) || all.has('client_secret') || (all.has('client_assertion') && all.has('client_assertion_type'))) score += 2;
  const path = input.url.path.toLowerCase();
  if (TOKEN_PATHS.some((p) => path.endsWith(p))) score += 2;
  if (book.isAuthorizeHost(input.url.host)) score += 2;
  const resp = input.response;
  const json = resp?.json;
  if (isObject(json)) {
    if (typeof json.access_token === 'string' && typeof json.token_type === 'string') score += 4;
    if (typeof json.error === 'string' && RFC_ERRORS.has(json.error)) score += 3;
    if (typeof json.expires_in === 'number') score += 1;
    if (typeof json.token === 'string' && json.token_type === undefined) score -= 2;
  } else if (resp?.formNames?.includes('access_token') && resp.formNames.includes('token_type')) {
    score += 4; // GitHub's default form-encoded token response
  } else if (resp?.formNames?.includes('error')) {
    score += 2;
  }
  if (resp) {
    if (/no-store/i.test(headerValue(resp.headers, 'cache-control') ?? '')) score += 1;
    if (/no-cache/i.test(headerValue(resp.headers, 'pragma') ?? '')) score += 1;
  }
  if (input.json && ('query' in input.json || 'operationName' in input.json || 'jsonrpc' in input.json)) score -= 5;
  if (q.has('Action') || q.has('action')) score -= 5; // AWS STS query API is not OAuth (§3.3)
  return score;
}

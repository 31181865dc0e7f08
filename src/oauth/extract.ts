/**
 * Extraction of structured OAuth facts from (already parsed) responses: the normalised provider
 * error (oauth-rules.md §0.6), token-response facts, discovery metadata and JWKS key ids.
 */
import type { RawHeaders } from '../model.js';
import { parseRetryAfter, parseWwwAuthenticate, type Pairs } from './parse.js';
import type { DiscoveryMetadata, IssuedToken, ProviderError, TokenResponseFacts } from './types.js';
import type { SecretCollector } from './inventory.js';
import { decodeJwt, looksLikeJwt } from './jwt.js';
import type { Fingerprinter } from './fingerprint.js';
import { secretClass } from './inventory.js';
import type { DecodedJwt } from '../model.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 1000): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

export interface ErrorSources {
  status?: number;
  headers?: RawHeaders;
  json?: unknown;
  form?: Pairs;
  htmlTitle?: string;
  htmlExcerpt?: string;
  /** Authorization-response parameters (Location / callback). */
  params?: Pairs;
  paramsSource?: 'query' | 'fragment';
  now: number;
}

/** Normalised provider error; undefined when the exchange carries no error signal. Text is swept by the caller. */
export function extractProviderError(src: ErrorSources, sweep: (s: string) => string): ProviderError | undefined {
  const pe: ProviderError = { aadsts: [], wwwAuthenticate: [], source: 'none' };
  const ok2xx = src.status !== undefined && src.status >= 200 && src.status < 300;
  const setText = (key: 'error' | 'errorDescription' | 'errorUri' | 'errorSubtype' | 'traceId' | 'correlationId' | 'timestamp', v: unknown) => {
    const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    if (s !== undefined && s !== '') pe[key] = sweep(s.slice(0, 1000));
  };
  const json = src.json;
  if (isObj(json)) {
    if (typeof json.error === 'string') {
      setText('error', json.error);
      pe.source = 'json';
    } else if (isObj(json.error)) {
      const fb = json.error;
      pe.facebook = {
        ...(str(fb.message) ? { message: sweep(str(fb.message) ?? '') } : {}),
        ...(str(fb.type) ? { type: str(fb.type) } : {}),
        ...(typeof fb.code === 'number' ? { code: fb.code } : {}),
        ...(typeof fb.error_subcode === 'number' ? { subcode: fb.error_subcode } : {}),
        ...(str(fb.fbtrace_id) ? { fbtraceId: str(fb.fbtrace_id) } : {}),
      };
      setText('error', fb.type ?? 'error');
      setText('errorDescription', fb.message);
      pe.source = 'json';
    }
    setText('errorDescription', json.error_description);
    setText('errorUri', json.error_uri);
    setText('errorSubtype', json.error_subtype);
    setText('traceId', json.trace_id);
    setText('correlationId', json.correlation_id);
    setText('timestamp', json.timestamp);
    if (Array.isArray(json.error_codes)) for (const code of json.error_codes) if (typeof code === 'number' || typeof code === 'string') pe.aadsts.push(String(code));
    if (json.ok === false) {
      pe.slackOk = false;
      pe.source = 'json';
    }
    if (ok2xx && (pe.error || pe.slackOk === false) && typeof json.access_token !== 'string') pe.errorIn2xx = true;
  } else if (src.form) {
    const get = (n: string) => src.form?.find(([k]) => k === n)?.[1];
    if (get('error') !== undefined) {
      setText('error', get('error'));
      setText('errorDescription', get('error_description'));
      setText('errorUri', get('error_uri'));
      pe.source = 'form';
      if (ok2xx && get('access_token') === undefined) pe.errorIn2xx = true;
    }
  }
  if (src.params && !pe.error) {
    const get = (n: string) => src.params?.find(([k]) => k === n)?.[1];
    if (get('error') !== undefined) {
      setText('error', get('error'));
      setText('errorDescription', get('error_description'));
      setText('errorUri', get('error_uri'));
      pe.source = src.paramsSource ?? 'query';
    }
  }
  for (const m of (pe.errorDescription ?? '').matchAll(/AADSTS(\d+)/g)) if (m[1] && !pe.aadsts.includes(m[1])) pe.aadsts.push(m[1]);
  if (src.htmlTitle !== undefined && src.status !== undefined && (src.status >= 400 || !pe.error)) {
    pe.htmlTitle = sweep(src.htmlTitle);
    if (src.htmlExcerpt) pe.htmlExcerpt = sweep(src.htmlExcerpt);
    if (pe.source === 'none' && src.status >= 400) pe.source = 'html';
  }
  for (const [name, value] of src.headers ?? []) {
    const lower = name.toLowerCase();
    if (lower === 'www-authenticate') {
      pe.wwwAuthenticate.push(...parseWwwAuthenticate(sweep(value)));
      if (pe.source === 'none') pe.source = 'header';
    } else if (lower === 'retry-after') pe.retryAfter = parseRetryAfter(value, src.now);
    else if (/^x-?rate-?limit-|^ratelimit(-|$)/.test(lower)) (pe.rateLimit ??= {})[lower] = value.slice(0, 100);
  }
  const signal = pe.error || pe.slackOk === false || pe.aadsts.length || pe.wwwAuthenticate.length || pe.retryAfter || pe.rateLimit
    || (pe.htmlTitle !== undefined && (src.status ?? 0) >= 400);
  return signal ? pe : undefined;
}

/** Token-response facts from a JSON or form body; secrets minted by the collector. */
export function extractTokenResponse(json: unknown, form: Pairs | undefined, c: SecretCollector, fp: Fingerprinter, jwts: DecodedJwt[]): TokenResponseFacts | undefined {
  let obj: Obj | undefined;
  let place: 'response.json' | 'response.form' = 'response.json';
  if (isObj(json)) obj = json;
  else if (form?.length) {
    obj = Object.fromEntries(form);
    place = 'response.form';
  }
  if (!obj) return undefined;
  const facts: TokenResponseFacts = { otherTokens: [] };
  const issue = (name: string, value: string, path: string): IssuedToken => {
    const ref = c.mint(name, name, value, place);
    const token: IssuedToken = { name: path, ref };
    if (looksLikeJwt(value)) {
      token.jwt = decodeJwt(value, `response.${path}`, fp);
      jwts.push(token.jwt);
    }
    return token;
  };
  const walk = (o: Obj, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (typeof v === 'string' && v && secretClass(k, v) === 'A') {
        const t = issue(k, v, path);
        if (!prefix && k === 'access_token') facts.accessToken = t;
        else if (!prefix && k === 'refresh_token') facts.refreshToken = t;
        else if (!prefix && k === 'id_token') facts.idToken = t;
        else facts.otherTokens.push(t);
      } else if (isObj(v) && depth < 4) walk(v, path, depth + 1);
    }
  };
  walk(obj, '', 0);
  if (typeof obj.token_type === 'string') facts.tokenType = obj.token_type.slice(0, 50);
  if (typeof obj.expires_in === 'number' || typeof obj.expires_in === 'string') facts.expiresIn = typeof obj.expires_in === 'string' ? obj.expires_in.slice(0, 50) : obj.expires_in;
  if (typeof obj.scope === 'string') {
    facts.scopeRaw = obj.scope.slice(0, 2000);
    facts.scopes = splitScopes(obj.scope);
  }
  if (typeof obj.interval === 'number') facts.interval = obj.interval;
  if (typeof obj.active === 'boolean') facts.active = obj.active;
  return facts;
}

export function splitScopes(scope: string): string[] {
  return scope.split(' ').filter((s) => s !== '');
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((x) => x.slice(0, 200)) : undefined);

/** Discovery metadata from a discovery document body. */
export function extractDiscovery(json: unknown, documentUrl: string, exchangeId: string, at: number): DiscoveryMetadata | undefined {
  if (!isObj(json) || typeof json.issuer !== 'string') return undefined;
  const s = (k: string) => str(json[k], 2000);
  const meta: DiscoveryMetadata = { issuer: json.issuer.slice(0, 2000), documentUrl, exchangeId, at };
  const set = <K extends keyof DiscoveryMetadata>(key: K, value: DiscoveryMetadata[K] | undefined) => {
    if (value !== undefined) meta[key] = value;
  };
  set('authorizationEndpoint', s('authorization_endpoint'));
  set('tokenEndpoint', s('token_endpoint'));
  set('userinfoEndpoint', s('userinfo_endpoint'));
  set('jwksUri', s('jwks_uri'));
  set('revocationEndpoint', s('revocation_endpoint'));
  set('introspectionEndpoint', s('introspection_endpoint'));
  set('deviceAuthorizationEndpoint', s('device_authorization_endpoint'));
  set('parEndpoint', s('pushed_authorization_request_endpoint'));
  if (typeof json.require_pushed_authorization_requests === 'boolean') meta.requirePar = json.require_pushed_authorization_requests;
  set('tokenEndpointAuthMethods', strings(json.token_endpoint_auth_methods_supported));
  set('grantTypes', strings(json.grant_types_supported));
  set('responseTypes', strings(json.response_types_supported));
  set('responseModes', strings(json.response_modes_supported));
  set('scopes', strings(json.scopes_supported));
  set('codeChallengeMethods', strings(json.code_challenge_methods_supported));
  set('idTokenSigningAlgs', strings(json.id_token_signing_alg_values_supported));
  if (typeof json.authorization_response_iss_parameter_supported === 'boolean') meta.issParameterSupported = json.authorization_response_iss_parameter_supported;
  if (isObj(json.mtls_endpoint_aliases)) {
    meta.mtlsAliases = Object.fromEntries(Object.entries(json.mtls_endpoint_aliases).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  return meta;
}

export function extractJwksKids(json: unknown): string[] | undefined {
  if (!isObj(json) || !Array.isArray(json.keys)) return undefined;
  return json.keys.filter(isObj).map((k) => (typeof k.kid === 'string' ? k.kid.slice(0, 200) : '')).filter(Boolean);
}

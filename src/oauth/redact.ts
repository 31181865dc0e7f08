/**
 * The redaction boundary (oauth-rules.md §4). The ONLY module that mints `Redacted<T>`. Every secret
 * in URLs (query, fragment), Location/Referer/Content-Location, Authorization/Proxy-Authorization,
 * Cookie/Set-Cookie values, secret headers, form/JSON/HTML/text bodies — by name, by value shape,
 * and by a final sweep for the exchange's known secrets in any encoding — is replaced by
 * `[REDACTED name len=N fp=XXXXXXXXXXXX]`. Builds new objects; never mutates the capture.
 */
import type { CapturedBody, CapturedExchange, RawHeaders } from '../capture/types.js';
import type { BodyView, Exchange, OAuthView, Redacted, TransportError } from '../model.js';
import { CLASS_A, CLASS_B, SecretCollector, secretClass } from './inventory.js';
import { formSegments, headerValue, htmlForms, parseBasic, parseCookieHeader, parseSetCookie } from './parse.js';
import type { AnalyzedExchange, Param, SecretPlace, SecretRef } from './types.js';

/** Fingerprint kind for a parameter name (Basic password and body client_secret share `client_secret`). */
export function kindFor(name: string): string {
  return name.toLowerCase();
}

/** Mints the value of a named field if it is secret; returns it unchanged otherwise. */
export function secretOrText(name: string, value: string, c: SecretCollector, place: SecretPlace, variants = false): string | SecretRef {
  const cls = secretClass(name, value);
  if (!cls) return value;
  // R18 transform fps for codes, on both the issued (Location/callback) and the sent (token request) side.
  return c.mint(kindFor(name), name, value, place, { variants: variants || name === 'code' });
}

export interface RedactedPairs {
  text: string;
  params: Param[];
}

/**
 * Redacts `a=1&b=2` (form body, query, fragment): secret values become markers, others keep their raw
 * wire bytes (so encoding bugs stay visible) after a shape/known-secret sweep.
 */
export function redactPairs(text: string, c: SecretCollector, place: SecretPlace): RedactedPairs {
  const params: Param[] = [];
  const parts: string[] = [];
  for (const seg of formSegments(text)) {
    if (seg.raw === '') {
      parts.push('');
      continue;
    }
    const value = secretOrText(seg.name, seg.value, c, place);
    params.push({ name: seg.name, value });
    if (typeof value !== 'string') {
      const rawName = seg.raw.slice(0, seg.raw.indexOf('=') === -1 ? seg.raw.length : seg.raw.indexOf('='));
      parts.push(value.length === 0 ? seg.raw : `${c.sweep(rawName)}=${value.display}`);
    } else {
      parts.push(seg.raw); // swept below with the whole text
    }
  }
  return { text: parts.join('&'), params };
}

/** Redacts an absolute or relative URL: query and fragment parameters, then a sweep. */
export function redactUrl(url: string, c: SecretCollector, place: 'request' | 'location' | 'referer' | 'content_location'): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? undefined : url.slice(hashAt + 1);
  const qAt = beforeHash.indexOf('?');
  const base = qAt === -1 ? beforeHash : beforeHash.slice(0, qAt);
  const query = qAt === -1 ? undefined : beforeHash.slice(qAt + 1);
  const qPlace: SecretPlace = place === 'request' ? 'request.query' : place === 'location' ? 'response.location' : place === 'referer' ? 'request.referer' : 'response.content_location';
  const fPlace: SecretPlace = place === 'request' ? 'request.fragment' : qPlace;
  let out = c.sweep(base);
  if (query !== undefined) out += `?${c.sweep(redactPairs(query, c, qPlace).text)}`;
  if (fragment !== undefined) out += `#${c.sweep(fragment.includes('=') ? redactPairs(fragment, c, fPlace).text : fragment)}`;
  return out;
}

const SECRET_HEADERS = new Set([
  'x-api-key', 'api-key', 'apikey', 'x-auth-token', 'x-amz-security-token', 'x-goog-api-key', 'x-client-secret', 'dpop',
  'x-csrf-token', 'x-xsrf-token', 'x-session-token', 'x-access-token', 'x-refresh-token', 'private-token', 'x-id-token',
  'x-amz-date-signature', 'x-hub-signature', 'x-hub-signature-256', 'x-api-secret', 'x-vault-token', 'x-ms-token-aad-id-token',
  'x-ms-token-aad-access-token', 'x-ms-token-aad-refresh-token', 'authentication-token', 'x-authorization',
]);
const PUBLIC_HEADERS = new Set(['www-authenticate', 'proxy-authenticate', 'authentication-info', 'access-control-allow-headers', 'access-control-request-headers', 'access-control-expose-headers', 'vary', 'sec-websocket-accept']);
const SECRETISH_HEADER = /token|secret|api-?key|session|passw|credential|signature/i;
const URL_HEADERS: Record<string, 'location' | 'referer' | 'content_location'> = { location: 'location', referer: 'referer', 'content-location': 'content_location' };

function redactAuthorization(name: string, value: string, c: SecretCollector, place: SecretPlace): string {
  const m = /^(\S+)\s+([\s\S]*)$/.exec(value.trim());
  if (!m) return c.mint(name.toLowerCase(), name.toLowerCase(), value, place).display;
  const scheme = m[1] ?? '';
  const credentials = m[2] ?? '';
  if (/^basic$/i.test(scheme)) {
    const basic = parseBasic(credentials);
    // The base64 blob itself, should it be echoed anywhere else in the exchange.
    c.mint(name.toLowerCase(), name.toLowerCase(), credentials.trim());
    if (basic.hasColon && basic.user !== undefined && basic.pass !== undefined && basic.rawUser !== undefined) {
      const secret = c.mint('client_secret', 'client_secret', basic.pass, place);
      if (basic.rawPass !== undefined) c.remember(basic.rawPass, secret.display);
      const idLike = /^[\x21-\x7e]{1,200}$/.test(basic.user); // the username is the client_id (Class C)
      const user = idLike ? `client_id=${c.sweep(basic.user)}` : c.mint('basic_user', 'basic_user', basic.user, place).display;
      return `${scheme} [${user}]:${secret.display}`;
    }
    return `${scheme} ${c.mint(name.toLowerCase(), name.toLowerCase(), credentials, place).display}`;
  }
  const kind = /^(bearer|dpop)$/i.test(scheme) ? 'access_token' : name.toLowerCase();
  return `${scheme} ${c.mint(kind, kind === 'access_token' ? 'access_token' : name.toLowerCase(), credentials, place).display}`;
}

function redactCookie(value: string, c: SecretCollector): string {
  return parseCookieHeader(value)
    .map(([n, v]) => (n ? `${c.sweep(n)}=${v ? c.mint(`cookie:${n}`, `cookie:${n}`, v, 'request.cookie').display : ''}` : c.mint('cookie', 'cookie', v, 'request.cookie').display))
    .join('; ');
}

function redactSetCookie(value: string, c: SecretCollector): string {
  const sc = parseSetCookie(value);
  const v = sc.value ? c.mint(`cookie:${sc.name}`, `cookie:${sc.name}`, sc.value, 'response.set_cookie').display : '';
  return `${c.sweep(sc.name)}=${v}${c.sweep(sc.rawAttributes)}`;
}

/** Redacts header values; names are kept. */
export function redactHeaders(headers: RawHeaders, c: SecretCollector, side: 'request' | 'response'): RawHeaders {
  const place: SecretPlace = side === 'request' ? 'request.header' : 'response.header';
  return headers.map(([name, value]) => {
    const lower = name.toLowerCase();
    let out: string;
    if (lower === 'authorization' || lower === 'proxy-authorization') out = redactAuthorization(name, value, c, place);
    else if (lower === 'cookie') out = redactCookie(value, c);
    else if (lower === 'set-cookie') out = redactSetCookie(value, c);
    else if (URL_HEADERS[lower]) out = redactUrl(value, c, URL_HEADERS[lower]);
    else if (SECRET_HEADERS.has(lower) || (!PUBLIC_HEADERS.has(lower) && SECRETISH_HEADER.test(lower) && value.length >= 8)) {
      out = c.mint(lower, lower, value, place).display;
    } else out = c.sweep(value);
    return [name, out] as [string, string];
  });
}

/** Deep JSON redaction: secret-named fields (any depth), JWK private members, secret-shaped strings. */
export function redactJson(value: unknown, c: SecretCollector, place: SecretPlace, name = '', inJwk = false): unknown {
  if (typeof value === 'string') {
    if (name && secretClass(name, value, inJwk)) return value.length ? c.mint(kindFor(name), name, value, place).display : value;
    return c.sweep(value, name || 'value');
  }
  if (Array.isArray(value)) return value.map((v) => redactJson(v, c, place, name, inJwk));
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    const jwk = typeof obj.kty === 'string';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      // A non-string value under a secret name (number, object) is redacted whole unless it is structure to descend into.
      if (typeof v !== 'string' && typeof v !== 'object' && v !== null && v !== undefined && CLASS_B.has(k.toLowerCase())) {
        out[c.sweep(k)] = c.mint(kindFor(k), k, String(v), place).display;
      } else out[c.sweep(k)] = redactJson(v, c, place, k, jwk);
    }
    return out;
  }
  return value;
}

/** HTML: form_post inputs and attribute/text occurrences of secret-named values, then a sweep. */
export function redactHtml(html: string, c: SecretCollector): string {
  for (const form of htmlForms(html)) {
    for (const [n, v] of form.inputs) secretOrText(n, v, c, 'response.html');
  }
  return redactText(html, c);
}

/** multipart/form-data: secret-named parts are minted (and so swept), then the text is swept. */
export function redactMultipart(text: string, c: SecretCollector, side: 'request' | 'response'): string {
  const part = /name="([^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n--/g;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    const name = m[1] ?? '';
    const value = m[2] ?? '';
    if (value.length >= 1 && secretClass(name, value)) c.mint(kindFor(name), name, value, side === 'request' ? 'request.form' : 'response.form');
  }
  return redactText(text, c);
}

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * `name=value`, `name: value`, `"name": "value"` for secret names only (inventory, or names that say token/secret/…),
 * so a harmless `said: "access_token"` cannot swallow the key that follows it.
 */
const NAMED_VALUE = new RegExp(
  `(["']?)(?<![\\w-])(${[...CLASS_A, ...CLASS_B].map(escapeRe).join('|')}|[\\w-]*(?:token|secret|passw|api_?key|apikey|assertion|session)[\\w-]*)\\1(\\s*[:=]\\s*)`
  // A quoted value runs to its closing quote (or the end of a truncated body); an unquoted one to a delimiter.
  + `(?:(")((?:[^"\\\\]|\\\\.)*)|(')([^']*)|()([^"'&\\s<>,;}\\]]*))`,
  'gi',
);

function unescapeJson(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** Free text: `name=value` / `"name": "value"` pairs with secret names, remembered secrets and shapes. */
export function redactText(text: string, c: SecretCollector): string {
  const swept = text.replace(NAMED_VALUE, (m, q1: string, name: string, sep: string, ...rest: unknown[]) => {
    const [dq, dv, sq, sv, nq, nv] = rest as Array<string | undefined>;
    const q2 = dq ?? sq ?? nq ?? '';
    const raw = dv ?? sv ?? nv ?? '';
    // JSON-escaped inside double quotes: the secret is the unescaped value.
    const value = dq !== undefined ? unescapeJson(raw) : raw;
    if (!value || value.startsWith('[REDACTED') || !secretClass(name, value)) return m;
    if (value !== raw) c.remember(raw, c.mint(kindFor(name), name, value).display);
    return `${q1}${name}${q1}${sep}${q2}${c.mint(kindFor(name), name, value, 'response.html').display}`;
  });
  return c.sweep(swept);
}

/** Which structure a body was redacted as. */
export interface BodyInput {
  body: CapturedBody;
  mimeType?: string;
  encoding?: string;
  text?: string;
  textError?: string;
  format: 'empty' | 'form' | 'json' | 'html' | 'xml' | 'text' | 'multipart' | 'binary';
  json?: unknown;
}

export function redactBody(input: BodyInput, c: SecretCollector, side: 'request' | 'response'): BodyView {
  const view: BodyView = {
    size: input.body.size,
    truncated: input.body.truncated,
    ...(input.mimeType ? { mimeType: input.mimeType } : {}),
    ...(input.encoding ? { encoding: input.encoding } : {}),
  };
  const decodeError = input.body.decodeError ?? input.textError;
  if (decodeError) view.decodeError = c.sweep(decodeError);
  if (input.text === undefined) return view;
  const place: SecretPlace = side === 'request' ? 'request.form' : 'response.form';
  switch (input.format) {
    case 'form': {
      const r = redactPairs(input.text, c, place);
      view.form = r.params.map((p) => [c.sweep(p.name), typeof p.value === 'string' ? c.sweep(p.value, p.name) : p.value.display]);
      view.text = c.sweep(r.text);
      break;
    }
    case 'json': {
      const json = redactJson(input.json, c, side === 'request' ? 'request.json' : 'response.json');
      view.json = json;
      view.text = JSON.stringify(json);
      break;
    }
    case 'html':
      view.text = redactHtml(input.text, c);
      break;
    case 'multipart':
      view.text = redactMultipart(input.text, c, side);
      break;
    case 'empty':
      view.text = '';
      break;
    default:
      view.text = redactText(input.text, c);
  }
  return view;
}

function redactError(error: TransportError, c: SecretCollector): TransportError {
  return { code: error.code, message: redactText(error.message, c), ...(error.nodeCode ? { nodeCode: error.nodeCode } : {}) };
}

export interface RedactInput {
  captured: CapturedExchange;
  seq: number;
  requestBody: BodyInput;
  responseBody?: BodyInput;
  oauth: OAuthView;
}

/**
 * Builds the redacted Exchange. Request/response headers, URL and bodies are redacted in an order
 * that lets later sweeps know every secret found earlier (headers and bodies first, then the URL).
 */
export function redactExchange(input: RedactInput, c: SecretCollector): Redacted<Exchange> {
  const { captured } = input;
  const requestHeaders = redactHeaders(captured.request.headers, c, 'request');
  const requestBody = redactBody(input.requestBody, c, 'request');
  const responseHeaders = captured.response ? redactHeaders(captured.response.headers, c, 'response') : undefined;
  const responseBody = captured.response && input.responseBody ? redactBody(input.responseBody, c, 'response') : undefined;
  const url = redactUrl(captured.request.url, c, 'request');
  // Second pass: values learned late (e.g. a code first seen in the body) are swept from everything.
  const sweepHeaders = (h: RawHeaders) => h.map(([n, v]) => [n, c.sweep(v)] as [string, string]);
  const exchange: Exchange = {
    id: captured.id,
    seq: input.seq,
    timings: { ...captured.timings },
    ...(captured.clientAddress ? { clientAddress: captured.clientAddress } : {}),
    ...(captured.connectTarget ? { connectTarget: c.sweep(captured.connectTarget) } : {}),
    request: {
      method: c.sweep(captured.request.method),
      url: c.sweep(url),
      httpVersion: captured.request.httpVersion,
      headers: sweepHeaders(requestHeaders),
      body: resweepBody(requestBody, c),
    },
    ...(captured.response && responseHeaders && responseBody ? {
      response: {
        status: captured.response.status,
        statusText: c.sweep(captured.response.statusText),
        httpVersion: captured.response.httpVersion,
        headers: sweepHeaders(responseHeaders),
        body: resweepBody(responseBody, c),
      },
    } : {}),
    ...(captured.tls ? { tls: structuredClone(captured.tls) } : {}),
    ...(captured.error ? { error: redactError(captured.error, c) } : {}),
    oauth: input.oauth,
  };
  return exchange as Redacted<Exchange>;
}

function resweepBody(view: BodyView, c: SecretCollector): BodyView {
  const out: BodyView = { ...view };
  if (out.text !== undefined) out.text = c.sweep(out.text);
  if (out.form) out.form = out.form.map(([n, v]) => [c.sweep(n), c.sweep(v)]);
  if (out.json !== undefined) out.json = resweepJson(out.json, c);
  return out;
}

function resweepJson(value: unknown, c: SecretCollector): unknown {
  if (typeof value === 'string') return c.sweep(value);
  if (Array.isArray(value)) return value.map((v) => resweepJson(v, c));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [c.sweep(k), resweepJson(v, c)]));
  }
  return value;
}

/** A stored redacted exchange with a new oauth view (findings changed after a later exchange). */
export function withOAuth(exchange: Redacted<Exchange>, oauth: OAuthView): Redacted<Exchange> {
  return { ...exchange, oauth } as Redacted<Exchange>;
}

export { headerValue };

/** The safe fallback when analysis failed: no headers, no bodies, no query or fragment. */
export function minimalExchange(captured: CapturedExchange, seq: number, c: SecretCollector): Redacted<Exchange> {
  const url = captured.request.url.split(/[?#]/)[0] ?? '';
  const empty = (size: number, truncated: boolean): BodyView => ({ size, truncated });
  const exchange: Exchange = {
    id: captured.id,
    seq,
    timings: { ...captured.timings },
    request: { method: captured.request.method.slice(0, 20), url: c.sweep(url), httpVersion: captured.request.httpVersion, headers: [], body: empty(captured.request.body.size, captured.request.body.truncated) },
    ...(captured.response ? {
      response: { status: captured.response.status, statusText: '', httpVersion: captured.response.httpVersion, headers: [], body: empty(captured.response.body.size, captured.response.body.truncated) },
    } : {}),
    ...(captured.error ? { error: { code: captured.error.code, message: 'transport error (details withheld: analysis failed)' } } : {}),
    oauth: { kind: 'other', findings: [] },
  };
  return exchange as Redacted<Exchange>;
}

/** Re-sweeps the free-text facts (provider error, HTML title/excerpt, transport error) with every secret of the exchange known. */
export function resweepFacts(facts: AnalyzedExchange, c: SecretCollector): void {
  const pe = facts.providerError;
  if (pe) {
    for (const key of ['error', 'errorDescription', 'errorUri', 'errorSubtype', 'htmlTitle', 'htmlExcerpt'] as const) {
      const v = pe[key];
      if (typeof v === 'string') pe[key] = c.sweep(v);
    }
    if (pe.facebook?.message) pe.facebook.message = c.sweep(pe.facebook.message);
    for (const w of pe.wwwAuthenticate) for (const k of Object.keys(w.params)) w.params[k] = c.sweep(w.params[k] ?? '');
  }
  if (facts.response) {
    if (facts.response.htmlTitle) facts.response.htmlTitle = c.sweep(facts.response.htmlTitle);
    if (facts.response.htmlExcerpt) facts.response.htmlExcerpt = c.sweep(facts.response.htmlExcerpt);
  }
  if (facts.transportError) facts.transportError = { ...facts.transportError, message: c.sweep(facts.transportError.message) };
  if (facts.authorizeResponse?.errorDescription) facts.authorizeResponse.errorDescription = c.sweep(facts.authorizeResponse.errorDescription);
}

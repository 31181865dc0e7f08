/** Redaction of named fields: form/query pairs, URLs, headers (Authorization, cookies, secret headers). */
import type { RawHeaders } from '../capture/types.js';
import { SecretCollector, secretClass } from './inventory.js';
import { formSegments, parseBasic, parseCookieHeader, parseSetCookie } from './parse.js';
import type { Param, SecretPlace, SecretRef } from './types.js';
// Only called at run time, so the import cycle with redact-text.ts is harmless.
import { redactText } from './redact-text.js';

/** Fingerprint kind for a parameter name (Basic password and body client_secret share `client_secret`). */
export function kindFor(name: string): string {
  return name.toLowerCase();
}

/** Parameters whose one-transform fingerprints (extra decode/encode/trim …) are computed. */
const TRANSFORMED = new Set(['code', 'state']);

const NESTED_URL = /^[a-z][a-z0-9+.-]*:\/\/[^?#]*[?#][^=]*=/i;

/** Mints the value of a named field if it is secret; returns it unchanged otherwise (a nested URL is redacted). */
export function secretOrText(name: string, value: string, c: SecretCollector, place: SecretPlace, variants = false): string | SecretRef {
  const cls = secretClass(name, value);
  if (!cls) {
    // A Class C value that is itself a URL (redirect_uri, return_to …) can carry secrets in its own query.
    if (value.length > 10 && NESTED_URL.test(value)) return redactUrl(value, c, place === 'response.location' ? 'location' : 'request');
    return value;
  }
  // Transform fps, on both sides of each comparison: codes (R18: issued vs sent) and state (R28: authorize vs callback).
  return c.mint(kindFor(name), name, value, place, { variants: variants || TRANSFORMED.has(name) });
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
    if (typeof value === 'string' && value !== seg.value) {
      // A nested URL that held secrets: written back encoded, with its secrets as markers.
      const eq = seg.raw.indexOf('=');
      parts.push(`${seg.raw.slice(0, eq === -1 ? seg.raw.length : eq)}=${encodeURIComponent(value)}`);
      continue;
    }
    if (typeof value !== 'string') {
      const rawName = seg.raw.slice(0, seg.raw.indexOf('=') === -1 ? seg.raw.length : seg.raw.indexOf('='));
      parts.push(value.length === 0 ? seg.raw : `${c.sweep(rawName)}=${value.display}`);
    } else {
      parts.push(seg.raw); // swept below with the whole text
    }
  }
  return { text: parts.join('&'), params };
}

/**
 * A path segment that reads as a random token: 24+ characters of `[A-Za-z0-9_:-]` mixing upper case, lower case
 * and digits — a Slack webhook's last segment, a Telegram `bot<id>:<token>`, a password-reset link. Ids stay
 * readable: UUIDs and hex ids never mix both cases, words and slugs lack digits or length.
 */
const TOKEN_SEGMENT = /^(?=[A-Za-z0-9_:-]{24,}$)(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])(?=\D*\d)/;

/**
 * A URL path with its token-like segments minted (and so swept everywhere else in the exchange). No occurrence is
 * recorded: a token in a path is how many servers name a resource (oidc-provider's interaction ids), not the
 * client putting a credential in a URL, which `secret.in_url` is about.
 */
export function redactPath(path: string, c: SecretCollector): string {
  if (path.length < 24) return path;
  return path.split('/').map((segment) => (TOKEN_SEGMENT.test(segment) ? c.mint('path_token', 'path_token', segment).display : segment)).join('/');
}

/** Redacts an absolute or relative URL: token-like path segments, query and fragment parameters, then a sweep. */
export function redactUrl(url: string, c: SecretCollector, place: 'request' | 'location' | 'referer' | 'content_location'): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? undefined : url.slice(hashAt + 1);
  const qAt = beforeHash.indexOf('?');
  const base = qAt === -1 ? beforeHash : beforeHash.slice(0, qAt);
  const query = qAt === -1 ? undefined : beforeHash.slice(qAt + 1);
  const qPlace: SecretPlace = place === 'request' ? 'request.query' : place === 'location' ? 'response.location' : place === 'referer' ? 'request.referer' : 'response.content_location';
  const fPlace: SecretPlace = place === 'request' ? 'request.fragment' : qPlace;
  // scheme://user:password@host — the password is a secret wherever the URL travels.
  const userinfo = /^([a-z][a-z0-9+.-]*:\/\/[^/:@?#]*:)([^/@?#]+)@/i.exec(base);
  const withoutPassword = userinfo ? `${userinfo[1]}${c.mint('password', 'password', userinfo[2]!, qPlace).display}@${base.slice(userinfo[0].length)}` : base;
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(withoutPassword)?.[0] ?? '';
  let out = c.sweep(authority + redactPath(withoutPassword.slice(authority.length), c));
  if (query !== undefined) out += `?${c.sweep(redactPairs(query, c, qPlace).text)}`;
  if (fragment !== undefined) out += `#${c.sweep(fragment.includes('=') ? redactPairs(fragment, c, fPlace).text : fragment)}`;
  return out;
}

const SECRET_HEADERS = new Set([
  'x-api-key', 'api-key', 'apikey', 'x-auth-token', 'x-amz-security-token', 'x-goog-api-key', 'x-client-secret', 'dpop',
  'x-csrf-token', 'x-xsrf-token', 'x-session-token', 'x-access-token', 'x-refresh-token', 'private-token', 'x-id-token',
  'x-amz-date-signature', 'x-hub-signature', 'x-hub-signature-256', 'x-api-secret', 'x-vault-token', 'x-ms-token-aad-id-token',
  'x-ms-token-aad-access-token', 'x-ms-token-aad-refresh-token', 'authentication-token', 'x-authorization',
  'cookie2', 'set-cookie2', 'x-auth', 'x-auth-key', 'ocp-apim-subscription-key',
]);
const PUBLIC_HEADERS = new Set(['www-authenticate', 'proxy-authenticate', 'authentication-info', 'access-control-allow-headers', 'access-control-request-headers', 'access-control-expose-headers', 'vary', 'sec-websocket-accept']);
const SECRETISH_HEADER = /token|secret|api-?key|auth-?key|access-?key|subscription-?key|session|passw|credential|signature/i;
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

/** Kubernetes (and clients copying it) carry the bearer token as a WebSocket subprotocol, base64url-encoded. */
const K8S_BEARER_PROTOCOL = /^base64url\.bearer\.authorization\.k8s\.io\.(.+)$/;

/**
 * `Sec-WebSocket-Protocol: a, b`: browsers cannot set Authorization on a WebSocket, so tokens travel here, either
 * in the Kubernetes form (the decoded token is a secret too, wherever it is echoed) or as a bare entry, which the
 * sweep catches by shape (a JWT) or by value (a token already seen).
 */
function redactWebSocketProtocols(value: string, c: SecretCollector, place: SecretPlace): string {
  return value.split(',').map((entry) => {
    const lead = /^\s*/.exec(entry)?.[0] ?? '';
    const protocol = entry.trim();
    const k8s = K8S_BEARER_PROTOCOL.exec(protocol);
    if (!k8s) return lead + c.sweep(protocol);
    const encoded = k8s[1]!;
    const ref = c.mint('access_token', 'access_token', encoded, place);
    const decoded = Buffer.from(encoded, 'base64url').toString('utf8');
    if (decoded) c.remember(decoded, ref.display);
    return `${lead}base64url.bearer.authorization.k8s.io.${ref.display}`;
  }).join(',');
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
    else if (lower === 'sec-websocket-protocol') out = redactWebSocketProtocols(value, c, place);
    else if (SECRET_HEADERS.has(lower) || (!PUBLIC_HEADERS.has(lower) && SECRETISH_HEADER.test(lower) && value.length >= 8)) {
      out = c.mint(lower, lower, value, place).display;
    } else if (value.includes('=') || value.includes(':')) {
      // `name=value` pairs inside ordinary headers (Link, X-Original-URL, custom debug headers …).
      out = redactText(value, c);
    } else out = c.sweep(value);
    return [name, out] as [string, string];
  });
}

/** Deep JSON redaction: secret-named fields (any depth), JWK private members, secret-shaped strings. */

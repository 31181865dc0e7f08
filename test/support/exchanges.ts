/**
 * Fixture builders for rule and engine tests: terse, realistic `CapturedExchange`s (raw, before
 * redaction, exactly what the proxy hands the engine), and `runRules` which pushes them through
 * the real `OAuthEngine` pipeline and returns the findings per exchange.
 *
 * Times: pass `at` (epoch ms; `T(seconds)` gives BASE_TIME + seconds). Exchanges without `at`
 * get BASE_TIME + 1 s × their position in the list given to `runRules`.
 */
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { CapturedBody, CapturedExchange, RawHeaders, TlsFacts, TransportError } from '../../src/capture/types.js';
import type { Exchange, Finding, Redacted } from '../../src/model.js';
import { OAuthEngine } from '../../src/oauth/engine.js';
import type { LensConfig } from '../../src/oauth/config.js';
import { parseConfig } from '../../src/oauth/config-validate.js';

export const BASE_TIME = Date.UTC(2026, 0, 15, 9, 0, 0);
/** BASE_TIME + seconds. */
export const T = (seconds: number): number => BASE_TIME + seconds * 1000;

export const IDP = 'https://idp.example.com';
export const TOKEN_URL = `${IDP}/oauth/token`;
export const AUTHORIZE_URL = `${IDP}/authorize`;
export const APP = 'https://app.example.com';
export const REDIRECT_URI = `${APP}/callback`;
export const CLIENT_ID = 'app-client-1';
export const CLIENT_SECRET = 's3cr3t-Client-Secret-Value-0123456789';

export type Pairs = Record<string, string> | Array<[string, string]>;
export type HeaderSpec = RawHeaders | Record<string, string>;

export interface ResponseSpec {
  status?: number;
  statusText?: string;
  headers?: HeaderSpec;
  /** JSON body (Content-Type application/json unless `contentType`). */
  json?: unknown;
  /** Form-encoded body. */
  form?: Pairs;
  /** HTML body (text/html). */
  html?: string;
  /** Any other text body. */
  text?: string;
  contentType?: string;
  /** Send the body gzip-compressed (Content-Encoding: gzip) with `decoded` set, as the proxy does. */
  gzip?: boolean;
}

export interface RequestSpec {
  id?: string;
  at?: number;
  method?: string;
  url?: string;
  headers?: HeaderSpec;
  /** x-www-form-urlencoded body, encoded with URLSearchParams (one encode). */
  form?: Pairs;
  /** JSON body. */
  json?: unknown;
  /** Raw body text (e.g. a deliberately mis-encoded form); set `contentType` yourself. */
  body?: string;
  contentType?: string | null;
  /** HTTP Basic client credentials, form-encoded per RFC 6749 §2.3.1 unless `basicRaw`. */
  basic?: [id: string, secret: string];
  /** Basic credentials joined without form-encoding (R13). */
  basicRaw?: [id: string, secret: string];
  bearer?: string;
  cookies?: Record<string, string>;
  /** Response; `null` for none (transport error). Defaults per builder. */
  response?: ResponseSpec | null;
  error?: TransportError;
  tls?: TlsFacts;
  durationMs?: number;
  clientAddress?: string;
}

const autoTimed = new WeakSet<CapturedExchange>();
let idCounter = 0;

function headerList(spec: HeaderSpec | undefined): RawHeaders {
  if (!spec) return [];
  return Array.isArray(spec) ? spec.map(([n, v]) => [n, v] as [string, string]) : Object.entries(spec);
}

function pairs(spec: Pairs): Array<[string, string]> {
  return Array.isArray(spec) ? spec : Object.entries(spec);
}

export function encodeForm(spec: Pairs): string {
  const params = new URLSearchParams();
  for (const [n, v] of pairs(spec)) params.append(n, v);
  return params.toString();
}

function body(text: string | Buffer, gzip = false): CapturedBody {
  const plain = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  if (!gzip) return { bytes: plain, size: plain.length, truncated: false };
  const compressed = gzipSync(plain);
  return { bytes: compressed, size: compressed.length, truncated: false, decoded: plain };
}

function hasHeader(headers: RawHeaders, name: string): boolean {
  return headers.some(([n]) => n.toLowerCase() === name.toLowerCase());
}

function buildResponse(spec: ResponseSpec) {
  const headers = headerList(spec.headers);
  let text = '';
  let contentType = spec.contentType;
  if (spec.json !== undefined) {
    text = JSON.stringify(spec.json);
    contentType ??= 'application/json; charset=utf-8';
  } else if (spec.form) {
    text = encodeForm(spec.form);
    contentType ??= 'application/x-www-form-urlencoded; charset=utf-8';
  } else if (spec.html !== undefined) {
    text = spec.html;
    contentType ??= 'text/html; charset=utf-8';
  } else if (spec.text !== undefined) {
    text = spec.text;
    contentType ??= 'text/plain; charset=utf-8';
  }
  if (contentType && !hasHeader(headers, 'content-type')) headers.push(['Content-Type', contentType]);
  if (spec.gzip) headers.push(['Content-Encoding', 'gzip']);
  const b = body(text, spec.gzip);
  if (!hasHeader(headers, 'content-length')) headers.push(['Content-Length', String(b.bytes.length)]);
  return {
    status: spec.status ?? 200,
    statusText: spec.statusText ?? (spec.status && spec.status >= 400 ? 'Error' : 'OK'),
    httpVersion: '1.1',
    headers,
    body: b,
  };
}

/** Any HTTP exchange. */
export function exchange(spec: RequestSpec, defaults: { method?: string; url?: string; response?: ResponseSpec | null } = {}): CapturedExchange {
  const method = spec.method ?? defaults.method ?? 'GET';
  const url = spec.url ?? defaults.url ?? `${IDP}/`;
  const headers = headerList(spec.headers);
  const host = new URL(url).host;
  if (!hasHeader(headers, 'host')) headers.unshift(['Host', host]);
  let text = '';
  let contentType: string | undefined;
  if (spec.form) {
    text = encodeForm(spec.form);
    contentType = 'application/x-www-form-urlencoded';
  } else if (spec.json !== undefined) {
    text = JSON.stringify(spec.json);
    contentType = 'application/json';
  } else if (spec.body !== undefined) {
    text = spec.body;
  }
  if (spec.contentType !== undefined) contentType = spec.contentType ?? undefined;
  if (contentType && !hasHeader(headers, 'content-type')) headers.push(['Content-Type', contentType]);
  if (spec.basic) {
    const [id, secret] = spec.basic;
    const joined = `${encodeURIComponent(id)}:${encodeURIComponent(secret)}`;
    headers.push(['Authorization', `Basic ${Buffer.from(joined, 'utf8').toString('base64')}`]);
  }
  if (spec.basicRaw) {
    headers.push(['Authorization', `Basic ${Buffer.from(spec.basicRaw.join(':'), 'utf8').toString('base64')}`]);
  }
  if (spec.bearer !== undefined) headers.push(['Authorization', `Bearer ${spec.bearer}`]);
  if (spec.cookies) headers.push(['Cookie', Object.entries(spec.cookies).map(([n, v]) => `${n}=${v}`).join('; ')]);
  if (text && !hasHeader(headers, 'content-length')) headers.push(['Content-Length', String(Buffer.byteLength(text))]);
  headers.push(['User-Agent', 'fixture/1.0']);

  const at = spec.at ?? 0;
  const responseSpec = spec.response === undefined ? defaults.response : spec.response;
  const duration = spec.durationMs ?? 40;
  const captured: CapturedExchange = {
    id: spec.id ?? `ex-${++idCounter}-${randomBytes(3).toString('hex')}`,
    timings: { start: at, requestSent: at + 5, ...(responseSpec ? { responseHeaders: at + duration - 5 } : {}), end: at + duration },
    clientAddress: spec.clientAddress ?? '127.0.0.1',
    connectTarget: url.startsWith('https:') ? `${host.includes(':') ? host : `${host}:443`}` : undefined,
    request: { method, url, httpVersion: '1.1', headers, body: body(text) },
    ...(responseSpec ? { response: buildResponse(responseSpec) } : {}),
    ...(spec.error ? { error: spec.error } : {}),
    ...(spec.tls ? { tls: spec.tls } : url.startsWith('https:') ? { tls: { sni: new URL(url).hostname, protocol: 'TLSv1.3' } } : {}),
  };
  if (spec.at === undefined) autoTimed.add(captured);
  return captured;
}

/** A token-endpoint POST (default 200 with a bearer token response). */
export function tokenRequest(spec: RequestSpec = {}): CapturedExchange {
  return exchange(spec, { method: 'POST', url: TOKEN_URL, response: tokenSuccess() });
}

/** A typical successful token response body. */
export function tokenSuccess(extra: Record<string, unknown> = {}, headers: HeaderSpec = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }): ResponseSpec {
  return {
    status: 200,
    headers,
    json: {
      access_token: `at-${randomBytes(18).toString('base64url')}`,
      token_type: 'Bearer',
      expires_in: 3600,
      ...extra,
    },
  };
}

/** An RFC 6749 §5.2 error response. */
export function oauthError(error: string, description?: string, status = 400, extra: Record<string, unknown> = {}): ResponseSpec {
  return {
    status,
    headers: { 'Cache-Control': 'no-store' },
    json: { error, ...(description ? { error_description: description } : {}), ...extra },
  };
}

/** A browser GET to the authorization endpoint with the given query (default response: 200 login page). */
export function authorizeRequest(params: Pairs, spec: RequestSpec = {}): CapturedExchange {
  const url = new URL(spec.url ?? AUTHORIZE_URL);
  for (const [n, v] of pairs(params)) url.searchParams.append(n, v);
  return exchange({ ...spec, url: url.toString() }, {
    method: 'GET',
    response: { status: 200, html: '<html><head><title>Sign in</title></head><body><form>…</form></body></html>' },
  });
}

export interface RedirectSpec extends RequestSpec {
  /** Where the AS redirects (the redirect_uri). */
  redirectUri?: string;
  /** query (default), fragment, or form_post (200 auto-submitting HTML form). */
  mode?: 'query' | 'fragment' | 'form_post';
}

/** The AS answering the browser with the authorization response (302 Location to the redirect_uri, or form_post). */
export function authorizeRedirect(params: Pairs, spec: RedirectSpec = {}): CapturedExchange {
  const target = spec.redirectUri ?? REDIRECT_URI;
  const mode = spec.mode ?? 'query';
  let response: ResponseSpec;
  if (mode === 'form_post') {
    const inputs = pairs(params).map(([n, v]) => `<input type="hidden" name="${n}" value="${v}"/>`).join('');
    response = { status: 200, html: `<html><head><title>Submit</title></head><body onload="document.forms[0].submit()"><form method="post" action="${target}">${inputs}</form></body></html>` };
  } else {
    const encoded = encodeForm(params);
    const location = mode === 'fragment' ? `${target}#${encoded}` : `${target}${target.includes('?') ? '&' : '?'}${encoded}`;
    response = { status: 302, statusText: 'Found', headers: { Location: location } };
  }
  return exchange({ url: `${IDP}/login/resume`, ...spec, response: spec.response ?? response }, { method: 'GET' });
}

/** The browser's request to the app's redirect_uri carrying the authorization response (default 302 to /). */
export function callbackRequest(params: Pairs, spec: RequestSpec = {}): CapturedExchange {
  const url = new URL(spec.url ?? REDIRECT_URI);
  for (const [n, v] of pairs(params)) url.searchParams.append(n, v);
  return exchange({ ...spec, url: url.toString() }, {
    method: 'GET',
    response: { status: 302, headers: { Location: '/' } },
  });
}

/** An OIDC discovery document fetch. */
export function discoveryRequest(metadata: Record<string, unknown> = {}, spec: RequestSpec = {}): CapturedExchange {
  const issuer = (metadata.issuer as string | undefined) ?? IDP;
  return exchange({ url: `${issuer}/.well-known/openid-configuration`, ...spec }, {
    method: 'GET',
    response: {
      status: 200,
      json: {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        ...metadata,
      },
    },
  });
}

/** An unsigned-looking JWT (header.payload.signature) for fixtures. */
export function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', kid: 'k1', typ: 'JWT' }): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc(header)}.${enc(claims)}.${randomBytes(32).toString('base64url')}`;
}

export interface RunResult {
  /** Final redacted exchanges, in input order (with findings updated by later exchanges). */
  exchanges: Redacted<Exchange>[];
  /** Findings per input index (final state). */
  findings: Finding[][];
  /** Finding codes per input index. */
  codes: string[][];
  /** Findings of one exchange by input index or id. */
  of(which: number | string): Finding[];
  /** The primary finding of an exchange, if any. */
  primary(which: number | string): Finding | undefined;
  /** The engine used (for log/warn inspection). */
  engine: OAuthEngine;
  /** Warnings the engine logged. */
  warnings: Array<{ obj: object; msg: string }>;
}

export const TEST_FINGERPRINT_KEY = Buffer.alloc(32, 7);

/**
 * Runs captured exchanges, in order, through the real engine and returns the final state.
 * `config` may be a partial config object (validated like a config file).
 */
export function runRules(captured: CapturedExchange[], config?: unknown): RunResult {
  const warnings: Array<{ obj: object; msg: string }> = [];
  const lensConfig: LensConfig | undefined = config === undefined ? undefined : parseConfig(config);
  const engine = new OAuthEngine({
    fingerprintKey: TEST_FINGERPRINT_KEY,
    config: lensConfig,
    logger: { warn: (obj, msg) => void warnings.push({ obj, msg }) },
  });
  const latest = new Map<string, Redacted<Exchange>>();
  captured.forEach((c, i) => {
    const item = autoTimed.has(c) ? retime(c, T(i + 1)) : c;
    const { exchange: ex, updated } = engine.ingest(item, i + 1);
    latest.set(ex.id, ex);
    for (const u of updated) latest.set(u.id, u);
  });
  const exchanges = captured.map((c) => {
    const ex = latest.get(c.id);
    if (!ex) throw new Error(`exchange ${c.id} missing from engine output`);
    return ex;
  });
  const findings = exchanges.map((e) => e.oauth.findings);
  const index = (which: number | string) => (typeof which === 'number' ? which : captured.findIndex((c) => c.id === which));
  return {
    exchanges,
    findings,
    codes: findings.map((list) => list.map((f) => f.code)),
    of: (which) => findings[index(which)] ?? [],
    primary: (which) => (findings[index(which)] ?? []).find((f) => f.primary),
    engine,
    warnings,
  };
}

function retime(c: CapturedExchange, start: number): CapturedExchange {
  const shift = start - c.timings.start;
  const t = c.timings;
  return {
    ...c,
    timings: {
      start,
      ...(t.upstreamConnected !== undefined ? { upstreamConnected: t.upstreamConnected + shift } : {}),
      ...(t.requestSent !== undefined ? { requestSent: t.requestSent + shift } : {}),
      ...(t.responseHeaders !== undefined ? { responseHeaders: t.responseHeaders + shift } : {}),
      ...(t.end !== undefined ? { end: t.end + shift } : {}),
    },
  };
}

/**
 * The redaction boundary (oauth-rules.md §4). The ONLY module that mints `Redacted<T>`. Every secret
 * in URLs (query, fragment), Location/Referer/Content-Location, Authorization/Proxy-Authorization,
 * Cookie/Set-Cookie values, secret headers, form/JSON/HTML/text bodies — by name, by value shape,
 * and by a final sweep for the exchange's known secrets in any encoding — is replaced by
 * `[REDACTED name len=N fp=XXXXXXXXXXXX]`. Builds new objects; never mutates the capture.
 */
import type { CapturedBody, CapturedExchange, RawHeaders } from '../capture/types.js';
import type { BodyView, Exchange, Finding, OAuthView, Redacted, TransportError } from '../model.js';
import type { SecretCollector } from './inventory.js';
import { headerValue } from './parse.js';
import { redactHeaders, redactPairs, redactUrl } from './redact-fields.js';
import { redactHtml, redactJson, redactMultipart, redactText } from './redact-text.js';
import type { AnalyzedExchange, SecretPlace } from './types.js';

export { kindFor, secretOrText, redactPairs, redactPath, redactUrl, redactHeaders, type RedactedPairs } from './redact-fields.js';
export { redactJson, redactHtml, redactMultipart, redactText } from './redact-text.js';

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
  // Each part remembers how many secrets were known when it was redacted; the second pass below only
  // re-sweeps parts that were redacted before some secret was learned (e.g. a code first seen in the body).
  const requestHeaders = redactHeaders(captured.request.headers, c, 'request');
  const gReqHeaders = c.generation;
  const requestBody = redactBody(input.requestBody, c, 'request');
  const gReqBody = c.generation;
  const responseHeaders = captured.response ? redactHeaders(captured.response.headers, c, 'response') : undefined;
  const gResHeaders = c.generation;
  const responseBody = captured.response && input.responseBody ? redactBody(input.responseBody, c, 'response') : undefined;
  const gResBody = c.generation;
  const url = redactUrl(captured.request.url, c, 'request');
  const stale = (g: number) => g !== c.generation;
  const sweepHeaders = (h: RawHeaders, g: number) => (stale(g) ? h.map(([n, v]) => [n, c.sweep(v)] as [string, string]) : h);
  const sweepBody = (b: BodyView, g: number) => (stale(g) ? resweepBody(b, c) : b);
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
      headers: sweepHeaders(requestHeaders, gReqHeaders),
      body: sweepBody(requestBody, gReqBody),
    },
    ...(captured.response && responseHeaders && responseBody ? {
      response: {
        status: captured.response.status,
        statusText: c.sweep(captured.response.statusText),
        httpVersion: captured.response.httpVersion,
        headers: sweepHeaders(responseHeaders, gResHeaders),
        body: sweepBody(responseBody, gResBody),
      },
    } : {}),
    ...(captured.tls ? { tls: copyTls(captured.tls) } : {}),
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

/**
 * A redacted exchange without the findings `drop` selects (the HAR analysis leaves out findings it cannot
 * judge on stand-in values). It can only remove data, so the result stays redacted; when the primary finding
 * goes, the first one left takes over.
 */
export function withoutFindings(exchange: Redacted<Exchange>, drop: (finding: Finding) => boolean): { exchange: Redacted<Exchange>; dropped: Finding[] } {
  const dropped = exchange.oauth.findings.filter(drop);
  if (!dropped.length) return { exchange, dropped };
  const keep = exchange.oauth.findings.filter((finding) => !dropped.includes(finding));
  const findings = keep.some((f) => f.primary) ? keep : keep.map((f, i) => (i === 0 ? { ...f, primary: true } : f));
  return { exchange: withOAuth(exchange, { ...exchange.oauth, findings }), dropped };
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
  // Allow-listed JWT claims are Class C, but a buggy client can put a query with secrets into e.g. a DPoP `htu`.
  for (const jwt of facts.jwts) {
    for (const [k, v] of Object.entries(jwt.claims)) if (typeof v === 'string') jwt.claims[k] = redactText(v, c);
  }
}

/**
 * A deep copy of the TLS facts (plain strings in plain objects). structuredClone did the same but cost
 * more than the rest of building the exchange; anything unexpected (a Buffer, a Date) still goes through it.
 */
export function copyTls<T extends object>(tls: T): T {
  const copy = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(copy);
    if (Object.getPrototypeOf(value) !== Object.prototype) throw new TypeError('not plain');
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
    return out;
  };
  try {
    return copy(tls) as T;
  } catch {
    return structuredClone(tls);
  }
}

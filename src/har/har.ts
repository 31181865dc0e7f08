/**
 * Redacted exchanges → HAR 1.2, pure. Bodies, headers and URLs are written exactly as the store
 * holds them (already redacted); every fingerprint is then re-keyed under a per-file salt
 * (rekey.ts) so exported files cannot be joined with each other or with the live store.
 */
import type { BodyView, Exchange, Finding, Redacted } from '../model.js';
import {
  harHeaders, harHttpVersion, harTimings, harTotalTime, headerValue, queryString,
  requestCookies, responseCookies, uriSafe,
} from './har-parts.js';
import { FingerprintRekeyer, freshSalt } from './rekey.js';
import type { Har, HarContent, HarEntry, HarFinding, HarPostData, HarResponse } from './types.js';

export interface HarExportOptions {
  /** Fingerprint salt; a fresh random one per call when absent (tests pass one to compare). */
  salt?: Buffer;
  creatorVersion?: string;
  comment?: string;
}

export function exchangesToHar(exchanges: Redacted<Exchange>[], options: HarExportOptions = {}): Har {
  const rekeyer = new FingerprintRekeyer(options.salt ?? freshSalt());
  const ordered = [...exchanges].sort((a, b) => a.timings.start - b.timings.start || a.seq - b.seq);
  const har: Har = {
    log: {
      version: '1.2',
      creator: {
        name: 'oauth-lens',
        version: options.creatorVersion ?? '0.0.0',
        comment: 'Secrets redacted; fingerprints re-keyed for this file only.',
      },
      entries: ordered.map(toEntry),
      ...(options.comment ? { comment: options.comment } : {}),
    },
  };
  return rekeyer.rekeyDeep(har);
}

function toEntry(exchange: Exchange): HarEntry {
  const { request, response } = exchange;
  const timings = harTimings(exchange.timings);
  const postData = toPostData(request.headers, request.body);
  const entry: HarEntry = {
    startedDateTime: new Date(exchange.timings.start).toISOString(),
    time: harTotalTime(timings),
    request: {
      method: request.method,
      url: uriSafe(request.url),
      httpVersion: harHttpVersion(request.httpVersion),
      cookies: requestCookies(request.headers),
      headers: harHeaders(request.headers),
      queryString: queryString(request.url),
      ...(postData ? { postData } : {}),
      headersSize: -1,
      bodySize: request.body.size,
      ...bodyComment(request.body),
    },
    response: toResponse(exchange),
    cache: {},
    timings,
    _oauthLens: {
      kind: exchange.oauth.kind,
      ...(exchange.oauth.flowId ? { flowId: exchange.oauth.flowId } : {}),
      exchangeId: exchange.id,
      ...(exchange.oauth.grantType ? { grantType: exchange.oauth.grantType } : {}),
      ...(exchange.oauth.clientId ? { clientId: exchange.oauth.clientId } : {}),
      ...(exchange.oauth.provider ? { provider: exchange.oauth.provider } : {}),
      ...(exchange.oauth.providerError ? { providerError: exchange.oauth.providerError } : {}),
      ...(exchange.oauth.jwts?.length ? { jwts: exchange.oauth.jwts } : {}),
      ...(exchange.error ? { error: { ...exchange.error } } : {}),
      findings: exchange.oauth.findings.map(toHarFinding),
    },
  };
  if (exchange.connectTarget) entry.connection = exchange.connectTarget;
  return entry;
}

function toPostData(headers: Exchange['request']['headers'], body: BodyView): HarPostData | undefined {
  if (body.size === 0 && !body.text && !body.form?.length) return undefined;
  const mimeType = headerValue(headers, 'content-type') ?? body.mimeType ?? '';
  const post: HarPostData = { mimeType };
  if (body.text !== undefined) post.text = body.text;
  if (body.form) post.params = body.form.map(([name, value]) => ({ name, value }));
  if (post.text === undefined && post.params) {
    post.text = body.form!.map(([n, v]) => `${encodeForm(n)}=${encodeForm(v)}`).join('&');
  }
  const comment = bodyComment(body).comment;
  if (comment) post.comment = comment;
  return post;
}

function toResponse(exchange: Exchange): HarResponse {
  const response = exchange.response;
  if (!response) {
    const error = exchange.error;
    return {
      status: 0,
      statusText: '',
      httpVersion: '',
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: 'x-unknown' },
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
      ...(error ? { _error: `${error.code}: ${error.message}`, comment: `no response: ${error.message}` } : {}),
    };
  }
  return {
    status: response.status,
    statusText: response.statusText,
    httpVersion: harHttpVersion(response.httpVersion),
    cookies: responseCookies(response.headers),
    headers: harHeaders(response.headers),
    content: toContent(response.headers, response.body),
    redirectURL: headerValue(response.headers, 'location') ?? '',
    headersSize: -1,
    bodySize: response.body.size,
  };
}

/**
 * Response content: the decoded, redacted text. The store keeps no bytes for binary bodies, so
 * those are described (size, comment) rather than embedded; `encoding` is therefore never base64.
 */
function toContent(headers: Exchange['request']['headers'], body: BodyView): HarContent {
  const mimeType = headerValue(headers, 'content-type') ?? body.mimeType ?? 'x-unknown';
  if (body.text === undefined) return { size: body.size, mimeType, ...bodyComment(body) };
  const size = Buffer.byteLength(body.text, 'utf8');
  const content: HarContent = { size, mimeType, text: body.text, ...bodyComment(body) };
  if (body.encoding && !body.truncated && size > body.size) content.compression = size - body.size;
  return content;
}

function bodyComment(body: BodyView): { comment?: string } {
  const notes: string[] = [];
  if (body.truncated) notes.push(`body truncated at the capture cap (${body.size} bytes on the wire)`);
  if (body.text === undefined && body.size > 0) notes.push('binary body not kept');
  if (body.decodeError) notes.push(`body not decoded: ${body.decodeError}`);
  return notes.length ? { comment: notes.join('; ') } : {};
}

function toHarFinding(finding: Finding): HarFinding {
  return {
    code: finding.code,
    severity: finding.severity,
    title: finding.title,
    detail: finding.detail,
    ...(finding.evidence ? { evidence: finding.evidence } : {}),
    ...(finding.fix ? { fix: finding.fix } : {}),
    confidence: finding.confidence,
    primary: finding.primary,
    exchangeIds: [...finding.exchangeIds],
  };
}

function encodeForm(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

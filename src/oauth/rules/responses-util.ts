/**
 * Helpers shared by the framing, responses, refresh, transport and secrets rule families: redacted
 * evidence, provider-error classification and rate-limit header reading. Pure; reads facts only.
 */
import { header } from '../facts.js';
import type { AnalyzedExchange, ParamValue, ProviderError } from '../types.js';

/** Kinds that are calls to an authorization server (everything but `other`). */
export const OAUTH_KINDS = [
  'token', 'authorize', 'authorize_response', 'discovery', 'jwks', 'userinfo',
  'introspection', 'revocation', 'device_authorization', 'par',
] as const;

/** Back-channel endpoints that must answer JSON and take form-encoded POSTs. */
export const TOKEN_LIKE_KINDS = ['token', 'introspection', 'revocation', 'par', 'device_authorization'] as const;

/** Non-retryable token-endpoint errors (RFC 6749 §5.2 and provider equivalents). */
export const NON_RETRYABLE = new Set([
  'invalid_grant', 'invalid_client', 'invalid_request', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope',
  'redirect_uri_mismatch', 'bad_verification_code', 'incorrect_client_credentials', 'bad_refresh_token', 'invalid_code',
  'bad_redirect_uri', 'invalid_client_id', 'bad_client_secret', 'invalid_grant_type', 'invalid_refresh_token',
]);

/** Errors meaning "this grant (code / refresh token) is no longer valid" across providers. */
const GRANT_REJECTED = new Set(['invalid_grant', 'bad_verification_code', 'bad_refresh_token', 'invalid_code', 'invalid_refresh_token']);

/** Entra transient codes (oauth-rules.md R46). */
export const AADSTS_TRANSIENT = new Set(['50033', '90024', '90033', '50087', '90006']);

/** Lens-side upstream failures that mean "the AS did not answer", not TLS (R66) or the client (R49). */
export const UNAVAILABLE_TRANSPORT = new Set(['timeout', 'reset', 'refused', 'dns']);

export const TLS_TRANSPORT = new Set(['tls_hostname', 'tls_expired', 'tls_untrusted', 'tls_other']);

export function status(ex: AnalyzedExchange): number | undefined {
  return ex.response?.status;
}

export function is2xx(ex: AnalyzedExchange): boolean {
  const s = ex.response?.status;
  return s !== undefined && s >= 200 && s < 300;
}

/** The AS rejected the grant itself (code consumed/expired, refresh token invalid). */
export function grantRejected(ex: AnalyzedExchange): boolean {
  const e = ex.providerError?.error;
  return e !== undefined && GRANT_REJECTED.has(e);
}

/** 5xx (not 501), server_error / temporarily_unavailable, transient AADSTS, or a lens-side timeout/reset/refused/DNS. */
export function unavailableReason(ex: AnalyzedExchange): string | undefined {
  if (ex.transportError && UNAVAILABLE_TRANSPORT.has(ex.transportError.code)) return `transport:${ex.transportError.code}`;
  const s = ex.response?.status;
  if (s !== undefined && s >= 500 && s !== 501) return `http:${s}`;
  const e = ex.providerError?.error;
  if (e === 'server_error' || e === 'temporarily_unavailable') return `error:${e}`;
  const code = ex.providerError?.aadsts.find((c) => AADSTS_TRANSIENT.has(c));
  if (code) return `aadsts:${code}`;
  return undefined;
}

/** The normalised provider error as evidence (all Class C: codes, descriptions, support ids). */
export function asError(pe: ProviderError | undefined): Record<string, unknown> | undefined {
  if (!pe) return undefined;
  const out: Record<string, unknown> = {};
  if (pe.error) out.error = pe.error;
  if (pe.errorDescription) out.error_description = pe.errorDescription.slice(0, 300);
  if (pe.errorSubtype) out.error_subtype = pe.errorSubtype;
  if (pe.aadsts.length) out.aadsts = pe.aadsts;
  if (pe.traceId) out.trace_id = pe.traceId;
  if (pe.correlationId) out.correlation_id = pe.correlationId;
  if (pe.slackOk === false) out.ok = false;
  if (pe.facebook) out.facebook = pe.facebook;
  if (pe.htmlTitle) out.html_title = pe.htmlTitle;
  return Object.keys(out).length ? out : undefined;
}

/** The facts every finding of these families starts from (redacted, Class C only). */
export function baseEvidence(ex: AnalyzedExchange): Record<string, unknown> {
  const out: Record<string, unknown> = {
    exchange: ex.id,
    request: `${ex.request.method} ${ex.request.url.base}`,
  };
  if (ex.provider) out.provider = ex.provider;
  if (ex.clientId) out.client_id = ex.clientId;
  if (ex.grantType) out.grant_type = ex.grantType;
  if (ex.response) out.status = ex.response.status;
  if (ex.transportError) out.transport_error = { code: ex.transportError.code, message: ex.transportError.message, ...(ex.transportError.nodeCode ? { node_code: ex.transportError.nodeCode } : {}) };
  const err = asError(ex.providerError);
  if (err) out.as_error = err;
  return out;
}

/** One line naming the AS error, for titles and details. */
export function errorText(ex: AnalyzedExchange): string {
  const pe = ex.providerError;
  if (!pe?.error && !pe?.htmlTitle) return ex.response ? `HTTP ${ex.response.status}` : ex.transportError ? ex.transportError.code : 'no response';
  const parts = [pe.error ? `"${pe.error}"` : undefined, pe.errorDescription ? `(${pe.errorDescription.slice(0, 160)})` : undefined,
    !pe.error && pe.htmlTitle ? `page "${pe.htmlTitle}"` : undefined];
  return parts.filter(Boolean).join(' ');
}

export function latencyMs(ex: AnalyzedExchange): number | undefined {
  const end = ex.timings.responseHeaders ?? ex.timings.end;
  return end !== undefined ? Math.round(end - ex.timings.start) : undefined;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  /** Epoch ms when the limit resets, from `*-reset` (epoch seconds, or delta seconds when small). */
  resetAt?: number;
  /** Epoch ms from Retry-After. */
  retryAt?: number;
  retryAfterRaw?: string;
  headers: Record<string, string>;
}

const RATE_HEADERS = /^(x-ratelimit-|x-rate-limit-|ratelimit-|retry-after$)/;

/** Rate-limit headers (Okta X-Rate-Limit-*, Auth0/GitHub x-ratelimit-*, RFC draft RateLimit-*) and Retry-After. */
export function rateLimitInfo(ex: AnalyzedExchange): RateLimitInfo {
  const headers: Record<string, string> = {};
  for (const [n, v] of ex.response?.headers ?? []) {
    const lower = n.toLowerCase();
    if (RATE_HEADERS.test(lower)) headers[lower] = v.slice(0, 100);
  }
  const num = (suffix: string): number | undefined => {
    for (const prefix of ['x-rate-limit-', 'x-ratelimit-', 'ratelimit-']) {
      const v = headers[prefix + suffix];
      if (v !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v);
    }
    return undefined;
  };
  const base = ex.timings.responseHeaders ?? ex.at;
  const info: RateLimitInfo = { headers };
  const limit = num('limit');
  const remaining = num('remaining');
  const reset = num('reset');
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (reset !== undefined) info.resetAt = reset > 1e9 ? reset * 1000 : base + reset * 1000;
  const ra = ex.providerError?.retryAfter;
  const raw = ra?.raw ?? header(ex.response?.headers ?? [], 'retry-after');
  if (raw !== undefined) {
    info.retryAfterRaw = raw.slice(0, 100);
    if (ra?.until !== undefined) info.retryAt = ra.until;
    else if (/^\s*\d+\s*$/.test(raw)) info.retryAt = base + Number(raw) * 1000;
    else if (Number.isFinite(Date.parse(raw))) info.retryAt = Date.parse(raw);
  }
  return info;
}

/**
 * requestKey per exchange: retry rules compare it against every earlier same-host exchange, each ingest.
 * A pure function of immutable facts, so the memo cannot change a result; weak, so it dies with the exchange.
 */
const REQUEST_KEYS = new WeakMap<AnalyzedExchange, string>();

/** Same code / refresh token / credentials: the identity of "the same token request" for retry rules. */
export function requestKey(ex: AnalyzedExchange): string {
  let key = REQUEST_KEYS.get(ex);
  if (key === undefined) {
    key = buildRequestKey(ex);
    REQUEST_KEYS.set(ex, key);
  }
  return key;
}

function buildRequestKey(ex: AnalyzedExchange): string {
  const c = ex.clientAuth;
  const cred = c.clientSecret?.fp ?? c.basic?.secret?.fp ?? (c.clientAssertion ? 'assertion' : 'none');
  return [ex.request.url.base, ex.grantType ?? '-', ex.clientId ?? '-', cred, ex.code?.fp ?? '-', ex.refreshToken?.fp ?? '-',
    ex.deviceCode?.fp ?? '-', ex.scopeRaw ?? '-'].join('|');
}

/** A value the client sent although it had nothing: empty, `undefined`, `null`, a template placeholder. */
export function missingValue(value: ParamValue | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'string') return value === '' || /^(undefined|null|none|nil)$/i.test(value.trim());
  return value.length === 0 || value.anomalies.some((a) => a === 'empty' || a === 'literal' || a === 'placeholder');
}

/** Short id list for evidence (first and last few). */
export function idList(ids: string[], max = 8): string[] {
  if (ids.length <= max) return ids;
  return [...ids.slice(0, 3), `… ${ids.length - max + 2} more …`, ...ids.slice(-(max - 3))];
}

/**
 * Helpers for the OIDC, keys and discovery rules (R54–R60): reading decoded JWT claims (allow-listed,
 * already redacted), the issuer an exchange should carry, and endpoint-URL comparison. Pure.
 */
import type { AnalyzedExchange, DecodedJwt } from '../types.js';
import type { RuleContext } from './types.js';

export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function audiences(jwt: DecodedJwt): string[] {
  const aud = jwt.claims.aud;
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** The id_token issued by a successful token response, when it decoded. */
export function idTokenOf(ex: AnalyzedExchange): DecodedJwt | undefined {
  const jwt = ex.tokenResponse?.idToken?.jwt;
  return jwt && !jwt.error ? jwt : undefined;
}

/** The AS clock for an exchange: its response `Date` header, else the lens's own time of the exchange. */
export function asClock(ex: AnalyzedExchange): { at: number; source: 'response_date' | 'lens' } {
  const d = ex.response?.date;
  return d !== undefined ? { at: d, source: 'response_date' } : { at: ex.at, source: 'lens' };
}

/** The client the token request (or its authorize request) was made for. */
export function clientOf(ex: AnalyzedExchange, ctx: RuleContext): string | undefined {
  return ex.clientId ?? ctx.correlation.authorize?.authorize?.clientId;
}

/** `scheme://host[:port]/path` of an absolute URL with the default port dropped; undefined when not a URL. */
export function endpointBase(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.toLowerCase().replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

/** The issuer a discovery document URL was built from (OIDC appended, RFC 8414 inserted, or Okta's legacy appended form). */
export function issuerFromDocumentUrl(documentUrl: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]+)(\/.*?)?\/\.well-known\/(openid-configuration|oauth-authorization-server)(\/.*)?$/i.exec(documentUrl);
  if (!m) return undefined;
  const [, origin = '', before = '', , after = ''] = m;
  return `${origin}${before}${after}`;
}

/** Entra's multi-tenant discovery issuer template (`/common`, `/organizations`) with the token's tenant filled in. */
export function fillTenant(issuer: string, tid: unknown): string {
  return typeof tid === 'string' ? issuer.replace(/\{tenantid\}/gi, tid) : issuer;
}

export function entraIssuerHint(iss: string, expected: string): string | undefined {
  const v1 = /^https:\/\/sts\.windows\.net\//i;
  if (v1.test(iss) && /\/v2\.0\/?$/.test(expected)) return 'Entra issued a v1 token (iss https://sts.windows.net/{tid}/) while the client expects the v2.0 issuer: the app called the v1 endpoint (/oauth2/token), or the API registration has accessTokenAcceptedVersion null/1.';
  if (/login\.microsoftonline\.com\/[^/]+\/v2\.0/i.test(iss) && v1.test(expected)) return 'Entra issued a v2.0 token while the client expects the v1 issuer (https://sts.windows.net/{tid}/): align the endpoint version with the validator.';
  if (/\{tenantid\}/i.test(expected)) return 'The client validates against Entra\'s multi-tenant template issuer: substitute the token\'s tid, or validate iss per tenant.';
  return undefined;
}

/**
 * Helpers for the grant_type and scope rules: registered grant names, near-miss spelling, and
 * scope parsing/normalisation that knows provider conventions (GitHub/Slack/Facebook commas,
 * Google's long-form OIDC scopes, Entra resource prefixes).
 */
import type { AnalyzedExchange } from '../types.js';

/** RFC 6749 §4, RFC 8628, RFC 7523, RFC 8693, RFC 7522, CIBA, UMA — the IANA-registered grant types. */
export const REGISTERED_GRANTS = [
  'authorization_code', 'refresh_token', 'client_credentials', 'password',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:saml2-bearer',
  'urn:ietf:params:oauth:grant-type:uma-ticket',
  'urn:openid:params:grant-type:ciba',
] as const;

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Auth0's password-realm extension grant is the password grant under another name. */
export const PASSWORD_GRANTS = new Set(['password', 'http://auth0.com/oauth/grant-type/password-realm']);

/** Providers whose code exchange has no grant_type parameter by design (GitHub, Slack oauth.v2.access, Facebook). */
export const NO_GRANT_TYPE_PROVIDERS = new Set(['github', 'slack', 'facebook']);

function squash(value: string): string {
  return value.trim()
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[\s\-.]+/g, '_');
}

/** The registered grant a misspelt value was meant to be (`authorization-code`, `authorizationCode`, `device_code` without URN, trailing CR/LF). */
export function nearMissGrant(value: string): string | undefined {
  const s = squash(value);
  for (const grant of REGISTERED_GRANTS) {
    const tail = grant.split(':').pop() ?? grant;
    if (s === squash(grant) || s === squash(tail)) return grant;
  }
  return undefined;
}

const COMMA_SCOPE_PROVIDERS = new Set(['github', 'slack', 'facebook']);

export function usesCommaScopes(ex: AnalyzedExchange): boolean {
  return !!ex.provider && COMMA_SCOPE_PROVIDERS.has(ex.provider);
}

/** Scope tokens of a raw value: space-delimited (RFC 6749 §3.3); commas too for providers that use them. */
export function splitScopes(raw: string | undefined, commas: boolean): string[] {
  if (raw === undefined) return [];
  return raw.split(commas ? /[\s,]+/ : /\s+/).filter(Boolean);
}

const GOOGLE_ALIASES: Record<string, string> = {
  email: 'https://www.googleapis.com/auth/userinfo.email',
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
};

/** A comparison key for one scope, so provider spellings of the same permission compare equal. */
export function scopeKey(provider: string | undefined, scope: string): string {
  if (provider === 'google') return GOOGLE_ALIASES[scope] ?? scope;
  if (provider === 'entra') return scope.replace(/^https:\/\/graph\.microsoft\.com\//i, '').toLowerCase();
  return scope;
}

/** Scopes in `a` that are not in `b`, by provider-aware key. */
export function scopesMissing(provider: string | undefined, a: readonly string[], b: readonly string[]): string[] {
  const keys = new Set(b.map((s) => scopeKey(provider, s)));
  return a.filter((s) => !keys.has(scopeKey(provider, s)));
}

/** `.default` (Entra) and similar requests ask for "whatever was consented": no subset comparison is possible. */
export function isWildcardRequest(scopes: readonly string[]): boolean {
  return scopes.some((s) => s === '.default' || s.endsWith('/.default'));
}

export const OIDC_STANDARD_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];

/** Entra: the resource a scope belongs to (bare names and OIDC scopes belong to Microsoft Graph / none). */
export function entraResource(scope: string): string | undefined {
  if (OIDC_STANDARD_SCOPES.includes(scope)) return undefined;
  const uri = /^([a-z][a-z0-9+.-]*:\/\/[^/]+(?:\/[^/]*?)?)\/[^/]+$/i.exec(scope) ?? /^(api:\/\/[^/]+)\/.+$/i.exec(scope);
  if (uri?.[1]) return uri[1].toLowerCase().replace(/^https:\/\/graph\.microsoft\.com.*$/, 'https://graph.microsoft.com');
  if (/^[0-9a-f-]{36}\/.+/i.test(scope)) return scope.split('/')[0]?.toLowerCase();
  return 'https://graph.microsoft.com';
}

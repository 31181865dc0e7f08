/**
 * Known provider endpoints (oauth-rules.md §2.1) and provider identity by host. A seed only: endpoints
 * learned from discovery documents take precedence (classify.ts).
 */
import type { ExchangeKind } from '../model.js';
import type { UrlInfo } from './parse.js';

export interface ProviderInfo {
  id: string;
  /** Issuer derived from the URL, when the pattern determines it. */
  issuer?: string;
}

interface Pattern {
  provider: string;
  host: RegExp;
  /** Path regex; named groups may build the issuer. */
  path: RegExp;
  kind: ExchangeKind;
  issuer?: (url: UrlInfo, m: RegExpExecArray) => string;
}

const origin = (u: UrlInfo) => `${u.scheme}://${u.explicitPort ? `${u.host}:${u.port}` : u.host}`;

const ENTRA_HOST = /^(login\.microsoftonline\.com|login\.partner\.microsoftonline\.cn|login\.microsoftonline\.us|[\w-]+\.b2clogin\.com|[\w-]+\.ciamlogin\.com)$/;
const entraIssuer = (u: UrlInfo, m: RegExpExecArray) => `${origin(u)}/${m[1]}/v2.0`;
const KEYCLOAK = (suffix: string) => new RegExp(`^(.*?/realms/[^/]+)/protocol/openid-connect/${suffix}/?$`);
const keycloakIssuer = (u: UrlInfo, m: RegExpExecArray) => `${origin(u)}${m[1]}`;
const OKTA_HOST = /\.(okta|oktapreview|okta-emea)\.com$/;
const OKTA = (suffix: string) => new RegExp(`^/oauth2(?:/([^/]+))?/v1/${suffix}/?$`);
const oktaIssuer = (u: UrlInfo, m: RegExpExecArray) => (m[1] ? `${origin(u)}/oauth2/${m[1]}` : origin(u));

const PATTERNS: Pattern[] = [
  { provider: 'google', host: /^oauth2\.googleapis\.com$/, path: /^\/token\/?$/, kind: 'token', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^accounts\.google\.com$/, path: /^\/o\/oauth2\/token\/?$/, kind: 'token', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^www\.googleapis\.com$/, path: /^\/oauth2\/v[34]\/token\/?$/, kind: 'token', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^accounts\.google\.com$/, path: /^\/o\/oauth2\/(v2\/)?auth\/?$/, kind: 'authorize', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^oauth2\.googleapis\.com$/, path: /^\/revoke\/?$/, kind: 'revocation', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^oauth2\.googleapis\.com$/, path: /^\/device\/code\/?$/, kind: 'device_authorization', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^openidconnect\.googleapis\.com$/, path: /^\/v1\/userinfo\/?$/, kind: 'userinfo', issuer: () => 'https://accounts.google.com' },
  { provider: 'google', host: /^www\.googleapis\.com$/, path: /^\/oauth2\/v3\/certs\/?$/, kind: 'jwks', issuer: () => 'https://accounts.google.com' },
  { provider: 'google_sts', host: /^sts\.googleapis\.com$/, path: /^\/v1\/token\/?$/, kind: 'token' },
  { provider: 'firebase', host: /^securetoken\.googleapis\.com$/, path: /^\/v1\/token\/?$/, kind: 'token' },
  { provider: 'github', host: /^github\.com$/, path: /^\/login\/oauth\/access_token\/?$/, kind: 'token', issuer: () => 'https://github.com' },
  { provider: 'github', host: /^github\.com$/, path: /^\/login\/oauth\/authorize\/?$/, kind: 'authorize', issuer: () => 'https://github.com' },
  { provider: 'github', host: /^github\.com$/, path: /^\/login\/device\/code\/?$/, kind: 'device_authorization', issuer: () => 'https://github.com' },
  { provider: 'github', host: /^api\.github\.com$/, path: /^\/user\/?$/, kind: 'userinfo', issuer: () => 'https://github.com' },
  { provider: 'entra', host: ENTRA_HOST, path: /^\/([^/]+)(?:\/[^/]+)?\/oauth2\/(?:v2\.0\/)?token\/?$/, kind: 'token', issuer: entraIssuer },
  { provider: 'entra', host: ENTRA_HOST, path: /^\/([^/]+)(?:\/[^/]+)?\/oauth2\/(?:v2\.0\/)?authorize\/?$/, kind: 'authorize', issuer: entraIssuer },
  { provider: 'entra', host: ENTRA_HOST, path: /^\/([^/]+)\/oauth2\/v2\.0\/devicecode\/?$/, kind: 'device_authorization', issuer: entraIssuer },
  { provider: 'entra', host: ENTRA_HOST, path: /^\/([^/]+)\/discovery\/(?:v2\.0\/)?keys\/?$/, kind: 'jwks', issuer: entraIssuer },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/oauth\/token\/?$/, kind: 'token' },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/authorize\/?$/, kind: 'authorize' },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/oauth\/revoke\/?$/, kind: 'revocation' },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/userinfo\/?$/, kind: 'userinfo' },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/\.well-known\/jwks\.json$/, kind: 'jwks' },
  { provider: 'auth0', host: /\.auth0\.com$/, path: /^\/oauth\/device\/code\/?$/, kind: 'device_authorization' },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('token'), kind: 'token', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('authorize'), kind: 'authorize', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('introspect'), kind: 'introspection', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('revoke'), kind: 'revocation', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('userinfo'), kind: 'userinfo', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('keys'), kind: 'jwks', issuer: oktaIssuer },
  { provider: 'okta', host: OKTA_HOST, path: OKTA('device/authorize'), kind: 'device_authorization', issuer: oktaIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('token'), kind: 'token', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('auth'), kind: 'authorize', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('userinfo'), kind: 'userinfo', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('certs'), kind: 'jwks', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('token/introspect'), kind: 'introspection', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('revoke'), kind: 'revocation', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('auth/device'), kind: 'device_authorization', issuer: keycloakIssuer },
  { provider: 'keycloak', host: /.*/, path: KEYCLOAK('ext/par/request'), kind: 'par', issuer: keycloakIssuer },
  { provider: 'cognito', host: /\.amazoncognito\.com$/, path: /^\/oauth2\/token\/?$/, kind: 'token' },
  { provider: 'cognito', host: /\.amazoncognito\.com$/, path: /^\/oauth2\/authorize\/?$/, kind: 'authorize' },
  { provider: 'cognito', host: /\.amazoncognito\.com$/, path: /^\/oauth2\/revoke\/?$/, kind: 'revocation' },
  { provider: 'cognito', host: /\.amazoncognito\.com$/, path: /^\/oauth2\/userInfo\/?$/i, kind: 'userinfo' },
  { provider: 'slack', host: /^slack\.com$/, path: /^\/api\/(oauth\.v2\.access|oauth\.access|oauth\.v2\.exchange|openid\.connect\.token)\/?$/, kind: 'token', issuer: () => 'https://slack.com' },
  { provider: 'slack', host: /^slack\.com$/, path: /^\/oauth\/(v2\/)?authorize\/?$/, kind: 'authorize', issuer: () => 'https://slack.com' },
  { provider: 'facebook', host: /^graph\.facebook\.com$/, path: /^(\/v\d+\.\d+)?\/oauth\/access_token\/?$/, kind: 'token', issuer: () => 'https://www.facebook.com' },
  { provider: 'facebook', host: /^www\.facebook\.com$/, path: /^(\/v\d+\.\d+)?\/dialog\/oauth\/?$/, kind: 'authorize', issuer: () => 'https://www.facebook.com' },
  { provider: 'apple', host: /^appleid\.apple\.com$/, path: /^\/auth\/token\/?$/, kind: 'token', issuer: () => 'https://appleid.apple.com' },
  { provider: 'apple', host: /^appleid\.apple\.com$/, path: /^\/auth\/authorize\/?$/, kind: 'authorize', issuer: () => 'https://appleid.apple.com' },
  { provider: 'apple', host: /^appleid\.apple\.com$/, path: /^\/auth\/keys\/?$/, kind: 'jwks', issuer: () => 'https://appleid.apple.com' },
  { provider: 'apple', host: /^appleid\.apple\.com$/, path: /^\/auth\/revoke\/?$/, kind: 'revocation', issuer: () => 'https://appleid.apple.com' },
  { provider: 'salesforce', host: /^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, path: /^\/services\/oauth2\/token\/?$/, kind: 'token' },
  { provider: 'salesforce', host: /^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, path: /^\/services\/oauth2\/authorize\/?$/, kind: 'authorize' },
  { provider: 'salesforce', host: /^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, path: /^\/services\/oauth2\/revoke\/?$/, kind: 'revocation' },
  { provider: 'salesforce', host: /^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, path: /^\/services\/oauth2\/introspect\/?$/, kind: 'introspection' },
  { provider: 'salesforce', host: /^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, path: /^\/services\/oauth2\/userinfo\/?$/, kind: 'userinfo' },
  // Legitimately GET-based token service (§3.3): recognised so rules can exempt it.
  { provider: 'azure_imds', host: /^169\.254\.169\.254$/, path: /^\/metadata\/identity\/oauth2\/token\/?$/, kind: 'token' },
];

const HOST_PROVIDERS: Array<[RegExp, string]> = [
  [/^(accounts\.google\.com|oauth2\.googleapis\.com|www\.googleapis\.com|openidconnect\.googleapis\.com)$/, 'google'],
  [/^(github\.com|api\.github\.com)$/, 'github'],
  [ENTRA_HOST, 'entra'],
  [/\.auth0\.com$/, 'auth0'],
  [OKTA_HOST, 'okta'],
  [/\.amazoncognito\.com$|^cognito-idp\.[\w-]+\.amazonaws\.com$/, 'cognito'],
  [/^slack\.com$/, 'slack'],
  [/^(graph|www)\.facebook\.com$/, 'facebook'],
  [/^appleid\.apple\.com$/, 'apple'],
  [/^(login|test)\.salesforce\.com$|\.my\.salesforce\.com$/, 'salesforce'],
];

/** The known endpoint this URL is, if any. */
export function knownEndpoint(url: UrlInfo, _method: string): { provider: string; kind: ExchangeKind; issuer?: string } | undefined {
  for (const p of PATTERNS) {
    if (!p.host.test(url.host)) continue;
    const m = p.path.exec(url.path);
    if (!m) continue;
    return { provider: p.provider, kind: p.kind, ...(p.issuer ? { issuer: p.issuer(url, m) } : {}) };
  }
  return undefined;
}

/** Provider id (and issuer when the URL determines it) by host/path. */
export function providerFor(url: UrlInfo): ProviderInfo | undefined {
  for (const p of PATTERNS) {
    if (!p.host.test(url.host)) continue;
    const m = p.path.exec(url.path);
    if (m) return { id: p.provider, ...(p.issuer ? { issuer: p.issuer(url, m) } : {}) };
  }
  if (/\/realms\/[^/]+\//.test(url.path)) {
    const m = /^(.*?\/realms\/[^/]+)/.exec(url.path);
    return { id: 'keycloak', ...(m ? { issuer: `${origin(url)}${m[1]}` } : {}) };
  }
  for (const [re, id] of HOST_PROVIDERS) if (re.test(url.host)) return { id };
  return undefined;
}

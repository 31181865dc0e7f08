/**
 * Every finding code oauth-lens can emit: the 70 rules of oauth-rules.md §1.0 plus
 * `grant_type.params_mismatch`. The single source for the README list (scripts/finding-codes.mjs),
 * for checking that each rule's code exists, and for `oauth-lens config check`.
 */
import type { Severity } from '../model.js';

export type RuleFamily =
  | 'redirect-uri' | 'client-auth' | 'code' | 'grant-scope' | 'state' | 'pkce' | 'framing'
  | 'responses' | 'refresh' | 'oidc' | 'bearer' | 'dpop' | 'device-par' | 'transport' | 'secrets';

export interface CatalogueEntry {
  /** Rule number in oauth-rules.md (`R01` … `R70`); `X01` for the additions of issue 3. */
  rule: string;
  severity: Severity;
  family: RuleFamily;
  /** One line: what the finding means. */
  meaning: string;
  /** §0.7 rank: lower wins when picking the primary finding of an exchange. */
  rank: number;
  /** Runs on a "probable" (heuristic score 4–6) token request (§3.1). */
  probableOk?: boolean;
  /** Needs the config file (clients / tokenEndpoints) for some or all of its diagnosis. */
  config?: 'required' | 'optional';
}

function entry(rule: string, severity: Severity, family: RuleFamily, rank: number, meaning: string,
  extra: Partial<Pick<CatalogueEntry, 'probableOk' | 'config'>> = {}): CatalogueEntry {
  return { rule, severity, family, rank, meaning, ...extra };
}

const P = { probableOk: true } as const;
const k = { config: 'optional' } as const;

export const CATALOGUE = {
  'redirect_uri.trailing_slash': entry('R01', 'error', 'redirect-uri', 7, 'The authorize and token (or registered) redirect_uri differ only by a trailing slash.', k),
  'redirect_uri.scheme_mismatch': entry('R02', 'error', 'redirect-uri', 7, 'The redirect_uri values differ only in scheme (http vs https), e.g. behind a TLS-terminating proxy.', k),
  'redirect_uri.host_or_port_mismatch': entry('R03', 'error', 'redirect-uri', 7, 'The redirect_uri values differ in host or port (localhost vs 127.0.0.1, www, internal host, explicit port).', k),
  'redirect_uri.case_or_encoding_mismatch': entry('R04', 'error', 'redirect-uri', 7, 'The redirect_uri values differ only in case or percent-encoding (double-encoded, unencoded & split).', k),
  'redirect_uri.path_or_query_mismatch': entry('R05', 'error', 'redirect-uri', 7, 'The redirect_uri values differ in path or query (other route, per-request data).', k),
  'redirect_uri.missing_in_token_request': entry('R06', 'error', 'redirect-uri', 7, 'The authorize request sent a redirect_uri but the code exchange omitted it.'),
  'redirect_uri.not_registered': entry('R07', 'error', 'redirect-uri', 7, 'The redirect_uri is not registered for the client (config, or the AS said so).', k),
  'redirect_uri.unsafe_form': entry('R08', 'warning', 'redirect-uri', 7, 'The redirect_uri uses http on a public host, a fragment, localhost for a native app, or code/state query params.'),
  'client.authentication_failed': entry('R09', 'error', 'client-auth', 4, 'The AS rejected the client credentials (invalid_client or provider equivalent): unknown client, wrong or expired secret.', k),
  'client.env_mismatch': entry('R10', 'error', 'client-auth', 4, 'Client id, secret and authorization server belong to different environments (staging secret with the prod client).', k),
  'client_credentials.suspicious_value': entry('R11', 'error', 'client-auth', 4, 'client_id or client_secret has whitespace, a newline, quotes, a placeholder or a literal like "undefined".', k),
  'client_auth.multiple_methods': entry('R12', 'error', 'client-auth', 4, 'More than one client authentication method in one request (Basic plus client_secret in the body).'),
  'client_auth.basic_encoding': entry('R13', 'warning', 'client-auth', 4, 'HTTP Basic client credentials are malformed or not form-encoded per RFC 6749 §2.3.1.'),
  'client_auth.method_mismatch': entry('R14', 'error', 'client-auth', 4, 'The client authentication method does not match what the AS expects (none, public client with secret, SPA rules).', k),
  'client_assertion.invalid': entry('R15', 'error', 'client-auth', 4, 'The client_assertion JWT has a wrong type, iss/sub, aud, exp, alg, missing kid or a replayed jti.'),
  'code.reused': entry('R16', 'error', 'code', 6, 'The same authorization code was presented to the token endpoint more than once.'),
  'code.expired': entry('R17', 'error', 'code', 6, 'The code was exchanged after its lifetime (or slowly) since the authorization response.'),
  'code.altered': entry('R18', 'error', 'code', 6, 'The code sent differs from the code issued but equals it after one encode/decode/trim/quote transform.'),
  'code.redeemed_at_wrong_issuer': entry('R19', 'error', 'code', 6, 'The code was redeemed at a different authorization server (tenant, realm, environment) than issued it.', k),
  'code.client_mismatch': entry('R20', 'error', 'code', 6, 'The client exchanging the code is not the client the code was issued to.'),
  'authorize.error_returned': entry('R21', 'error', 'code', 6, 'The authorization response carried an error (access_denied, invalid_scope, …) instead of a code.'),
  'grant_type.invalid': entry('R22', 'error', 'grant-scope', 9, 'grant_type is missing, misspelled or not a registered grant type.'),
  'grant_type.not_allowed_for_client': entry('R23', 'error', 'grant-scope', 9, 'The grant type is not enabled for this client (unauthorized_client).', k),
  'grant_type.deprecated_flow': entry('R24', 'warning', 'grant-scope', 9, 'The password grant or the implicit flow is used; both are deprecated by RFC 9700.'),
  'grant_type.params_mismatch': entry('X01', 'error', 'grant-scope', 9, 'grant_type contradicts the parameters sent (client_credentials with a code, authorization_code without one, refresh_token without refresh_token).'),
  'scope.invalid': entry('R25', 'error', 'grant-scope', 9, 'A requested scope is invalid, not allowed for the client, or badly delimited/cased.', k),
  'scope.escalation_or_drift': entry('R26', 'warning', 'grant-scope', 9, 'A token request asks for scopes beyond those originally authorized.'),
  'scope.granted_narrower': entry('R27', 'warning', 'grant-scope', 9, 'The AS granted fewer scopes than requested.'),
  'state.mismatch': entry('R28', 'error', 'state', 10, 'The callback state does not match an outstanding authorize request (or differs by encoding).'),
  'state.cookie_not_sent': entry('R29', 'error', 'state', 10, 'A state/nonce/PKCE cookie set at login is missing on the callback (SameSite, host, Secure, path).'),
  'state.too_long': entry('R30', 'warning', 'state', 10, 'The state parameter or authorize URL is too long for providers and proxies.'),
  'state.missing': entry('R31', 'warning', 'state', 10, 'A code-flow authorize request has no state, no PKCE and no nonce (no CSRF protection).'),
  'pkce.verifier_missing': entry('R32', 'error', 'pkce', 8, 'The authorize request used PKCE but the code exchange sent no code_verifier.'),
  'pkce.verifier_mismatch': entry('R33', 'error', 'pkce', 8, 'The code_verifier does not hash to the code_challenge of the authorize request.'),
  'pkce.unexpected_verifier': entry('R34', 'warning', 'pkce', 8, 'The code exchange sent a code_verifier although the authorize request had no code_challenge.'),
  'pkce.malformed': entry('R35', 'error', 'pkce', 8, 'code_verifier, code_challenge or code_challenge_method violates RFC 7636 (length, charset, padding, method name).'),
  'pkce.weak_or_absent': entry('R36', 'warning', 'pkce', 8, 'PKCE uses the plain method, or a code flow has no PKCE although the AS supports it.'),
  'request.wrong_content_type': entry('R37', 'error', 'framing', 3, 'The token request body is JSON, multipart or untyped instead of application/x-www-form-urlencoded.'),
  'request.params_in_query': entry('R38', 'error', 'framing', 3, 'OAuth parameters were sent in the URL query of a token request instead of the POST body.'),
  'request.param_hygiene': entry('R39', 'error', 'framing', 3, 'A parameter is repeated, empty, or a near-miss spelling (redirect_url, code_challange).'),
  'request.redirected': entry('R40', 'error', 'framing', 3, 'The token endpoint answered with a redirect and the follow-up lost the method, body or credentials.'),
  'transport.plain_http': entry('R41', 'error', 'framing', 0, 'An OAuth endpoint was called over plain http to a non-loopback host.', P),
  'endpoint.not_found_or_method': entry('R42', 'error', 'framing', 3, 'The OAuth endpoint answered 404/405/501: wrong path (Keycloak /auth, Entra v1/v2, Okta AS) or method.'),
  'response.non_json': entry('R43', 'error', 'responses', 2, 'The token response is not JSON (GitHub form encoding, HTML error page, XML, empty).', P),
  'response.error_in_2xx': entry('R44', 'warning', 'responses', 2, 'An HTTP 2xx response carries an error (GitHub error in 200, Slack ok:false).', P),
  'response.shape_invalid': entry('R45', 'error', 'responses', 2, 'A token success response lacks required fields or uses non-standard types/casing.', P),
  'provider.unavailable': entry('R46', 'error', 'responses', 1, 'The authorization server failed (5xx, server_error, temporarily_unavailable, timeout, reset).', P),
  'rate_limit.throttled': entry('R47', 'error', 'responses', 1, 'The authorization server throttled the client (429 or provider signal), with its Retry-After/reset.', P),
  'retry.storm': entry('R48', 'error', 'responses', 5, 'The client repeats the same token request too often, or retries a non-retryable 4xx.', P),
  'retry.masked_original_failure': entry('R49', 'error', 'responses', 5, 'A retry got invalid_grant because the first attempt (5xx, timeout, Basic 401) already consumed the code/refresh token.', P),
  'token.excessive_issuance': entry('R50', 'warning', 'responses', 11, 'Tokens are fetched repeatedly for the same client and scope while an earlier one is still valid.'),
  'refresh_token.reuse_or_race': entry('R51', 'error', 'refresh', 6, 'A rotated-out refresh token was used again, or two refreshes raced with one token.'),
  'refresh_token.expired_or_revoked': entry('R52', 'error', 'refresh', 6, 'The refresh token was rejected as expired or revoked (invalid_grant), with provider-specific causes.', k),
  'refresh_token.not_issued': entry('R53', 'warning', 'refresh', 6, 'No refresh token was issued (missing offline_access / access_type=offline) and the client then tried to refresh.'),
  'id_token.nonce_mismatch': entry('R54', 'error', 'oidc', 11, 'The id_token nonce differs from (or lacks) the nonce of the authorize request.'),
  'id_token.claims_invalid': entry('R55', 'error', 'oidc', 11, 'The id_token aud, iss, exp or alg is not what the client expects.'),
  'clock.skew': entry('R56', 'warning', 'oidc', 11, 'JWT iat/nbf times disagree with the AS clock beyond tolerance.', P),
  'jwks.kid_not_found': entry('R57', 'error', 'oidc', 11, 'The token kid is not in the JWKS the client fetched (stale or wrong key set).'),
  'discovery.issuer_mismatch': entry('R58', 'error', 'oidc', 11, 'The discovery document issuer differs from the issuer the client used.'),
  'discovery.endpoint_drift': entry('R59', 'warning', 'oidc', 11, 'The client calls endpoints or capabilities the discovery metadata does not advertise.'),
  'authorize_response.iss_mismatch': entry('R60', 'error', 'oidc', 11, 'The authorization response iss is wrong or missing although the AS advertises it (RFC 9207).'),
  'bearer.wrong_or_stale_token': entry('R61', 'error', 'bearer', 11, 'An API call sends an id_token, refresh token, expired or literal "undefined" token as Bearer.'),
  'dpop.proof_error': entry('R62', 'error', 'dpop', 11, 'The DPoP proof is invalid or the DPoP nonce dance is not followed.'),
  'device.polling_violation': entry('R63', 'error', 'device-par', 11, 'The device flow polls too fast, after expiry/denial, or without the grant_type URN.'),
  'par.request_uri_misuse': entry('R64', 'error', 'device-par', 11, 'A PAR request_uri is reused, expired, foreign, or PAR is required but skipped.'),
  'token_mgmt.endpoint_misuse': entry('R65', 'warning', 'device-par', 11, 'Introspection or revocation is called without authentication, with a wrong hint, or misread.'),
  'tls.upstream_handshake_failed': entry('R66', 'error', 'transport', 0, 'The TLS connection from the lens to the authorization server failed (untrusted CA, expired, hostname, protocol).', P),
  'tls.client_rejected_lens_ca': entry('R67', 'warning', 'transport', 0, 'The client refused the lens certificate: it does not trust the oauth-lens CA or pins certificates.', P),
  'proxy.interference': entry('R68', 'error', 'transport', 0, 'A proxy, WAF or CDN answered instead of the AS, or the request body was truncated on the way.', { ...P, ...k }),
  'capture.exchange_not_observed': entry('R69', 'info', 'transport', 11, 'A callback carried a code but no token exchange for it passed through the lens.'),
  'secret.in_url': entry('R70', 'error', 'secrets', 11, 'A secret (client_secret, token, code_verifier, password …) appeared in a URL query, fragment, Location or Referer.', P),
} as const satisfies Record<string, CatalogueEntry>;

export type FindingCode = keyof typeof CATALOGUE;

export const FINDING_CODES = Object.keys(CATALOGUE) as FindingCode[];

export function isFindingCode(code: string): code is FindingCode {
  return Object.hasOwn(CATALOGUE, code);
}

export function catalogueEntry(code: FindingCode): CatalogueEntry {
  return CATALOGUE[code];
}

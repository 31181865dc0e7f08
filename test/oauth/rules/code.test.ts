/**
 * Authorization-code lifecycle rules (R16–R21) through the real engine: realistic authorize →
 * redirect → callback → token sequences with provider-shaped answers, each with a near miss.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APP, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, authorizeRedirect, authorizeRequest, callbackRequest, discoveryRequest,
  exchange, jwt, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { pkcePair } from '../../support/idp.js';
import { useLiveIdp, type LiveIdp } from './families-live.js';
import { expectNoSecret, findingOf } from './no-secret.js';

const STATE = 'af0ifjsldkj-Xy7Q2b';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-7f3b2c9d1e';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const SECRETS = [CODE, VERIFIER, CLIENT_SECRET, STATE];

const authorizeParams = (extra: Record<string, string> = {}) => ({
  response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile email',
  state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra,
});
const codeForm = (code = CODE, extra: Record<string, string> = {}) => ({
  grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
  code_verifier: VERIFIER, ...extra,
});
const ENTRA = 'https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490';
const entraError = (code: number, text: string) => ({
  status: 400,
  json: {
    error: 'invalid_grant',
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: 0b4e1f5c-6a4d-4b2e-9c3e-2f1d0a9b8c7d\r\nCorrelation ID: 7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817\r\nTimestamp: 2026-01-15 09:00:05Z`,
    error_codes: [code],
    timestamp: '2026-01-15 09:00:05Z',
    trace_id: '0b4e1f5c-6a4d-4b2e-9c3e-2f1d0a9b8c7d',
    correlation_id: '7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817',
  },
});

describe('code.reused (R16)', () => {
  it('flags the second redemption of a code with Entra AADSTS54005 and the double callback', () => {
    const authorize = `${ENTRA}/oauth2/v2.0/authorize`;
    const token = `${ENTRA}/oauth2/v2.0/token`;
    const r = runRules([
      authorizeRequest(authorizeParams(), { url: authorize, at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { url: `${ENTRA}/login`, at: T(5) }),
      callbackRequest({ code: CODE, state: STATE }, { at: T(6) }),
      callbackRequest({ code: CODE, state: STATE }, { at: T(6.4) }),
      tokenRequest({ url: token, form: codeForm(), at: T(6.5) }),
      tokenRequest({ url: token, form: codeForm(), at: T(7), response: entraError(54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.') }),
    ]);
    expect(r.codes[4]).not.toContain('code.reused');
    const f = findingOf(r.of(5), 'code.reused');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.primary).toBe(true);
    expect(f.exchangeIds).toContain(r.exchanges[4]?.id);
    expect(f.exchangeIds.at(-1)).toBe(r.exchanges[5]?.id);
    expect(f.evidence?.causes).toEqual(expect.arrayContaining(['#double_callback', '#in_process_duplicate']));
    expect(f.evidence?.callbacksWithThisCode).toBe(2);
    expect(f.detail).toMatch(/AADSTS54005/);
    expect(f.detail).toMatch(/use its tokens/);
    expect(f.evidence).toMatchObject({ provider: 'entra', client_id: CLIENT_ID, status: 400, request: `POST ${ENTRA}/oauth2/v2.0/token`, as_error: { trace_id: '0b4e1f5c-6a4d-4b2e-9c3e-2f1d0a9b8c7d' } });
    expectNoSecret(r.of(5), SECRETS);
  });

  it('explains a blind retry after a 502 (retry_after_failure)', () => {
    const r = runRules([
      tokenRequest({ form: codeForm(), at: T(0), response: { status: 502, html: '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>' } }),
      tokenRequest({ form: codeForm(), at: T(3), response: oauthError('invalid_grant', 'Code not valid') }),
    ]);
    const f = findingOf(r.of(1), 'code.reused');
    expect(f.evidence?.causes).toContain('#retry_after_failure');
    expect(f.detail).toMatch(/HTTP 502/);
  });

  it('trusts Facebook "code has been used" when the first use was not captured', () => {
    const r = runRules([
      exchange({
        method: 'GET',
        url: `https://graph.facebook.com/v19.0/oauth/access_token?client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&client_secret=${CLIENT_SECRET}&code=${CODE}`,
        response: { status: 400, json: { error: { message: 'This authorization code has been used.', type: 'OAuthException', code: 100, fbtrace_id: 'AbCdEfGh123' } } },
      }),
    ]);
    const f = findingOf(r.of(0), 'code.reused');
    expect(f.confidence).toBe('medium');
    expect(f.detail).toMatch(/has been used/);
    expectNoSecret(r.of(0), [CODE, CLIENT_SECRET]);
  });

  it('near miss: re-sending after a 307 redirect or a refused connection is not a reuse', () => {
    const r = runRules([
      tokenRequest({ form: codeForm(), at: T(0), response: { status: 307, statusText: 'Temporary Redirect', headers: { Location: 'https://idp.example.com/oauth/token/' } } }),
      tokenRequest({ url: 'https://idp.example.com/oauth/token/', form: codeForm(), at: T(0.2) }),
      tokenRequest({ form: codeForm(`${CODE}-b`), at: T(5), response: null, error: { code: 'refused', message: 'connection refused', nodeCode: 'ECONNREFUSED' } }),
      tokenRequest({ form: codeForm(`${CODE}-b`), at: T(6) }),
    ]);
    expect(r.codes.flat()).not.toContain('code.reused');
  });

  it('near miss: a retry that succeeds after a 503 did not find the code consumed', () => {
    const r = runRules([
      tokenRequest({ form: codeForm(), at: T(0), response: { status: 503, headers: { 'Retry-After': '1' }, text: 'Service Unavailable' } }),
      tokenRequest({ form: codeForm(), at: T(2) }),
    ]);
    expect(r.codes[1]).not.toContain('code.reused');
  });

  it('near miss: two redemptions of two different codes are not a reuse', () => {
    const r = runRules([
      tokenRequest({ form: codeForm(), at: T(0) }),
      tokenRequest({ form: codeForm(`${CODE}x`), at: T(1) }),
    ]);
    expect(r.codes.flat()).not.toContain('code.reused');
  });
});

describe('ambiguous "used or expired" answers (§1.17)', () => {
  const GH = 'https://github.com/login/oauth/access_token';
  const bad = { status: 200, json: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' } };

  it('reports both code.reused and code.expired, medium, when only the token call was captured', () => {
    const r = runRules([tokenRequest({ url: GH, headers: { Accept: 'application/json' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE }, response: bad })]);
    expect(findingOf(r.of(0), 'code.reused').confidence).toBe('medium');
    expect(findingOf(r.of(0), 'code.expired').confidence).toBe('medium');
    expectNoSecret(r.of(0), SECRETS);
  });

  it('near miss: the callback was seen a second earlier, so neither reuse nor expiry explains it', () => {
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ url: GH, headers: { Accept: 'application/json' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE }, at: T(1), response: bad }),
    ]);
    expect(r.codes[1]).not.toContain('code.reused');
    expect(r.codes[1]).not.toContain('code.expired');
  });
});

describe('code.expired (R17)', () => {
  const GH_TOKEN = 'https://github.com/login/oauth/access_token';
  const ghBadCode = { status: 200, json: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' } };
  const gh = (tokenAt: number, response: object) => runRules([
    authorizeRequest({ client_id: 'Iv1.8a61f9b3a7aba766', redirect_uri: REDIRECT_URI, scope: 'read:user', state: STATE }, { url: 'https://github.com/login/oauth/authorize', at: T(0) }),
    callbackRequest({ code: 'a1b2c3d4e5f60718293a', state: STATE }, { at: T(4) }),
    tokenRequest({ url: GH_TOKEN, headers: { Accept: 'application/json' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: 'a1b2c3d4e5f60718293a', redirect_uri: REDIRECT_URI }, at: T(tokenAt), response: response as never }),
  ]);

  it('flags a GitHub code redeemed after 11 minutes and rejected inside an HTTP 200', () => {
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ url: GH_TOKEN, headers: { Accept: 'application/json' }, form: codeForm(), at: T(660), response: ghBadCode }),
    ]);
    const f = findingOf(r.of(1), 'code.expired');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.deltaMs).toBe(660_000);
    expect(f.evidence?.lifetimeMs).toBe(600_000);
    expect(f.detail).toMatch(/GitHub codes expire after 10 minutes/);
    expectNoSecret(r.of(1), SECRETS);
  });

  it('warns about a slow but successful exchange (#slow_exchange)', () => {
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ form: codeForm(), at: T(95) }),
    ]);
    const f = findingOf(r.of(1), 'code.expired');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.subDiagnosis).toBe('#slow_exchange');
  });

  it('uses the Cognito 5-minute lifetime', () => {
    const host = 'https://myapp.auth.eu-west-1.amazoncognito.com';
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ url: `${host}/oauth2/token`, form: codeForm(), at: T(330), response: oauthError('invalid_grant') }),
    ]);
    const f = findingOf(r.of(1), 'code.expired');
    expect(f.severity).toBe('error');
    expect(f.evidence?.lifetimeMs).toBe(300_000);
  });

  it('trusts Entra AADSTS70008 when the authorization response was not captured', () => {
    const r = runRules([tokenRequest({ url: `${ENTRA}/oauth2/v2.0/token`, form: codeForm(), response: entraError(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.') })]);
    const f = findingOf(r.of(0), 'code.expired');
    expect(f.confidence).toBe('medium');
    expect(f.evidence?.as_error).toMatchObject({ aadsts: ['AADSTS70008'], trace_id: '0b4e1f5c-6a4d-4b2e-9c3e-2f1d0a9b8c7d' });
  });

  it('near miss: a prompt exchange is not flagged, and a GitHub exchange within the window neither', () => {
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ form: codeForm(), at: T(2) }),
    ]);
    expect(r.codes.flat()).not.toContain('code.expired');
    expect(gh(30, tokenSuccess({ scope: 'read:user' })).codes.flat()).not.toContain('code.expired');
  });
});

describe('code.altered (R18)', () => {
  const GOOGLE_CODE = '4/0AeaYSHBx3zZ_qL9vN2wKmR7tP5uE8yJ1cF6dG0hI';
  it('proves a Google code was URL-encoded twice ("Malformed auth code.")', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { url: 'https://accounts.google.com/o/oauth2/v2/auth', at: T(0) }),
      callbackRequest({ code: GOOGLE_CODE, state: STATE, scope: 'openid' }, { at: T(5) }),
      tokenRequest({
        url: 'https://oauth2.googleapis.com/token', at: T(6),
        form: codeForm(encodeURIComponent(GOOGLE_CODE)),
        response: oauthError('invalid_grant', 'Malformed auth code.'),
      }),
    ]);
    const f = findingOf(r.of(2), 'code.altered');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.transform).toBe('extra_encoding');
    expect(f.detail).toMatch(/4\//);
    expectNoSecret(r.of(2), [GOOGLE_CODE, encodeURIComponent(GOOGLE_CODE), VERIFIER, CLIENT_SECRET]);
  });

  it('proves whitespace added around the code', () => {
    const r = runRules([
      callbackRequest({ code: CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ form: codeForm(`${CODE}\n`), at: T(1), response: oauthError('invalid_grant', 'Invalid authorization code') }),
    ]);
    expect(findingOf(r.of(1), 'code.altered').evidence?.transform).toBe('whitespace');
  });

  it('proves the state was sent as the code, and a "+" turned into a space', () => {
    const plusCode = 'ab+cd/ef+gh-0123456789ABCDEFGHIJ';
    const r = runRules([
      authorizeRequest(authorizeParams(), { at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
      tokenRequest({ form: codeForm(STATE), at: T(3), response: oauthError('invalid_grant', 'Invalid authorization code') }),
      callbackRequest({ code: plusCode, state: 'other-state-123' }, { at: T(10) }),
      tokenRequest({ form: codeForm(plusCode.replace(/\+/g, ' ')), at: T(11), response: oauthError('invalid_grant', 'Invalid authorization code') }),
    ]);
    expect(findingOf(r.of(2), 'code.altered').evidence?.transform).toBe('state_as_code');
    expect(findingOf(r.of(4), 'code.altered').evidence?.transform).toBe('plus_as_space');
    expectNoSecret(r.findings.flat(), [...SECRETS, plusCode, plusCode.replace(/\+/g, ' ')]);
  });

  it('flags a literal "undefined" sent as the code', () => {
    const r = runRules([tokenRequest({ form: codeForm('undefined'), response: oauthError('invalid_grant', 'Invalid authorization code') })]);
    expect(findingOf(r.of(0), 'code.altered').evidence?.transform).toBe('literal');
  });

  it('near miss: the exact issued code is fine', () => {
    const r = runRules([
      callbackRequest({ code: GOOGLE_CODE, state: STATE }, { at: T(0) }),
      tokenRequest({ url: 'https://oauth2.googleapis.com/token', form: codeForm(GOOGLE_CODE), at: T(1) }),
    ]);
    expect(r.codes.flat()).not.toContain('code.altered');
  });
});

describe('code.redeemed_at_wrong_issuer (R19)', () => {
  const kc = (realm: string, path: string) => `https://sso.example.com/realms/${realm}/protocol/openid-connect/${path}`;
  const flow = (tokenRealm: string) => runRules([
    authorizeRequest(authorizeParams(), { url: kc('prod', 'auth'), at: T(0) }),
    authorizeRedirect({ code: CODE, state: STATE, iss: 'https://sso.example.com/realms/prod' }, { url: kc('prod', 'login-actions/authenticate'), at: T(3) }),
    tokenRequest({ url: kc(tokenRealm, 'token'), form: codeForm(), at: T(4), response: tokenRealm === 'prod' ? tokenSuccess() : oauthError('invalid_grant', 'Code not valid') }),
  ]);

  it('flags a Keycloak code from realm prod redeemed at realm staging', () => {
    const r = flow('staging');
    const f = findingOf(r.of(2), 'code.redeemed_at_wrong_issuer');
    expect(f.severity).toBe('error');
    expect(f.evidence?.issuedBy).toBe('https://sso.example.com/realms/prod');
    expect(f.evidence?.redeemedAt).toBe('https://sso.example.com/realms/staging');
    expectNoSecret(r.of(2), SECRETS);
  });

  it('trusts Entra AADSTS700005 alone', () => {
    const r = runRules([tokenRequest({ url: `${ENTRA}/oauth2/v2.0/token`, form: codeForm(), response: entraError(700005, 'Provided Authorization Code is intended to use against other tenant, thus rejected.') })]);
    expect(findingOf(r.of(0), 'code.redeemed_at_wrong_issuer').detail).toMatch(/AADSTS700005/);
  });

  it('near miss: same realm on both sides', () => {
    expect(flow('prod').codes.flat()).not.toContain('code.redeemed_at_wrong_issuer');
  });
});

describe('code.client_mismatch (R20)', () => {
  const flow = (tokenClient: string) => runRules([
    authorizeRequest(authorizeParams({ client_id: 'web-app-prod' }), { at: T(0) }),
    authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
    tokenRequest({ form: codeForm(CODE, { client_id: tokenClient }), at: T(3), response: tokenClient === 'web-app-prod' ? tokenSuccess() : oauthError('invalid_grant', 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.') }),
  ]);

  it('flags a code issued to the web client redeemed by the mobile client', () => {
    const r = flow('mobile-app-prod');
    const f = findingOf(r.of(2), 'code.client_mismatch');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence).toMatchObject({ authorizeClientId: 'web-app-prod', tokenClientId: 'mobile-app-prod', tokenClientIdSource: 'body' });
    expectNoSecret(r.of(2), SECRETS);
  });

  it('reads the client from HTTP Basic when the body has none', () => {
    const r = runRules([
      authorizeRequest(authorizeParams({ client_id: 'web-app-prod' }), { at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
      tokenRequest({ basic: ['web-app-staging', CLIENT_SECRET], form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, at: T(3), response: oauthError('invalid_grant') }),
    ]);
    expect(findingOf(r.of(2), 'code.client_mismatch').evidence).toMatchObject({ tokenClientId: 'web-app-staging', tokenClientIdSource: 'basic' });
    expectNoSecret(r.of(2), SECRETS);
  });

  it('near miss: the same client on both legs', () => {
    expect(flow('web-app-prod').codes.flat()).not.toContain('code.client_mismatch');
  });
});

describe('authorize.error_returned (R21)', () => {
  it('reports a consent error from Entra as an error with the AADSTS hint', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { url: `${ENTRA}/oauth2/v2.0/authorize`, at: T(0) }),
      authorizeRedirect({ error: 'invalid_client', error_description: 'AADSTS65001: The user or administrator has not consented to use the application with ID \'app-client-1\'.', state: STATE }, { url: `${ENTRA}/login`, at: T(2) }),
    ]);
    const f = findingOf(r.of(1), 'authorize.error_returned');
    expect(f.severity).toBe('error');
    expect(f.evidence?.aadsts).toEqual(['AADSTS65001']);
    expect(f.detail).toMatch(/consent/);
    expectNoSecret(r.of(1), SECRETS);
  });

  it('treats access_denied (and Salesforce access-denied) as info', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { at: T(0) }),
      callbackRequest({ error: 'access-denied', error_description: 'end-user denied authorization', state: STATE }, { at: T(3) }),
    ]);
    expect(findingOf(r.of(1), 'authorize.error_returned').severity).toBe('info');
  });

  it('makes itself primary on the token call that follows without a code (#token_call_without_code)', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { at: T(0) }),
      callbackRequest({ error: 'access_denied', error_description: 'The user denied the request', state: STATE }, { at: T(3) }),
      tokenRequest({ form: codeForm('undefined'), at: T(3.2), response: oauthError('invalid_grant', 'Invalid authorization code') }),
    ]);
    const f = findingOf(r.of(2), 'authorize.error_returned');
    expect(f.severity).toBe('error');
    expect(f.primary).toBe(true);
    expect(r.primary(2)?.code).toBe('authorize.error_returned');
    expect(f.evidence?.subDiagnosis).toBe('#token_call_without_code');
    expectNoSecret(r.of(2), SECRETS);
  });

  it('catches an error redirect answered directly to the authorize request, and an AS error page', () => {
    const r = runRules([
      authorizeRequest(authorizeParams({ scope: 'openid orders:admin' }), {
        at: T(0),
        response: { status: 302, headers: { Location: `${REDIRECT_URI}?error=invalid_scope&error_description=The+requested+scope+is+invalid%2C+unknown%2C+or+malformed.&state=${STATE}` } },
      }),
      authorizeRequest(authorizeParams({ redirect_uri: 'https://evil.example.net/cb' }), {
        url: 'https://accounts.google.com/o/oauth2/v2/auth', at: T(5),
        response: { status: 400, html: '<html><head><title>Error 400: redirect_uri_mismatch</title></head><body><p>You can\'t sign in to this app because it doesn\'t comply with Google\'s OAuth 2.0 policy.</p></body></html>' },
      }),
    ]);
    expect(findingOf(r.of(0), 'authorize.error_returned').evidence?.error).toBe('invalid_scope');
    expect(r.codes[0]).toContain('scope.invalid');
    const page = findingOf(r.of(1), 'authorize.error_returned');
    expect(page.severity).toBe('error');
    expect(page.title).toMatch(/error page \(HTTP 400\)/);
    expect(page.evidence?.html_title).toBe('Error 400: redirect_uri_mismatch');
    expectNoSecret(r.findings.flat(), SECRETS);
  });

  it('near miss: a redirect carrying a code has no finding', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
      callbackRequest({ code: CODE, state: STATE }, { at: T(3), url: `${APP}/callback` }),
    ]);
    expect(r.codes.flat()).not.toContain('authorize.error_returned');
  });
});

describe('happy flows stay quiet (code, grant/scope and PKCE families)', () => {
  const FAMILIES = /^(code\.|authorize\.error_returned|grant_type\.|scope\.|pkce\.)/;
  const RT = 'rt-8xLOxBtZp8-Q2bC4dE6fG8hI0jK2lM4nO6pQ8rS';

  it('discovery → authorize (S256) → redirect → callback → token → refresh → client_credentials', () => {
    const r = runRules([
      discoveryRequest({}, { at: T(0) }),
      authorizeRequest(authorizeParams({ scope: 'openid profile offline_access', nonce: 'n-0S6_WzA2Mj' }), { at: T(1) }),
      authorizeRedirect({ code: CODE, state: STATE, iss: 'https://idp.example.com' }, { at: T(8) }),
      callbackRequest({ code: CODE, state: STATE, iss: 'https://idp.example.com' }, { at: T(8.2) }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, basic: [CLIENT_ID, CLIENT_SECRET], at: T(8.5), response: tokenSuccess({ refresh_token: RT, scope: 'openid profile offline_access', id_token: jwt({ iss: 'https://idp.example.com', aud: CLIENT_ID, nonce: 'n-0S6_WzA2Mj' }) }) }),
      tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: RT, scope: 'openid profile' }, basic: [CLIENT_ID, CLIENT_SECRET], at: T(3000), response: tokenSuccess({ refresh_token: `${RT}-2`, scope: 'openid profile' }) }),
      tokenRequest({ form: { grant_type: 'client_credentials', scope: 'api.read' }, basic: ['svc-reporting', CLIENT_SECRET], at: T(3001) }),
    ]);
    expect(r.exchanges.map((e) => e.oauth.kind)).toEqual(['discovery', 'authorize', 'authorize_response', 'authorize_response', 'token', 'token', 'token']);
    expect(r.codes.flat().filter((c) => FAMILIES.test(c))).toEqual([]);
  });

  it('GitHub: comma scopes, no grant_type, form-encoded answer', () => {
    const gh = 'Iv1.8a61f9b3a7aba766';
    const r = runRules([
      authorizeRequest({ client_id: gh, redirect_uri: REDIRECT_URI, scope: 'repo,read:user', state: STATE }, { url: 'https://github.com/login/oauth/authorize', at: T(0) }),
      callbackRequest({ code: 'a1b2c3d4e5f60718293a', state: STATE }, { at: T(5) }),
      tokenRequest({ url: 'https://github.com/login/oauth/access_token', form: { client_id: gh, client_secret: CLIENT_SECRET, code: 'a1b2c3d4e5f60718293a', redirect_uri: REDIRECT_URI }, at: T(6), response: { status: 200, form: { access_token: 'gho_16C7e42F292c6912E7710c838347Ae178B4a', scope: 'repo,read:user', token_type: 'bearer' } } }),
    ]);
    expect(r.codes.flat().filter((c) => FAMILIES.test(c))).toEqual([]);
  });
});

describe('hostile input (fast-check): the three families never throw and never echo a secret', () => {
  const MINE = /^(code\.|authorize\.error_returned|grant_type\.|scope\.|pkce\.)/;
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  const secretish = fc.stringMatching(/^[A-Za-z0-9+/=_.~ %-]{12,60}$/);
  const grant = fc.oneof(fc.constantFrom('authorization_code', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code', 'authorization-code', ''), text);
  const scope = fc.oneof(fc.constantFrom('openid profile', 'openid,profile', 'a+b', 'OpenID', 'https://graph.microsoft.com/.default api://x/y'), text);
  const error = fc.constantFrom('invalid_grant', 'invalid_scope', 'unsupported_grant_type', 'unauthorized_client', 'invalid_request', 'bad_verification_code', 'access_denied');

  it('random authorize → redirect → token sequences', () => {
    fc.assert(fc.property(
      fc.record({ code: secretish, verifier: secretish, state: secretish, challenge: text, method: fc.constantFrom('S256', 'plain', 's256', ''), grant, scope, error, status: fc.constantFrom(200, 400, 401, 500), secondAt: fc.integer({ min: 0, max: 2_000_000 }) }),
      (g) => {
        const secrets = [g.code, g.verifier].filter((s) => s.trim().length >= 12);
        const r = runRules([
          authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: g.scope, state: g.state, code_challenge: g.challenge, ...(g.method ? { code_challenge_method: g.method } : {}) }, { at: T(0) }),
          authorizeRedirect({ code: g.code, state: g.state }, { at: T(1) }),
          tokenRequest({ form: { grant_type: g.grant, code: g.code, code_verifier: g.verifier, scope: g.scope, client_id: CLIENT_ID }, at: T(2), response: g.status === 200 ? tokenSuccess({ scope: g.scope }) : oauthError(g.error, 'failed', g.status) }),
          tokenRequest({ form: { grant_type: g.grant, code: g.code, code_verifier: g.verifier, client_id: CLIENT_ID }, at: T(2) + g.secondAt, response: oauthError(g.error) }),
        ]);
        expect(r.warnings.filter((w) => MINE.test(String((w.obj as { rule?: string }).rule)))).toEqual([]);
        expectNoSecret(r.findings.flat().filter((f) => MINE.test(f.code)), secrets);
      },
    ), { numRuns: 150 });
  });
});

describe('against oidc-provider through the real proxy', () => {
  let live: LiveIdp;
  useLiveIdp((started) => {
    live = started;
  });

  it('a code redeemed twice → code.reused; a misspelt grant_type → grant_type.invalid; client_credentials with a code → params_mismatch', async () => {
    const { idp, lens } = live;
    const client = idp.clients.confidential;
    const machine = idp.clients.machine;
    const redirectUri = client.redirectUris[0] ?? '';
    const { verifier, challenge } = pkcePair();
    const got = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge, state: 'live-state-reuse-1', proxy: { url: lens.proxy.url, caPem: lens.ca.certPem } });
    const basic = ['-u', `${client.clientId}:${client.clientSecret ?? ''}`];
    const redeem = (grant: string) => [...basic, '--data-urlencode', `grant_type=${grant}`, '--data-urlencode', `code=${got.code}`,
      '--data-urlencode', `redirect_uri=${redirectUri}`, '--data-urlencode', `code_verifier=${verifier}`];
    expect(await live.curl(idp.endpoints.token, redeem('authorization-code'))).toBe(400);
    expect(await live.curl(idp.endpoints.token, redeem('authorization_code'))).toBe(200);
    expect(await live.curl(idp.endpoints.token, redeem('authorization_code'))).toBe(400);
    await live.curl(idp.endpoints.token, ['-u', `${machine.clientId}:${machine.clientSecret ?? ''}`, '--data-urlencode', 'grant_type=client_credentials', '--data-urlencode', `code=${got.code}`]);

    const r = runRules(lens.captured);
    const tokens = r.exchanges.map((e, i) => [e, i] as const).filter(([e]) => e.oauth.kind === 'token').map(([, i]) => i);
    expect(tokens).toHaveLength(4);
    const [misspelt, ok, again, cc] = tokens as [number, number, number, number];
    expect(findingOf(r.of(misspelt), 'grant_type.invalid').evidence?.meant).toBe('authorization_code');
    expect(r.codes[ok]?.filter((c) => /^(code\.|grant_type\.|pkce\.)/.test(c))).toEqual([]);
    const reused = findingOf(r.of(again), 'code.reused');
    expect(reused.severity).toBe('error');
    expect(reused.exchangeIds).toContain(r.exchanges[ok]?.id);
    expect(reused.detail).toMatch(/already succeeded: use its tokens/);
    expect(findingOf(r.of(cc), 'grant_type.params_mismatch').severity).toBe('error');
    expectNoSecret(r.findings.flat(), [got.code, verifier, client.clientSecret ?? '', machine.clientSecret ?? '']);
  });
});

/**
 * Authorization-code lifecycle rules (R16–R21) through the real engine: realistic authorize →
 * redirect → callback → token sequences with provider-shaped answers, each with a near miss.
 */
import { describe, expect, it } from 'vitest';
import {
  APP, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, authorizeRedirect, authorizeRequest, callbackRequest, exchange,
  oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
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

  it('near miss: two redemptions of two different codes are not a reuse', () => {
    const r = runRules([
      tokenRequest({ form: codeForm(), at: T(0) }),
      tokenRequest({ form: codeForm(`${CODE}x`), at: T(1) }),
    ]);
    expect(r.codes.flat()).not.toContain('code.reused');
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

  it('near miss: a redirect carrying a code has no finding', () => {
    const r = runRules([
      authorizeRequest(authorizeParams(), { at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
      callbackRequest({ code: CODE, state: STATE }, { at: T(3), url: `${APP}/callback` }),
    ]);
    expect(r.codes.flat()).not.toContain('authorize.error_returned');
  });
});

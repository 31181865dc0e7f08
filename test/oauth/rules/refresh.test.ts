/** §1.10 refresh tokens (R51–R53) and token over-issuance (R50). */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, authorizeRequest, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const RT1 = 'rt1-8xLOxBtZp8-refresh-token-value-0001';
const RT2 = 'rt2-Q9mZk3vR7w-refresh-token-value-0002';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const GOOGLE_RT = '1//0gLHh3Zb6hQ1ZCgYIARAAGBASNwF-L9IrKzExampleRefreshToken';
const SECRETS = [RT1, RT2, CODE, CLIENT_SECRET, GOOGLE_RT];
const ccForm = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'orders.read' };
const refresh = (rt: string) => ({ grant_type: 'refresh_token', refresh_token: rt, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });

describe('token.excessive_issuance (R50)', () => {
  it('flags a fourth client_credentials token while the first is still valid', () => {
    const r = runRules([1, 10, 20, 30].map((s) => tokenRequest({ at: T(s), form: ccForm })));
    none(r, 2, 'token.excessive_issuance');
    const f = only(r, 3, 'token.excessive_issuance');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.tokens).toBe(4);
    expect(f.exchangeIds).toHaveLength(4);
    expectNoSecrets(r, SECRETS);
  });

  it('flags the same (non-rotating) refresh token redeemed again and again', () => {
    const r = runRules([1, 5, 9, 13].map((sec) => tokenRequest({ at: T(sec), form: refresh(RT1) })));
    expect(only(r, 3, 'token.excessive_issuance').title).toMatch(/refresh_token tokens/);
  });

  it('near miss: four tokens for four different scopes', () => {
    const r = runRules(['a', 'b', 'c', 'd'].map((s, i) => tokenRequest({ at: T(i + 1), form: { ...ccForm, scope: `orders.${s}` } })));
    none(r, 3, 'token.excessive_issuance');
  });

  it('near miss: the earlier tokens had expired', () => {
    const r = runRules([1, 100, 200, 300].map((s) => tokenRequest({ at: T(s), form: ccForm, response: tokenSuccess({ expires_in: 60 }) })));
    none(r, 3, 'token.excessive_issuance');
  });
});

describe('refresh_token.reuse_or_race (R51)', () => {
  it('flags a rotated-out refresh token used again (Auth0 403 invalid_grant)', () => {
    const url = 'https://tenant.eu.auth0.com/oauth/token';
    const r = runRules([
      tokenRequest({ at: T(1), url, form: refresh(RT1), response: tokenSuccess({ refresh_token: RT2 }) }),
      tokenRequest({ at: T(40), url, form: refresh(RT1), response: oauthError('invalid_grant', 'Unknown or invalid refresh token.', 403) }),
    ]);
    const f = only(r, 1, 'refresh_token.reuse_or_race');
    expect(f.severity).toBe('error');
    expect(f.evidence?.pattern).toBe('rotated');
    expect(String(f.evidence?.rotated_to)).toMatch(/^\[REDACTED refresh_token len=\d+ fp=[0-9a-f]{12}/);
    expect(f.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[1]!.id]);
    none(r, 1, 'refresh_token.expired_or_revoked');
    expectNoSecrets(r, SECRETS);
  });

  it('flags two refreshes racing with one token', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: refresh(RT1), response: tokenSuccess({ refresh_token: RT2 }), durationMs: 400 }),
      tokenRequest({ at: T(1.2), form: refresh(RT1), response: oauthError('invalid_grant', 'Invalid refresh token') }),
    ]);
    const f = only(r, 1, 'refresh_token.reuse_or_race');
    expect(f.evidence?.pattern).toBe('concurrent');
    expect(f.title).toMatch(/Concurrent refreshes/);
  });

  it('near miss: two refreshes close together with a non-rotating AS, both accepted', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: refresh(RT1) }),
      tokenRequest({ at: T(1.5), form: refresh(RT1) }),
    ]);
    none(r, 0, 'refresh_token.reuse_or_race');
    none(r, 1, 'refresh_token.reuse_or_race');
  });

  it('near miss: the client uses the new refresh token', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: refresh(RT1), response: tokenSuccess({ refresh_token: RT2 }) }),
      tokenRequest({ at: T(40), form: refresh(RT2), response: tokenSuccess({ refresh_token: 'rt3-next-refresh-token-value-0003' }) }),
    ]);
    none(r, 1, 'refresh_token.reuse_or_race');
  });
});

describe('refresh_token.expired_or_revoked (R52)', () => {
  it('explains Google "Token has been expired or revoked."', () => {
    const r = runRules([tokenRequest({
      url: 'https://oauth2.googleapis.com/token', form: refresh(GOOGLE_RT),
      response: oauthError('invalid_grant', 'Token has been expired or revoked.'),
    })]);
    const f = only(r, 0, 'refresh_token.expired_or_revoked');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.cause).toBe('google_expired_or_revoked');
    expect(f.detail).toMatch(/publish the OAuth consent screen to Production/i);
    expectNoSecrets(r, SECRETS);
  });

  it('explains Google session control (error_subtype invalid_rapt) and Entra AADSTS70008', () => {
    const r = runRules([
      tokenRequest({ url: 'https://oauth2.googleapis.com/token', form: refresh(GOOGLE_RT), response: oauthError('invalid_grant', 'reauth related error (invalid_rapt)', 400, { error_subtype: 'invalid_rapt' }) }),
      tokenRequest({
        url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', form: { ...refresh(RT1), scope: 'offline_access User.Read' },
        response: oauthError('invalid_grant', "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource. Trace ID: 2d0a-… Correlation ID: 9f1c-…", 400, { error_codes: [70008], trace_id: '2d0a8a4e-1111-2222-3333-444455556666' }),
      }),
    ]);
    expect(only(r, 0, 'refresh_token.expired_or_revoked').evidence?.cause).toBe('google_session_control');
    expect(only(r, 1, 'refresh_token.expired_or_revoked').evidence?.cause).toBe('entra_inactive');
  });

  it('explains Slack invalid_refresh_token, GitHub bad_refresh_token and Salesforce expiry', () => {
    const r = runRules([
      tokenRequest({ url: 'https://slack.com/api/oauth.v2.access', form: { ...refresh(RT1) }, response: { status: 200, json: { ok: false, error: 'invalid_refresh_token' } } }),
      tokenRequest({ url: 'https://github.com/login/oauth/access_token', headers: { Accept: 'application/json' }, form: { ...refresh('ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498') }, response: { status: 200, json: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' } } }),
      tokenRequest({ url: 'https://login.salesforce.com/services/oauth2/token', form: refresh(RT2), response: oauthError('invalid_grant', 'expired access/refresh token') }),
    ]);
    expect(only(r, 0, 'refresh_token.expired_or_revoked').evidence?.cause).toBe('slack_rotation');
    expect(only(r, 1, 'refresh_token.expired_or_revoked').evidence?.cause).toBe('github_expired');
    expect(only(r, 2, 'refresh_token.expired_or_revoked').evidence?.cause).toBe('salesforce_expired');
    expectNoSecrets(r, [...SECRETS, 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498']);
  });

  it('near miss: invalid_grant on a code exchange is not about refresh tokens', () => {
    const r = runRules([tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: oauthError('invalid_grant', 'Token has been expired or revoked.') })]);
    none(r, 0, 'refresh_token.expired_or_revoked');
  });
});

describe('refresh_token.not_issued (R53)', () => {
  it('flags a refresh with "undefined" after a code exchange that returned no refresh token', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
      tokenRequest({ at: T(3600), form: refresh('undefined'), response: oauthError('invalid_grant', 'Invalid refresh token') }),
    ]);
    const f = only(r, 1, 'refresh_token.not_issued');
    expect(f.severity).toBe('error');
    expect(f.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[1]!.id]);
    expect(f.detail).toMatch(/offline_access/);
    none(r, 1, 'refresh_token.expired_or_revoked');
    expectNoSecrets(r, SECRETS);
  });

  it('warns when Google access_type=offline got no refresh token (consent not shown again)', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: '1234.apps.googleusercontent.com', redirect_uri: REDIRECT_URI, scope: 'openid email https://www.googleapis.com/auth/drive.readonly', access_type: 'offline', state: 'state-google-offline-1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { url: 'https://accounts.google.com/o/oauth2/v2/auth' }),
      tokenRequest({ url: 'https://oauth2.googleapis.com/token', form: { grant_type: 'authorization_code', code: '4/0AeaYSHBExampleGoogleAuthCode0123456789', redirect_uri: REDIRECT_URI, client_id: '1234.apps.googleusercontent.com', client_secret: CLIENT_SECRET, code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' }, response: tokenSuccess({ id_token: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2ln', scope: 'openid email' }) }),
    ]);
    const f = only(r, 1, 'refresh_token.not_issued');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/prompt=consent/);
  });

  it('near miss: the code exchange returned a refresh token and the client uses it', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: tokenSuccess({ refresh_token: RT1 }) }),
      tokenRequest({ at: T(3600), form: refresh(RT1), response: tokenSuccess({ refresh_token: RT2 }) }),
    ]);
    none(r, 0, 'refresh_token.not_issued');
    none(r, 1, 'refresh_token.not_issued');
  });
});

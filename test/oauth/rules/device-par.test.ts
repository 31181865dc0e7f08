/** §1.14 Device flow, PAR, introspection/revocation (R63–R65), through the real engine. */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, IDP, REDIRECT_URI, T, authorizeRequest, discoveryRequest, exchange, oauthError, runRules, tokenRequest,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const DEVICE_CODE = '3584d83530557fdd1f46af8289938c8ef79f9dc5';
const GH_CLIENT = 'Iv1.8a61f9b3a7aba766';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const AT = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';

const deviceAuthz = (at: number, interval = 5, expiresIn = 900) => exchange({ at, url: 'https://github.com/login/device/code', headers: { Accept: 'application/json' }, form: { client_id: GH_CLIENT, scope: 'repo' } }, {
  method: 'POST',
  response: { status: 200, json: { device_code: DEVICE_CODE, user_code: 'WDJB-MJHT', verification_uri: 'https://github.com/login/device', expires_in: expiresIn, interval } },
});
const pending = { status: 200, json: { error: 'authorization_pending', error_description: 'The authorization request is still pending.', error_uri: 'https://docs.github.com' } };
const slowDown = { status: 200, json: { error: 'slow_down', error_description: 'Too many requests have been made in the same timeframe.', interval: 10 } };
const poll = (at: number, response: object = pending, grantType = DEVICE) => tokenRequest({
  at, url: 'https://github.com/login/oauth/access_token', headers: { Accept: 'application/json' },
  form: { client_id: GH_CLIENT, device_code: DEVICE_CODE, grant_type: grantType }, response: response as never,
});
const SECRETS = [DEVICE_CODE, AT, CLIENT_SECRET];

describe('device.polling_violation (R63)', () => {
  it('flags polls faster than the interval after a slow_down (GitHub)', () => {
    const r = runRules([deviceAuthz(T(0)), poll(T(5)), poll(T(7), slowDown), poll(T(12))]);
    none(r, 1, 'device.polling_violation');
    expect(only(r, 2, 'device.polling_violation').evidence?.pattern).toBe('too_fast');
    const f = only(r, 3, 'device.polling_violation');
    expect(f.severity).toBe('error');
    expect(f.evidence?.interval_ms).toBe(10_000);
    expectNoSecrets(r, SECRETS);
  });

  it('flags polling after expired_token, and a grant_type without the URN', () => {
    const expired = { status: 200, json: { error: 'expired_token', error_description: 'The device_code has expired.' } };
    const r = runRules([deviceAuthz(T(0)), poll(T(10), expired), poll(T(20)), poll(T(30), pending, 'device_code')]);
    expect(only(r, 2, 'device.polling_violation').evidence?.pattern).toBe('after_terminal');
    expect(only(r, 3, 'device.polling_violation').evidence?.pattern).toBe('grant_type');
  });

  it('warns when GitHub device polls send a client_secret', () => {
    const withSecret = tokenRequest({ at: T(5), url: 'https://github.com/login/oauth/access_token', headers: { Accept: 'application/json' },
      form: { client_id: GH_CLIENT, client_secret: CLIENT_SECRET, device_code: DEVICE_CODE, grant_type: DEVICE }, response: pending as never });
    const r = runRules([deviceAuthz(T(0)), withSecret]);
    const f = only(r, 1, 'device.polling_violation');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.pattern).toBe('unneeded_secret');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: polls every 5 s, then every 10 s after slow_down, ending in a token', () => {
    const r = runRules([deviceAuthz(T(0)), poll(T(5)), poll(T(10), slowDown), poll(T(20)), poll(T(30), { status: 200, json: { access_token: AT, token_type: 'bearer', scope: 'repo' } })]);
    for (const i of [1, 2, 3, 4]) none(r, i, 'device.polling_violation');
    expectNoSecrets(r, SECRETS);
  });
});

describe('par.request_uri_misuse (R64)', () => {
  const REQUEST_URI = 'urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c';
  const par = (at: number, status = 201, auth = true) => exchange({
    at, url: `${IDP}/oauth2/par`,
    form: { response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...(auth ? { client_secret: CLIENT_SECRET } : {}) },
  }, { method: 'POST', response: auth ? { status, json: { request_uri: REQUEST_URI, expires_in: 60 } } : oauthError('invalid_client', 'client authentication is required', 401) });
  const authz = (at: number) => authorizeRequest({ client_id: CLIENT_ID, request_uri: REQUEST_URI }, { at });

  it('flags a request_uri used twice (browser reload)', () => {
    const r = runRules([par(T(0)), authz(T(1)), authz(T(20))]);
    none(r, 1, 'par.request_uri_misuse');
    const f = only(r, 2, 'par.request_uri_misuse');
    expect(f.evidence?.pattern).toBe('reused');
    expect(f.severity).toBe('error');
    expect(String(f.evidence?.request_uri)).toMatch(/^\[REDACTED request_uri/);
    expectNoSecrets(r, [REQUEST_URI, CLIENT_SECRET]);
  });

  it('flags a request_uri used after expires_in, and an authorize without PAR when the AS requires it', () => {
    const r = runRules([par(T(0)), authz(T(90))]);
    const f = only(r, 1, 'par.request_uri_misuse');
    expect(f.evidence?.pattern).toBe('expired');
    expect(f.confidence).toBe('high');
    const foreign = runRules([par(T(0)), authorizeRequest({ client_id: 'other-client-7', request_uri: REQUEST_URI }, { at: T(2) })]);
    expect(only(foreign, 1, 'par.request_uri_misuse').evidence?.pattern).toBe('client_mismatch');
    const req = runRules([
      discoveryRequest({ require_pushed_authorization_requests: true, pushed_authorization_request_endpoint: `${IDP}/oauth2/par` }, { at: T(0) }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st-0123456789abcdef' }, { at: T(1) }),
    ]);
    expect(only(req, 1, 'par.request_uri_misuse').evidence?.pattern).toBe('par_required');
  });

  it('flags an unauthenticated PAR request that the AS rejects (endpoint known from discovery), and a 200 PAR success', () => {
    const meta = discoveryRequest({ pushed_authorization_request_endpoint: `${IDP}/oauth2/par` }, { at: T(-1) });
    expect(only(runRules([meta, par(T(0), 201, false)]), 1, 'par.request_uri_misuse').evidence?.pattern).toBe('unauthenticated');
    expect(only(runRules([meta, par(T(0), 200)]), 1, 'par.request_uri_misuse').severity).toBe('warning');
    none(runRules([meta, par(T(0), 201)]), 1, 'par.request_uri_misuse');
  });

  it('near miss: one PAR, one authorize within expires_in', () => {
    const r = runRules([par(T(0)), authz(T(2))]);
    none(r, 0, 'par.request_uri_misuse');
    none(r, 1, 'par.request_uri_misuse');
  });
});

describe('token_mgmt.endpoint_misuse (R65)', () => {
  const introspect = (auth: boolean, response: object) => exchange({
    at: T(1), url: `${IDP}/oauth2/introspect`, ...(auth ? { basic: [CLIENT_ID, CLIENT_SECRET] as [string, string] } : {}), form: { token: AT, token_type_hint: 'access_token' },
  }, { method: 'POST', response: response as never });
  const revoke = (hint: string, response: object) => exchange({
    at: T(1), url: `${IDP}/oauth2/revoke`, form: { token: AT, token_type_hint: hint, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
  }, { method: 'POST', response: response as never });

  it('flags introspection without client authentication (401)', () => {
    const r = runRules([introspect(false, oauthError('invalid_client', 'Client authentication failed', 401))]);
    const f = only(r, 0, 'token_mgmt.endpoint_misuse');
    expect(f.severity).toBe('error');
    expect(f.evidence?.pattern).toBe('unauthenticated_introspection');
    expectNoSecrets(r, [AT, CLIENT_SECRET]);
  });

  it('flags a revocation refused with unsupported_token_type, and an unregistered hint', () => {
    const r = runRules([revoke('access_token', oauthError('unsupported_token_type', 'Only refresh tokens can be revoked')), revoke('id_token', { status: 200, text: '' })]);
    expect(only(r, 0, 'token_mgmt.endpoint_misuse').evidence?.pattern).toBe('unsupported_token_type');
    expect(only(r, 1, 'token_mgmt.endpoint_misuse').evidence?.pattern).toBe('wrong_hint');
    expectNoSecrets(r, [AT, CLIENT_SECRET]);
  });

  it('near miss: authenticated introspection and a revocation with a valid hint', () => {
    const r = runRules([introspect(true, { status: 200, json: { active: false } }), revoke('refresh_token', { status: 200, text: '' })]);
    none(r, 0, 'token_mgmt.endpoint_misuse');
    none(r, 1, 'token_mgmt.endpoint_misuse');
  });
});


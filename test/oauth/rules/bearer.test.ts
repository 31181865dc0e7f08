/** §1.12 Bearer usage (R61), through the real engine. */
import { describe, expect, it } from 'vitest';
import {
  BASE_TIME, CLIENT_ID, CLIENT_SECRET, IDP, T, exchange, jwt, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const API = 'https://api.example.com/v1/orders';
const AT = 'at-Vq3xLmN8pR2sT6wY0zB4dF7hJ9kM1nQ5';
const RT = 'rt-Hk2Jm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2';
const now = Math.floor(BASE_TIME / 1000);
const ID_TOKEN = jwt({ iss: IDP, aud: CLIENT_ID, sub: 'user-1', iat: now, exp: now + 3600, nonce: 'n-abcdefghijklmnop' });
const SECRETS = [AT, RT, ID_TOKEN, CLIENT_SECRET];

const codeExchange = (extra: Record<string, unknown> = {}) => tokenRequest({
  at: T(1),
  form: { grant_type: 'authorization_code', code: 'code-0123456789abcdefghij', redirect_uri: 'https://app.example.com/callback', client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
  response: tokenSuccess({ access_token: AT, refresh_token: RT, id_token: ID_TOKEN, ...extra }),
});
const unauthorized = { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"' }, json: { message: 'Unauthorized' } };
const apiCall = (token: string, at: number, response: Record<string, unknown> = unauthorized, scheme = 'Bearer') =>
  exchange({ at, url: API, headers: { Authorization: `${scheme} ${token}` } }, { method: 'GET', response: response as never });

describe('bearer.wrong_or_stale_token (R61)', () => {
  it('flags the id_token sent as the bearer (fp of the issued id_token, 401 confirms)', () => {
    const r = runRules([codeExchange(), apiCall(ID_TOKEN, T(3))]);
    const f = only(r, 1, 'bearer.wrong_or_stale_token');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.pattern).toBe('id_token_as_access_token');
    expect(f.evidence?.issued_by).toBe(r.exchanges[0]!.id);
    expect(f.detail).toMatch(/invalid_token/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags the refresh token sent as the bearer', () => {
    const r = runRules([codeExchange(), apiCall(RT, T(3))]);
    expect(only(r, 1, 'bearer.wrong_or_stale_token').evidence?.pattern).toBe('refresh_token_as_access_token');
    expectNoSecrets(r, SECRETS);
  });

  it('flags an access token used after expires_in', () => {
    const r = runRules([codeExchange({ expires_in: 300 }), apiCall(AT, T(400))]);
    const f = only(r, 1, 'bearer.wrong_or_stale_token');
    expect(f.evidence?.pattern).toBe('expired');
    expect(f.detail).toMatch(/expired 99 s before/);
    expect(f.severity).toBe('error');
    const accepted = runRules([codeExchange({ expires_in: 300 }), apiCall(AT, T(400), { status: 200, json: { orders: [] } })]);
    expect(only(accepted, 1, 'bearer.wrong_or_stale_token').severity).toBe('warning');
  });

  it('flags "Bearer undefined" and a doubled scheme', () => {
    const r = runRules([apiCall('undefined', T(1)), apiCall(`Bearer ${AT}`, T(2))]);
    expect(only(r, 0, 'bearer.wrong_or_stale_token').evidence?.pattern).toBe('literal');
    expect(only(r, 1, 'bearer.wrong_or_stale_token').evidence?.pattern).toBe('double_scheme');
    expectNoSecrets(r, SECRETS);
  });

  it('flags a DPoP-bound token (token_type DPoP) sent with the Bearer scheme', () => {
    const r = runRules([codeExchange({ token_type: 'DPoP' }), apiCall(AT, T(3))]);
    expect(only(r, 1, 'bearer.wrong_or_stale_token').evidence?.pattern).toBe('dpop_bound_as_bearer');
  });

  it('near miss: the fresh access token, within expires_in', () => {
    const r = runRules([codeExchange({ expires_in: 300 }), apiCall(AT, T(250), { status: 200, json: { orders: [] } })]);
    none(r, 1, 'bearer.wrong_or_stale_token');
  });
});

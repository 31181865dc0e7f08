/** §1.13 DPoP (R62), through the real engine. */
import { describe, expect, it } from 'vitest';
import { BASE_TIME, CLIENT_ID, CLIENT_SECRET, T, TOKEN_URL, exchange, jwt, oauthError, runRules, tokenRequest, tokenSuccess } from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const API = 'https://api.example.com/v1/orders';
const AT = 'at-Vq3xLmN8pR2sT6wY0zB4dF7hJ9kM1nQ5';
const now = Math.floor(BASE_TIME / 1000);

describe('dpop.proof_error (R62)', () => {
  const key = { kty: 'EC', crv: 'P-256', x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs', y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA' };
  const proof = (claims: Record<string, unknown>, header: Record<string, unknown> = { typ: 'dpop+jwt', alg: 'ES256', jwk: key }) =>
    jwt({ jti: `jti-${Math.random()}`, htm: 'POST', htu: TOKEN_URL, iat: now + 5, ...claims }, header);
  const dpopToken = (p: string, at: number, response = tokenSuccess({ token_type: 'DPoP' })) => tokenRequest({
    at, headers: { DPoP: p }, form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response,
  });
  const nonceError = { ...oauthError('use_dpop_nonce', 'Authorization server requires nonce in DPoP proof'), headers: { 'DPoP-Nonce': 'eyJ7S_zG.eyJH0-Z.HX4w-7v', 'Cache-Control': 'no-store' } };

  it('flags a proof with the wrong htm/htu and a private key in its jwk', () => {
    const r = runRules([dpopToken(proof({ htm: 'GET', htu: 'https://idp.example.com/token' }, { typ: 'dpop+jwt', alg: 'ES256', jwk: { ...key, d: 'private-scalar-value-0123456789abcdef' } }), T(1))]);
    const f = only(r, 0, 'dpop.proof_error');
    expect(f.severity).toBe('error');
    expect((f.evidence?.problems as string[]).join(' ')).toMatch(/private key members.*htm "GET".*htu/);
    expectNoSecrets(r, [CLIENT_SECRET, 'private-scalar-value-0123456789abcdef']);
  });

  it('flags an HS256 proof with typ JWT rejected as invalid_dpop_proof', () => {
    const r = runRules([dpopToken(proof({}, { typ: 'JWT', alg: 'HS256' }), T(1), oauthError('invalid_dpop_proof', 'Invalid DPoP proof'))]);
    const f = only(r, 0, 'dpop.proof_error');
    expect(f.title).toMatch(/invalid_dpop_proof/);
  });

  it('first use_dpop_nonce is info; the same challenge on the retry is an error', () => {
    const r = runRules([dpopToken(proof({}), T(1), nonceError), dpopToken(proof({}), T(1.3), nonceError)]);
    expect(only(r, 0, 'dpop.proof_error').severity).toBe('info');
    const f = only(r, 1, 'dpop.proof_error');
    expect(f.severity).toBe('error');
    expect(f.evidence?.challenges).toBe(2);
  });

  it('flags a resource call with the DPoP scheme whose proof has no ath', () => {
    const r = runRules([exchange({ at: T(1), url: API, headers: { Authorization: `DPoP ${AT}`, DPoP: proof({ htm: 'GET', htu: API }) } }, { method: 'GET', response: { status: 200, json: {} } })]);
    expect((only(r, 0, 'dpop.proof_error').evidence?.problems as string[])[0]).toMatch(/ath/);
  });

  it('near miss: a well-formed proof, and the retry after one nonce challenge succeeds', () => {
    const r = runRules([dpopToken(proof({}), T(1), nonceError), dpopToken(proof({}), T(1.3))]);
    none(r, 1, 'dpop.proof_error');
    const ok = runRules([exchange({ at: T(1), url: `${API}?page=2`, headers: { Authorization: `DPoP ${AT}`, DPoP: proof({ htm: 'GET', htu: API, ath: 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo' }) } }, { method: 'GET', response: { status: 200, json: {} } })]);
    none(ok, 0, 'dpop.proof_error');
  });
});

/**
 * Property: these families quote provider text, headers, URLs and redirect targets in titles, details and
 * evidence. Whatever secret the traffic carries — and wherever the provider echoes it — findings never contain it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CATALOGUE } from '../../../src/oauth/catalogue.js';
import {
  CLIENT_ID, IDP, REDIRECT_URI, T, TOKEN_URL, encodeForm, exchange, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
const secretArb = fc.array(fc.constantFrom(...ALPHABET.split('')), { minLength: 20, maxLength: 48 }).map((c) => c.join(''))
  .filter((s) => new Set(s).size >= 10);

const EXPECTED = ['request.params_in_query', 'secret.in_url', 'provider.unavailable', 'proxy.interference', 'response.non_json', 'refresh_token.reuse_or_race', 'request.redirected'];
const FAMILIES = new Set(['framing', 'responses', 'refresh', 'transport', 'secrets']);

function needles(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('base64url')])];
}

describe('findings of these families never carry a secret', () => {
  it('holds for secrets echoed into error text, pages, headers, Location, Referer and URLs', () => {
    fc.assert(fc.property(secretArb, secretArb, secretArb, (clientSecret, code, refresh) => {
      const r = runRules([
        // client_secret in the query, echoed back in the error description (R38, R70, R46 text).
        tokenRequest({ at: T(1), url: `${TOKEN_URL}?${encodeForm({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: clientSecret })}`,
          response: oauthError('server_error', `upstream rejected client_secret=${clientSecret}`, 500) }),
        // Code exchange answered by a proxy page quoting the request (R68, R43, R46).
        tokenRequest({ at: T(2), form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: clientSecret },
          response: { status: 403, headers: { Via: `1.1 corp (${code})`, 'X-Squid-Error': `ERR_ACCESS_DENIED ${code}` }, html: `<html><head><title>Access Denied ${code}</title></head><body>code=${code}</body></html>` } }),
        // Retry of the same code after a timeout (R49), then a rotated refresh token reused (R51).
        tokenRequest({ at: T(3), form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: clientSecret },
          response: oauthError('invalid_grant', `code ${code} already used`) }),
        tokenRequest({ at: T(4), form: { grant_type: 'refresh_token', refresh_token: refresh, client_id: CLIENT_ID }, response: tokenSuccess({ refresh_token: `${refresh}-next` }) }),
        tokenRequest({ at: T(5), form: { grant_type: 'refresh_token', refresh_token: refresh, client_id: CLIENT_ID }, response: oauthError('invalid_grant', `refresh token ${refresh} revoked`) }),
        // A redirect whose Location and a third-party Referer carry secrets (R40, R70).
        tokenRequest({ at: T(6), url: `${IDP}/o/token`, form: { grant_type: 'refresh_token', refresh_token: refresh }, response: { status: 302, headers: { Location: `${IDP}/o/token/?refresh_token=${refresh}` } } }),
        exchange({ at: T(7), method: 'GET', url: 'https://cdn.vendor.example/x.js', headers: { Referer: `${REDIRECT_URI}?code=${code}&access_token=${clientSecret}` }, response: { status: 200, text: 'x' } }),
      ]);
      const mine = r.findings.flat().filter((f) => FAMILIES.has(CATALOGUE[f.code as keyof typeof CATALOGUE]?.family));
      expect(new Set(mine.map((f) => f.code))).toEqual(new Set(EXPECTED));
      const text = JSON.stringify(mine);
      for (const s of [clientSecret, code, refresh]) for (const n of needles(s)) expect(text.includes(n)).toBe(false);
    }), { numRuns: 25 });
  });
});

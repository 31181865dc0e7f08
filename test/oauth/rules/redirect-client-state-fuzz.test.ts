/**
 * Hostile input for the redirect_uri, client-auth and state rules: arbitrary values in every field
 * they read must never make one of them throw (the runner would contain it and lose the finding),
 * and no generated secret may appear in any finding.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  APP, CLIENT_ID, authorizeRedirect, authorizeRequest, callbackRequest, exchange, jwt, oauthError, runRules, tokenRequest,
} from '../../support/exchanges.js';

const text = fc.string({ maxLength: 40 });
const secret = fc.string({ minLength: 12, maxLength: 40 }).map((s) => `S3cr3t-${s}`);
const uri = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), text, fc.constant(`${APP}/callback`));
const status = fc.constantFrom(200, 302, 400, 401, 403, 414, 500);
const cookieAttrs = fc.subarray(['Path=/', 'Path=/auth', 'Secure', 'HttpOnly', 'SameSite=Lax', 'SameSite=Strict', 'SameSite=None', 'Max-Age=0', 'Max-Age=5', 'Domain=example.com', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT']);

function ours(warnings: Array<{ obj: object }>): unknown[] {
  return warnings.filter((w) => /^(redirect_uri|client|state)/.test(String((w.obj as { rule?: unknown }).rule)));
}

describe('redirect_uri, client-auth and state rules on hostile input', () => {
  it('never throw and never echo a secret', () => {
    fc.assert(fc.property(
      fc.record({
        authzUri: uri, tokenUri: uri, state: secret, otherState: secret, code: secret, clientSecret: secret,
        clientId: fc.oneof(text, fc.constant(CLIENT_ID)), assertionClaim: text, cookieName: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
        attrs: cookieAttrs, st: status, error: fc.constantFrom('invalid_client', 'invalid_grant', 'redirect_uri_mismatch', 'access_denied', 'unauthorized_client'),
        description: text, basicRaw: fc.boolean(), post: fc.boolean(), registered: fc.array(fc.webUrl({ withQueryParameters: true }), { maxLength: 3 }),
      }),
      (v) => {
        const config = { clients: [{ name: 'prod', clientId: CLIENT_ID, redirectUris: v.registered.length ? v.registered : [`${APP}/callback`], issuer: 'https://idp.example.com' }] };
        const r = runRules([
          exchange({ url: `${APP}/login` }, { method: 'GET', response: { status: 302, headers: [['Location', `https://idp.example.com/authorize?response_type=code&state=${encodeURIComponent(v.state)}`], ['Set-Cookie', [`${v.cookieName}=${v.state}`, ...v.attrs].join('; ')]] } }),
          authorizeRequest({ response_type: 'code', client_id: v.clientId, redirect_uri: v.authzUri, state: v.state }, { headers: { Referer: 'http://localhost:3000/' }, response: { status: v.st, html: `<title>${v.error}</title>${v.description}` } }),
          authorizeRedirect({ code: v.code, state: v.otherState }),
          v.post
            ? exchange({ method: 'POST', url: `${APP}/callback`, form: { code: v.code, state: v.otherState }, headers: { Origin: 'https://idp.example.com', 'Sec-Fetch-Site': 'cross-site' }, response: { status: v.st, html: `<p>${v.description} state mismatch</p>` } })
            : callbackRequest({ code: v.code, state: v.state }, { response: { status: v.st, headers: { Location: `${APP}/error?error=${encodeURIComponent(v.description)}` } } }),
          tokenRequest({
            ...(v.basicRaw ? { basicRaw: [v.clientId, v.clientSecret] as [string, string] } : { basic: [v.clientId, v.clientSecret] as [string, string] }),
            form: {
              grant_type: 'authorization_code', code: v.code, redirect_uri: v.tokenUri, client_id: v.clientId, client_secret: v.clientSecret,
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: jwt({ iss: v.assertionClaim, sub: v.clientId, aud: v.tokenUri, exp: v.st * 1e15, jti: v.assertionClaim }),
            },
            response: oauthError(v.error, v.description, v.st >= 400 ? v.st : 400),
          }),
        ], config);
        expect(ours(r.warnings)).toEqual([]);
        const out = JSON.stringify(r.findings);
        for (const s of [v.state, v.otherState, v.code, v.clientSecret]) expect(out.includes(s)).toBe(false);
      },
    ), { numRuns: 150 });
  });
});

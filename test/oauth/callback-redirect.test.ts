/**
 * An app answering its own callback with a redirect that carries `error=` (next-auth sends the browser to
 * `/api/auth/error?error=OAuthCallback` when its backend code exchange fails). That Location is the app's
 * error page, not an authorization response: the callback's own query is.
 */
import { describe, expect, it } from 'vitest';
import {
  APP, CLIENT_ID, CLIENT_SECRET, IDP, T, authorizeRedirect, authorizeRequest, callbackRequest, exchange, oauthError, runRules, tokenRequest,
} from '../support/exchanges.js';

const CALLBACK = `${APP}/api/auth/callback/idp`;
const STATE = 'nJ3kQ0f3x2m8Yb1tZp6cR9wV4hL7sD5a';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-next-auth-code';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** What a browser plus a next-auth backend send through the lens when the code exchange fails. */
function nextAuthFailedSignIn() {
  const signin = exchange({
    at: T(1), method: 'POST', url: `${APP}/api/auth/signin/idp`, form: { csrfToken: 'c5f1e7a0b2', callbackUrl: `${APP}/` },
    response: { status: 302, headers: { Location: `${IDP}/authorize?response_type=code&client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(CALLBACK)}&scope=openid+email&state=${STATE}&code_challenge=${CHALLENGE}&code_challenge_method=S256` } },
  });
  const authorize = authorizeRequest({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: CALLBACK, scope: 'openid email', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256',
  }, { at: T(2) });
  const redirect = authorizeRedirect({ code: CODE, state: STATE }, { at: T(10), redirectUri: CALLBACK });
  // The backend's token request is made while the callback is in flight, so it completes (and is captured) first.
  const token = tokenRequest({
    at: T(11.2), form: { grant_type: 'authorization_code', code: CODE, redirect_uri: `${CALLBACK}/`, code_verifier: VERIFIER }, basic: [CLIENT_ID, CLIENT_SECRET],
    response: oauthError('invalid_grant', 'redirect_uri mismatch'),
  });
  const callback = callbackRequest({ code: CODE, state: STATE }, {
    at: T(11), url: CALLBACK, cookies: { 'next-auth.state': 'enc-state-cookie', 'next-auth.pkce.code_verifier': 'enc-verifier-cookie' },
    response: { status: 302, headers: { Location: '/api/auth/error?error=OAuthCallback' } },
  });
  const errorPage = exchange({ at: T(11.5), url: `${APP}/api/auth/error?error=OAuthCallback`, response: { status: 200, html: '<html><head><title>Error</title></head><body>Try signing in with a different account.</body></html>' } });
  return { list: [signin, authorize, redirect, token, callback, errorPage], authorize, callback, token };
}

describe("an app's own error redirect after its callback", () => {
  it('is not read as the authorization response: no authorize.error_returned, and the callback joins the authorize flow', () => {
    const { list, authorize, callback, token } = nextAuthFailedSignIn();
    const run = runRules(list);
    const flowOf = (id: string) => run.exchanges.find((e) => e.id === id)?.oauth.flowId;
    expect(run.exchanges.find((e) => e.id === callback.id)?.oauth.kind).toBe('authorize_response');
    expect(run.codes.flat()).not.toContain('authorize.error_returned');
    expect(flowOf(callback.id)).toBeDefined();
    expect(flowOf(callback.id)).toBe(flowOf(authorize.id));
    expect(flowOf(token.id)).toBe(flowOf(authorize.id));
    // The real cause is the token exchange's redirect_uri (trailing slash), and it is the one that is diagnosed.
    expect(run.primary(token.id)?.code).toMatch(/^redirect_uri\./);
  });

  it('near miss: the authorization server redirecting with error= is still the authorization response', () => {
    const authorize = authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: CALLBACK, state: STATE }, { at: T(1) });
    const denied = authorizeRedirect({ error: 'access_denied', state: STATE }, { at: T(5), redirectUri: CALLBACK });
    const run = runRules([authorize, denied]);
    expect(run.primary(denied.id)?.code).toBe('authorize.error_returned');
    expect(run.exchanges[1]?.oauth.flowId).toBe(run.exchanges[0]?.oauth.flowId);
  });
});

/**
 * redirect_uri rules (oauth-rules.md §1.1, R01–R08) through the real engine: realistic browser and
 * backend legs, provider error bodies, and a near miss for every rule.
 */
import { describe, expect, it } from 'vitest';
import {
  APP, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, authorizeRedirect, authorizeRequest, callbackRequest, exchange, oauthError,
  tokenRequest, type Pairs, type ResponseSpec,
} from '../../support/exchanges.js';
import { one, ruleHarness } from '../../support/rule-assertions.js';

const CODE = '4/0AeaYSHBq3mZ8kP2xR7wT9vL1nJ5cF6dG8hK0sQ2uW4yA';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const STATE = 'Zt3kQ9mW2xV7bN4cR8yL1pH6';
const SECRETS = [CODE, VERIFIER, STATE, CLIENT_SECRET];

const { run, expectNoSecret } = ruleHarness(SECRETS);

/** A browser code flow (authorize → AS redirect → callback) followed by the backend code exchange. */
function codeFlow(authorizeRedirectUri: string, tokenRedirectUri: string | null, response?: ResponseSpec, extraAuthorize: Pairs = []) {
  const authorizeParams: Array<[string, string]> = [
    ['response_type', 'code'], ['client_id', CLIENT_ID], ['redirect_uri', authorizeRedirectUri], ['scope', 'openid profile'],
    ['state', STATE], ['code_challenge', CHALLENGE], ['code_challenge_method', 'S256'],
    ...(Array.isArray(extraAuthorize) ? extraAuthorize : Object.entries(extraAuthorize)),
  ];
  const form: Array<[string, string]> = [['grant_type', 'authorization_code'], ['code', CODE]];
  if (tokenRedirectUri !== null) form.push(['redirect_uri', tokenRedirectUri]);
  form.push(['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET], ['code_verifier', VERIFIER]);
  const callbackBase = authorizeRedirectUri.split('?')[0] ?? authorizeRedirectUri;
  return [
    authorizeRequest(authorizeParams),
    authorizeRedirect({ code: CODE, state: STATE }, { redirectUri: callbackBase }),
    callbackRequest({ code: CODE, state: STATE }, { url: callbackBase }),
    tokenRequest({ form, ...(response ? { response } : {}) }),
  ];
}

const KEYCLOAK_INCORRECT = oauthError('invalid_grant', 'Incorrect redirect_uri');
const GOOGLE_MISMATCH = oauthError('redirect_uri_mismatch', 'Bad Request');

describe('R01 redirect_uri.trailing_slash', () => {
  it('fires on the token exchange when authorize and token differ by one trailing slash', () => {
    const r = run(codeFlow(`${REDIRECT_URI}/`, REDIRECT_URI, KEYCLOAK_INCORRECT));
    const f = one(r.of(3), 'redirect_uri.trailing_slash');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.primary).toBe(true);
    expect(f.evidence?.authorize).toBe(`${REDIRECT_URI}/`);
    expect(f.evidence?.token).toBe(REDIRECT_URI);
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[3]?.id]);
    expect(f.detail).toContain('Fix:');
    expectNoSecret(r.of(3));
  });

  it('fires on the authorize request against the configured registered list (Entra AADSTS50011 page)', () => {
    const r = run([
      authorizeRequest({ client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${REDIRECT_URI}/`, scope: 'openid', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }, {
        url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize',
        response: { status: 400, html: `<html><head><title>Sign in to your account</title></head><body>AADSTS50011: The redirect URI '${REDIRECT_URI}/' specified in the request does not match the redirect URIs configured for the application '${CLIENT_ID}'.</body></html>` },
      }),
    ], { clients: [{ name: 'prod', clientId: CLIENT_ID, redirectUris: [REDIRECT_URI, 'http://127.0.0.1:3000/callback'] }] });
    const f = one(r.of(0), 'redirect_uri.trailing_slash');
    expect(f.severity).toBe('error');
    expect(f.evidence?.registered).toEqual([REDIRECT_URI, 'http://127.0.0.1:3000/callback']);
    expect(f.evidence?.as_signal).toBe('AADSTS50011');
    // The narrow class explains it: no second "not registered" finding for the same cause.
    expect(r.codes[0]).not.toContain('redirect_uri.not_registered');
  });

  it('is silent when both legs send the identical value', () => {
    const r = run(codeFlow(REDIRECT_URI, REDIRECT_URI));
    expect(r.codes.flat().filter((c) => c.startsWith('redirect_uri.'))).toEqual([]);
  });

  it('is a warning when a lenient AS accepted the mismatch', () => {
    const r = run(codeFlow(`${REDIRECT_URI}/`, REDIRECT_URI));
    expect(one(r.of(3), 'redirect_uri.trailing_slash').severity).toBe('warning');
  });
});

describe('R02 redirect_uri.scheme_mismatch', () => {
  it('names the TLS-terminating proxy when the browser used https for the http redirect host', () => {
    const r = run(codeFlow('http://app.example.com/callback', REDIRECT_URI, GOOGLE_MISMATCH));
    // The browser's callback went to http here; make the login start / callback https to show #behind_tls_proxy.
    const r2 = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://app.example.com/callback', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRedirect({ code: CODE, state: STATE }, { redirectUri: 'http://app.example.com/callback' }),
      callbackRequest({ code: CODE, state: STATE }, { url: REDIRECT_URI }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code_verifier: VERIFIER }, response: GOOGLE_MISMATCH }),
    ]);
    const f = one(r.of(3), 'redirect_uri.scheme_mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.as_error).toMatchObject({ error: 'redirect_uri_mismatch' });
    const g = one(r2.of(3), 'redirect_uri.scheme_mismatch');
    expect(g.evidence?.sub_diagnosis).toBe('behind_tls_proxy');
    expect(g.detail).toMatch(/TLS-terminating proxy/);
    expectNoSecret([...r.of(3), ...r2.of(3)]);
  });

  it('is silent when both values use https', () => {
    const r = run(codeFlow(REDIRECT_URI, REDIRECT_URI, GOOGLE_MISMATCH));
    expect(r.codes[3]).not.toContain('redirect_uri.scheme_mismatch');
  });
});

describe('R03 redirect_uri.host_or_port_mismatch', () => {
  it('fires for localhost vs 127.0.0.1', () => {
    const r = run(codeFlow('http://localhost:3000/auth/callback', 'http://127.0.0.1:3000/auth/callback', KEYCLOAK_INCORRECT));
    const f = one(r.of(3), 'redirect_uri.host_or_port_mismatch');
    expect(f.severity).toBe('error');
    expect(f.detail).toContain('localhost vs 127.0.0.1');
    expectNoSecret(r.of(3));
  });

  it('is only info for loopback IP literals differing in port when the AS accepted (RFC 8252 §7.3)', () => {
    const r = run(codeFlow('http://127.0.0.1:51234/cb', 'http://127.0.0.1:51999/cb'));
    expect(one(r.of(3), 'redirect_uri.host_or_port_mismatch').severity).toBe('info');
  });

  it('fires for an explicit default port vs an implicit one', () => {
    const r = run(codeFlow('https://app.example.com:443/callback', REDIRECT_URI, KEYCLOAK_INCORRECT));
    expect(one(r.of(3), 'redirect_uri.host_or_port_mismatch').detail).toMatch(/explicit default port :443 vs implicit/i);
  });

  it('is silent when host and port are equal', () => {
    const r = run(codeFlow('http://127.0.0.1:3000/cb', 'http://127.0.0.1:3000/cb', KEYCLOAK_INCORRECT));
    expect(r.codes[3]).not.toContain('redirect_uri.host_or_port_mismatch');
  });
});

describe('R04 redirect_uri.case_or_encoding_mismatch', () => {
  it('fires for a double-encoded token redirect_uri', () => {
    const r = run(codeFlow(REDIRECT_URI, encodeURIComponent(REDIRECT_URI), KEYCLOAK_INCORRECT));
    const f = one(r.of(3), 'redirect_uri.case_or_encoding_mismatch');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/percent-encoded once more/);
  });

  it('fires when an unencoded redirect_uri was split by its own "&" in the authorize URL', () => {
    const r = run(codeFlow(`${APP}/callback?tenant=acme`, `${APP}/callback?tenant=acme&lang=en`, KEYCLOAK_INCORRECT, [['lang', 'en']]));
    const f = one(r.of(3), 'redirect_uri.case_or_encoding_mismatch');
    expect(f.detail).toMatch(/unencoded/);
    expect(r.codes[3]).not.toContain('redirect_uri.path_or_query_mismatch');
  });

  it('fires for a case difference in the path', () => {
    const r = run(codeFlow(`${APP}/Callback`, REDIRECT_URI, KEYCLOAK_INCORRECT));
    expect(one(r.of(3), 'redirect_uri.case_or_encoding_mismatch').severity).toBe('error');
  });

  it('is silent for identical values', () => {
    const r = run(codeFlow(`${APP}/callback?tenant=acme`, `${APP}/callback?tenant=acme`, KEYCLOAK_INCORRECT));
    expect(r.codes[3]).not.toContain('redirect_uri.case_or_encoding_mismatch');
  });
});

describe('R05 redirect_uri.path_or_query_mismatch', () => {
  it('fires for a different route (next-auth style callback paths)', () => {
    const r = run(codeFlow(`${APP}/auth/callback`, `${APP}/api/auth/callback/google`, GOOGLE_MISMATCH));
    const f = one(r.of(3), 'redirect_uri.path_or_query_mismatch');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.detail).toContain('/api/auth/callback/google');
    expectNoSecret(r.of(3));
  });

  it('links Facebook\'s GET exchange to the dialog request and gives the JS SDK hint', () => {
    const fb = {
      status: 400,
      json: { error: { message: 'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request', type: 'OAuthException', code: 100, error_subcode: 36008, fbtrace_id: 'AbCdEfGhIjK' } },
    };
    const r = run([
      authorizeRequest({ client_id: CLIENT_ID, redirect_uri: `${APP}/products/42`, state: STATE, response_type: 'code' }, { url: 'https://www.facebook.com/v19.0/dialog/oauth' }),
      exchange({ url: `https://graph.facebook.com/v19.0/oauth/access_token?client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(`${APP}/auth/facebook/callback`)}&client_secret=${CLIENT_SECRET}&code=${encodeURIComponent(CODE)}`, response: fb }),
    ]);
    const f = one(r.of(1), 'redirect_uri.path_or_query_mismatch');
    expect(f.confidence).toBe('medium');
    expect(f.detail).toMatch(/Facebook JS SDK/);
    expect(f.evidence?.as_error).toMatchObject({ status: 400 });
    expectNoSecret(r.findings.flat());
  });

  it('is silent when only the fragment-free identical path is used', () => {
    const r = run(codeFlow(`${APP}/auth/callback`, `${APP}/auth/callback`, GOOGLE_MISMATCH));
    expect(r.codes[3]).not.toContain('redirect_uri.path_or_query_mismatch');
  });
});

describe('R06 redirect_uri.missing_in_token_request', () => {
  it('fires when the authorize request had a redirect_uri and the code exchange omitted it', () => {
    const r = run(codeFlow(REDIRECT_URI, null, oauthError('invalid_grant', 'Bad Request')));
    const f = one(r.of(3), 'redirect_uri.missing_in_token_request');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.token).toBe('(absent)');
  });

  it('fires from the AS text alone when the browser leg was not captured (Google)', () => {
    const r = run([tokenRequest({
      url: 'https://oauth2.googleapis.com/token',
      form: { grant_type: 'authorization_code', code: CODE, client_id: '1234-abc.apps.googleusercontent.com', client_secret: CLIENT_SECRET },
      response: oauthError('invalid_request', 'Missing parameter: redirect_uri'),
    })]);
    const f = one(r.of(0), 'redirect_uri.missing_in_token_request');
    expect(f.confidence).toBe('medium');
    expectNoSecret(r.of(0));
  });

  it('is silent when the token request repeats the redirect_uri', () => {
    const r = run(codeFlow(REDIRECT_URI, REDIRECT_URI, oauthError('invalid_grant', 'Bad Request')));
    expect(r.codes[3]).not.toContain('redirect_uri.missing_in_token_request');
  });
});

describe('R07 redirect_uri.not_registered', () => {
  const config = { clients: [{ name: 'prod', clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] }] };

  it('fires on an authorize request whose redirect_uri is in no registered entry (config)', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'https://staging.example.net/oauth/return', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' })], config);
    const f = one(r.of(0), 'redirect_uri.not_registered');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.nearest).toBe(REDIRECT_URI);
    expect(f.evidence?.environment).toBe('prod');
    expectNoSecret(r.of(0));
  });

  it('fires without config when GitHub answers redirect_uri_mismatch inside HTTP 200', () => {
    const r = run([tokenRequest({
      url: 'https://github.com/login/oauth/access_token',
      form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: 'a1b2c3d4e5f6a7b8c9d0', redirect_uri: `${APP}/auth/github` },
      response: { status: 200, form: { error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#redirect-uri-mismatch2' } },
    })]);
    const f = one(r.of(0), 'redirect_uri.not_registered');
    expect(f.severity).toBe('error');
    expect(f.evidence?.as_signal).toBe('redirect_uri_mismatch');
    expectNoSecret(r.of(0));
  });

  it('fires on the Google "Error 400: redirect_uri_mismatch" page at authorize', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: '1234-abc.apps.googleusercontent.com', redirect_uri: 'http://localhost:8080/oauth2callback', scope: 'openid email', state: STATE }, {
      url: 'https://accounts.google.com/o/oauth2/v2/auth',
      response: { status: 400, html: '<html><head><title>Error 400: redirect_uri_mismatch</title></head><body>Access blocked: This app’s request is invalid</body></html>' },
    })]);
    expect(one(r.of(0), 'redirect_uri.not_registered').evidence?.as_signal).toBe('redirect_uri_mismatch');
  });

  it('is only a warning when the AS issued a code for it anyway (stale config or GitHub sub-path matching)', () => {
    const r = run([authorizeRequest({ client_id: CLIENT_ID, redirect_uri: `${REDIRECT_URI}/github`, state: STATE, scope: 'read:user' }, {
      url: 'https://github.com/login/oauth/authorize',
      response: { status: 302, headers: { Location: `${REDIRECT_URI}/github?code=a1b2c3d4e5f6a7b8c9d0&state=${STATE}` } },
    })], config);
    const f = one(r.of(0), 'redirect_uri.not_registered');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/issued a code for it anyway/);
  });

  it('is silent when the redirect_uri is registered byte for byte', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' })], config);
    expect(r.codes[0]).toEqual([]);
  });
});

describe('R08 redirect_uri.unsafe_form', () => {
  it('warns about http on a public host and code/state parameters in the redirect_uri', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://app.example.com/callback?state=fixed', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' })]);
    const f = one(r.of(0), 'redirect_uri.unsafe_form');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/http on the non-loopback host app\.example\.com/);
    expect(f.detail).toMatch(/\(state\)/);
  });

  it('warns about a fragment', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${REDIRECT_URI}#done`, state: STATE })]);
    expect(one(r.of(0), 'redirect_uri.unsafe_form').detail).toContain('fragment');
  });

  it('is silent for https and for http on a loopback IP', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1:8400/callback', state: `${STATE}2`, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
    ]);
    expect(r.codes.flat()).not.toContain('redirect_uri.unsafe_form');
  });
});

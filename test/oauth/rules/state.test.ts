/**
 * state, CSRF and callback rules (oauth-rules.md §1.6, R28–R31) through the real engine: login start
 * with its Set-Cookie, authorize, the AS response (302 or form_post), the browser's callback and the
 * app's answer, with a near miss for each rule.
 */
import { describe, expect, it } from 'vitest';
import {
  APP, AUTHORIZE_URL, CLIENT_ID, IDP, REDIRECT_URI, authorizeRedirect, authorizeRequest, callbackRequest, exchange, runRules,
} from '../../support/exchanges.js';
import { one, ruleHarness } from '../../support/rule-assertions.js';

const STATE = 'Zt3kQ9mW2xV7bN4cR8yL1pH6';
const OTHER_STATE = 'Hq8Lw2Zx4Vb9Nc3Rm6Tp1Ks5';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA.Kq9mW2xV7b';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const COOKIE_VALUE = 'eyJzdGF0ZSI6ImFiYyJ9.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1';
const SECRETS = [STATE, OTHER_STATE, CODE, COOKIE_VALUE];

const { run, expectNoSecret } = ruleHarness(SECRETS);

function authorizeUrl(state: string, extra: Record<string, string> = {}): string {
  const u = new URL(AUTHORIZE_URL);
  const params = { response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state, code_challenge: CHALLENGE, code_challenge_method: 'S256', ...extra };
  for (const [n, v] of Object.entries(params)) u.searchParams.append(n, v);
  return u.toString();
}

/** Browser → app: the app sets its transient OAuth cookies and redirects to the AS. */
function loginStart(cookies: string[], spec: { url?: string; state?: string; extra?: Record<string, string> } = {}) {
  return exchange({ url: spec.url ?? `${APP}/api/auth/signin/idp` }, {
    method: 'GET',
    response: { status: 302, statusText: 'Found', headers: [['Location', authorizeUrl(spec.state ?? STATE, spec.extra)], ...cookies.map((c) => ['Set-Cookie', c] as [string, string])] },
  });
}

const NEXTAUTH_STATE_MISSING = { status: 302, headers: { Location: `${APP}/api/auth/error?error=OAuthCallback` } };

/** The form_post callback: a cross-site POST from the AS page to the app. */
function formPostCallback(cookies?: Record<string, string>) {
  return exchange({
    method: 'POST', url: REDIRECT_URI, form: { code: CODE, state: STATE },
    headers: { Origin: IDP, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
    ...(cookies ? { cookies } : {}),
    response: cookies
      ? { status: 302, headers: { Location: `${APP}/dashboard` } }
      : { status: 400, html: '<html><head><title>Error</title></head><body>State cookie was missing.</body></html>' },
  });
}

describe('R28 state.mismatch', () => {
  it('a callback for a login that a second tab superseded, rejected by the app', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: OTHER_STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      callbackRequest({ code: CODE, state: STATE }, { response: { status: 400, html: '<html><head><title>400 Bad Request</title></head><body>mismatching_state: CSRF Warning! State not equal in request and response.</body></html>' } }),
    ]);
    const f = one(r.of(2), 'state.mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.sub_diagnosis).toBe('superseded');
    expect(f.exchangeIds).toEqual(r.exchanges.map((e) => e.id));
    expectNoSecret(r.of(2));
  });

  it('the callback state is not the one the flow sent (linked by the code)', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE }),
      authorizeRedirect({ code: CODE, state: STATE }),
      callbackRequest({ code: CODE, state: OTHER_STATE }, { response: { status: 403, html: '<html><head><title>Forbidden</title></head><body>Invalid state</body></html>' } }),
    ]);
    const f = one(r.of(2), 'state.mismatch');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.linked_by).toBe('code');
    expect((f.evidence?.callback_state as { prefix: string }).prefix).toBe(OTHER_STATE.slice(0, 6));
    expectNoSecret(r.of(2));
  });

  it('a base64 state sent unencoded: "+" comes back as a space and the app rejects it', () => {
    const b64 = 'q1+Zt3kQ9mW2/xV7bN4cR8==';
    const url = `${AUTHORIZE_URL}?response_type=code&client_id=${CLIENT_ID}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&state=${b64}&code_challenge=${CHALLENGE}&code_challenge_method=S256`;
    const r = run([
      exchange({ url }, { method: 'GET', response: { status: 200, html: '<html><head><title>Sign in</title></head></html>' } }),
      callbackRequest({ code: CODE, state: b64.replace('+', ' ') }, { response: { status: 400, html: '<html><head><title>400</title></head><body>Invalid state parameter</body></html>' } }),
    ]);
    const f = one(r.of(1), 'state.mismatch');
    expect(f.evidence?.sub_diagnosis).toBe('encoding');
    expect(JSON.stringify(r.findings)).not.toContain(b64.slice(6));
  });

  describe('encoding-only differences, proven by transform fingerprints', () => {
    const RAW = 'q1+Zt3kQ9mW2/xV7bN4cR8==';
    const authorizeWith = (state: string) => authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state, code_challenge: CHALLENGE, code_challenge_method: 'S256' });
    const rejected = { status: 403, html: '<html><head><title>Forbidden</title></head><body>Invalid state</body></html>' };
    const noStateLeak = (r: ReturnType<typeof runRules>) => {
      const text = JSON.stringify(r.findings);
      for (const form of [RAW, encodeURIComponent(RAW), RAW.slice(6), encodeURIComponent(RAW).slice(6)]) expect(text).not.toContain(form);
    };

    it('state sent double-encoded: the AS returns it unchanged and the app rejects its own value (high confidence)', () => {
      const twice = encodeURIComponent(RAW); // the builder encodes it once more on the wire: q1%252BZt…
      const r = run([authorizeWith(twice), authorizeRedirect({ code: CODE, state: twice }), callbackRequest({ code: CODE, state: twice }, { response: rejected })]);
      const f = one(r.of(2), 'state.mismatch');
      expect(f.confidence).toBe('high');
      expect(f.title).toBe('State URL-encoded twice by the app');
      expect(f.evidence).toMatchObject({ sub_diagnosis: 'encoding', transform: 'extra_encoding' });
      expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[2]?.id]);
      noStateLeak(r);
    });

    it('callback state encoded once more than the authorize state (linked by the code)', () => {
      const r = run([authorizeWith(RAW), authorizeRedirect({ code: CODE, state: RAW }), callbackRequest({ code: CODE, state: encodeURIComponent(RAW) }, { response: rejected })]);
      const f = one(r.of(2), 'state.mismatch');
      expect(f.confidence).toBe('high');
      expect(f.evidence).toMatchObject({ linked_by: 'code', sub_diagnosis: 'encoding' });
      expect(f.detail).toMatch(/only by encoding \(decoded/);
      noStateLeak(r);
    });

    it('near miss: an identical, once-encoded state is not called an encoding difference', () => {
      const r = run([authorizeWith(RAW), authorizeRedirect({ code: CODE, state: RAW }), callbackRequest({ code: CODE, state: RAW }, { response: rejected })]);
      const f = one(r.of(2), 'state.mismatch');
      expect(f.confidence).toBe('medium');
      expect(f.evidence?.sub_diagnosis).toBeUndefined();
      expect(f.evidence?.transform).toBeUndefined();
      const accepted = run([authorizeWith(RAW), authorizeRedirect({ code: CODE, state: RAW }), callbackRequest({ code: CODE, state: RAW })]);
      expect(accepted.codes.flat()).not.toContain('state.mismatch');
    });
  });

  it('a callback state that matches none of the logins the app started', () => {
    const r = run([
      loginStart([], { state: OTHER_STATE }),
      callbackRequest({ code: CODE, state: STATE }, { response: { status: 403, html: '<html><head><title>Forbidden</title></head><body>Login failed</body></html>' } }),
    ]);
    const f = one(r.of(1), 'state.mismatch');
    expect(f.title).toBe('Callback state matches no login started');
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[1]?.id]);
    // Near miss: the same failing callback for the login that was started.
    const ok = run([
      loginStart([], { state: STATE }),
      callbackRequest({ code: CODE, state: STATE }, { response: { status: 403, html: '<html><head><title>Forbidden</title></head><body>Login failed</body></html>' } }),
    ]);
    expect(ok.codes[1]).not.toContain('state.mismatch');
  });

  it('only the app\'s words when the authorize request was not captured', () => {
    const r = run([callbackRequest({ code: CODE, state: STATE }, { response: { status: 400, json: { error: 'mismatching_state', error_description: 'CSRF Warning! State not equal in request and response.' } } })]);
    expect(one(r.of(0), 'state.mismatch').confidence).toBe('medium');
  });

  it('is silent for a matching state, and for a superseded one the app accepted', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: OTHER_STATE }),
      callbackRequest({ code: CODE, state: STATE }),
    ]);
    expect(r.exchanges[2]?.oauth.kind).toBe('authorize_response');
    expect(r.codes.flat()).not.toContain('state.mismatch');
  });
});

describe('R29 state.cookie_not_sent', () => {
  const laxCookies = [
    `next-auth.state=${COOKIE_VALUE}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=900`,
    `next-auth.pkce.code_verifier=${COOKIE_VALUE}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=900`,
  ];

  it('form_post callback without the SameSite=Lax state and PKCE cookies', () => {
    const r = run([
      loginStart(laxCookies, { extra: { response_mode: 'form_post' } }),
      authorizeRequest({ response_type: 'code', response_mode: 'form_post', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRedirect({ code: CODE, state: STATE }, { mode: 'form_post' }),
      formPostCallback(),
    ]);
    const f = one(r.of(3), 'state.cookie_not_sent');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.sub_diagnosis).toEqual(['samesite_form_post']);
    expect(f.detail).toContain('next-auth.state');
    expect(f.fix).toMatch(/response_mode=query|SameSite=None/);
    expect(f.exchangeIds[0]).toBe(r.exchanges[0]?.id);
    expectNoSecret(r.findings.flat());
  });

  it('Secure cookie set on an http app host', () => {
    const r = run([
      loginStart([`oauth_state=${COOKIE_VALUE}; Path=/; Secure; SameSite=Lax`], { url: 'http://app.example.com/login' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://app.example.com/callback', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      callbackRequest({ code: CODE, state: STATE }, { url: 'http://app.example.com/callback', response: NEXTAUTH_STATE_MISSING }),
    ]);
    expect(one(r.of(2), 'state.cookie_not_sent').evidence?.sub_diagnosis).toEqual(['secure_over_http']);
  });

  it('login on localhost, callback to 127.0.0.1 (seen from the authorize Referer)', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1:3000/callback', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }, { headers: { Referer: 'http://localhost:3000/' } }),
      callbackRequest({ code: CODE, state: STATE }, { url: 'http://127.0.0.1:3000/callback', response: { status: 401, html: '<html><head><title>Login failed</title></head><body>checks.state argument is missing</body></html>' } }),
    ]);
    const f = one(r.of(1), 'state.cookie_not_sent');
    expect(f.evidence?.sub_diagnosis).toEqual(['host_mismatch']);
    expect(f.confidence).toBe('medium');
  });

  it('is silent when the callback carries the cookies (SameSite=None; Secure)', () => {
    const r = run([
      loginStart([`next-auth.state=${COOKIE_VALUE}; Path=/; HttpOnly; Secure; SameSite=None; Max-Age=900`], { extra: { response_mode: 'form_post' } }),
      authorizeRequest({ response_type: 'code', response_mode: 'form_post', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRedirect({ code: CODE, state: STATE }, { mode: 'form_post' }),
      formPostCallback({ 'next-auth.state': COOKIE_VALUE }),
    ]);
    expect(r.exchanges[3]?.oauth.kind).toBe('authorize_response');
    expect(r.codes[3]).not.toContain('state.cookie_not_sent');
  });
});

describe('R30 state.too_long', () => {
  it('warns about a 600-character state', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 'x'.repeat(600), code_challenge: CHALLENGE, code_challenge_method: 'S256' })]);
    const f = one(r.of(0), 'state.too_long');
    expect(f.severity).toBe('warning');
    expect((f.evidence?.state as { length: number }).length).toBe(600);
    expect(JSON.stringify(f)).not.toContain('x'.repeat(7));
  });

  it('is an error when the AS refuses the URL (414) or it exceeds 8 KB', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 'y'.repeat(5000) }, { response: { status: 414, statusText: 'Request-URI Too Large', html: '<html><head><title>414 Request-URI Too Large</title></head></html>' } }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 'z'.repeat(9000) }),
    ]);
    expect(one(r.of(0), 'state.too_long').severity).toBe('error');
    expect(one(r.of(1), 'state.too_long').severity).toBe('error');
  });

  it('is silent at 499 characters', () => {
    const r = run([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 's'.repeat(499), code_challenge: CHALLENGE, code_challenge_method: 'S256' })]);
    expect(r.codes[0]).not.toContain('state.too_long');
  });
});

describe('R31 state.missing', () => {
  it('warns about a code-flow authorize request with no state, PKCE or nonce', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'read:user' }, { url: 'https://github.com/login/oauth/authorize' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid email' }),
    ]);
    expect(one(r.of(0), 'state.missing').severity).toBe('warning');
    expect(one(r.of(1), 'state.missing').detail).toContain('no nonce');
  });

  it('is silent with PKCE, or with a nonce on an OpenID request', () => {
    const r = run([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'read:user', code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid email', nonce: 'n-0S6_WzA2Mj' }),
    ]);
    expect(r.exchanges.map((e) => e.oauth.kind)).toEqual(['authorize', 'authorize']);
    expect(r.codes.flat()).not.toContain('state.missing');
  });
});

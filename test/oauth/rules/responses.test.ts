/** §1.9 responses, availability, retries (R43–R49): positive cases from real provider shapes and near misses. */
import { describe, expect, it } from 'vitest';
import { useLiveIdp, type LiveIdp } from './families-live.js';
import { pkcePair } from '../../support/idp.js';
import {
  AUTHORIZE_URL, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, TOKEN_URL, authorizeRequest, exchange, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';
import { CATALOGUE, FINDING_CODES } from '../../../src/oauth/catalogue.js';
import { authorizeRedirect, callbackRequest, discoveryRequest, exchange as anyExchange, jwt } from '../../support/exchanges.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const GHO = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';
const SLACK_AT = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
const SECRETS = [CLIENT_SECRET, CODE, GHO, SLACK_AT];
const codeForm = { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const ccForm = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'api.read' };
const APP_BASE = 'https://app.example.com';
const GITHUB_TOKEN = 'https://github.com/login/oauth/access_token';
const SLACK_TOKEN = 'https://slack.com/api/oauth.v2.access';

describe('response.non_json (R43)', () => {
  it('shows the <title> of Google\'s legacy HTML 400 page', () => {
    const r = runRules([tokenRequest({
      url: 'https://accounts.google.com/o/oauth2/token', form: codeForm,
      response: { status: 400, html: '<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error 400 (Bad Request)!!1</title><p><b>400.</b> <ins>That’s an error.</ins>' },
    })]);
    const f = only(r, 0, 'response.non_json');
    expect(f.severity).toBe('error');
    expect(f.evidence?.html_title).toBe('Error 400 (Bad Request)!!1');
    expect(f.title).toMatch(/html/);
    expectNoSecrets(r, SECRETS);
  });

  it('recognises GitHub\'s form-encoded token response (no Accept: application/json)', () => {
    const r = runRules([tokenRequest({
      url: GITHUB_TOKEN, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE },
      response: { status: 200, form: { access_token: GHO, scope: 'repo,gist', token_type: 'bearer' } },
    })]);
    const f = only(r, 0, 'response.non_json');
    expect(f.evidence?.body_kind).toBe('github_form');
    expect(f.detail).toMatch(/Accept: application\/json/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags an empty 200 and an XML body', () => {
    const r = runRules([
      tokenRequest({ form: ccForm, response: { status: 200, text: '' } }),
      tokenRequest({ url: GITHUB_TOKEN, headers: { Accept: 'application/xml' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE }, response: { status: 200, contentType: 'application/xml', text: `<OAuth><token_type>bearer</token_type><scope>repo</scope><access_token>${GHO}</access_token></OAuth>` } }),
    ]);
    expect(only(r, 0, 'response.non_json').evidence?.body_kind).toBe('empty');
    expect(only(r, 1, 'response.non_json').evidence?.body_kind).toBe('xml');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: a JSON error and an empty 200 from a revocation endpoint are fine', () => {
    const r = runRules([
      tokenRequest({ form: codeForm, response: oauthError('invalid_grant', 'Code not valid') }),
      exchange({ method: 'POST', url: 'https://oauth2.googleapis.com/revoke', form: { token: 'ya29.a0AfH6SMBx-example-access-token-value-0123' }, response: { status: 200, text: '' } }),
    ]);
    none(r, 0, 'response.non_json');
    none(r, 1, 'response.non_json');
  });
});

describe('response.error_in_2xx (R44)', () => {
  it('flags GitHub bad_verification_code inside HTTP 200', () => {
    const r = runRules([tokenRequest({
      url: GITHUB_TOKEN, headers: { Accept: 'application/json' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE },
      response: { status: 200, json: { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code' } },
    })]);
    const f = only(r, 0, 'response.error_in_2xx');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/GitHub bad_verification_code/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags Slack {"ok":false} and escalates when the client then calls the API with Bearer undefined', () => {
    const r = runRules([
      tokenRequest({ at: T(1), url: SLACK_TOKEN, form: { code: CODE, redirect_uri: REDIRECT_URI }, basic: ['1234567890.0987654321', CLIENT_SECRET], response: { status: 200, json: { ok: false, error: 'invalid_code' } } }),
      exchange({ at: T(2), method: 'POST', url: 'https://slack.com/api/chat.postMessage', bearer: 'undefined', json: { channel: 'C123', text: 'hi' }, response: { status: 200, json: { ok: false, error: 'invalid_auth' } } }),
    ]);
    const f = only(r, 0, 'response.error_in_2xx');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/check the value of the ok params/);
    expect(f.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[1]!.id]);
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: Slack ok:true with a token', () => {
    const r = runRules([tokenRequest({
      url: SLACK_TOKEN, form: { code: CODE, redirect_uri: REDIRECT_URI }, basic: ['1234567890.0987654321', CLIENT_SECRET],
      response: { status: 200, json: { ok: true, access_token: SLACK_AT, token_type: 'bot', scope: 'chat:write', bot_user_id: 'U0KRQLJ9H', app_id: 'A0KRD7HC3' } },
    })]);
    none(r, 0, 'response.error_in_2xx');
    expectNoSecrets(r, SECRETS);
  });
});

describe('response.shape_invalid (R45)', () => {
  it('errors on a success without token_type', () => {
    const r = runRules([tokenRequest({ form: ccForm, response: { status: 200, headers: { 'Cache-Control': 'no-store' }, json: { access_token: 'opaque-at-0123456789abcdefghij', expires_in: 3600 } } })]);
    const f = only(r, 0, 'response.shape_invalid');
    expect(f.severity).toBe('error');
    expect(f.evidence?.problems).toEqual(['missing_token_type']);
  });

  it('warns about Entra\'s string expires_in and a lower-case token_type', () => {
    const r = runRules([tokenRequest({
      url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token', form: { ...ccForm, resource: 'https://graph.microsoft.com' },
      response: { status: 200, headers: { 'Cache-Control': 'no-store' }, json: { token_type: 'bearer', expires_in: '3599', ext_expires_in: '3599', access_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2lnbmF0dXJl' } },
    })]);
    const f = only(r, 0, 'response.shape_invalid');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.problems).toEqual(['expires_in_string', 'token_type_case']);
    expect(f.detail).toMatch(/Entra returns expires_in as a JSON string/);
  });

  it('errors when openid was requested and no id_token came back', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state: 'af0ifjsldkj-state-1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }),
      tokenRequest({ form: { ...codeForm, code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' } }),
    ]);
    const f = only(r, 1, 'response.shape_invalid');
    expect(f.evidence?.problems).toEqual(['missing_id_token']);
  });

  it('near miss: a standard response', () => {
    const r = runRules([tokenRequest({ form: ccForm })]);
    none(r, 0, 'response.shape_invalid');
  });
});

describe('provider.unavailable (R46)', () => {
  it('flags a 503 HTML page from the AS', () => {
    const r = runRules([tokenRequest({ form: codeForm, response: { status: 503, headers: { Server: 'nginx', 'Retry-After': '10' }, html: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>' } })]);
    const f = only(r, 0, 'provider.unavailable');
    expect(f.severity).toBe('error');
    expect(f.primary).toBe(true);
    expect(f.evidence).toMatchObject({ reason: 'http:503', server: 'nginx', retry_after: '10' });
    expect(f.detail).toMatch(/retried code may already be consumed/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags an upstream timeout recorded by the proxy, and an Entra transient AADSTS code', () => {
    const r = runRules([
      tokenRequest({ form: ccForm, response: null, error: { code: 'timeout', message: 'upstream idp.example.com:443 did not answer in time', nodeCode: 'OAL_ERR_UPSTREAM_TIMEOUT' } }),
      tokenRequest({ url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', form: ccForm, response: oauthError('temporarily_unavailable', 'AADSTS50033: A transient error has occurred. Please try again.', 400, { error_codes: [50033] }) }),
    ]);
    expect(only(r, 0, 'provider.unavailable').evidence?.reason).toBe('transport:timeout');
    expect(only(r, 1, 'provider.unavailable').evidence?.reason).toBe('error:temporarily_unavailable');
  });

  it('aggregates failures of several clients into an outage', () => {
    const fail = (client: string, at: number) => tokenRequest({ at, form: { ...ccForm, client_id: client }, response: { status: 502, html: '<html><head><title>502 Bad Gateway</title></head></html>' } });
    const r = runRules([fail('svc-a', T(1)), fail('svc-b', T(20)), fail('svc-c', T(40))]);
    none(r, 2, 'retry.storm');
    expect(only(r, 1, 'provider.unavailable').title).not.toMatch(/outage/);
    const f = only(r, 2, 'provider.unavailable');
    expect(f.title).toMatch(/^Provider outage/);
    expect(f.exchangeIds).toHaveLength(3);
  });

  it('near miss: a success between failures means no outage', () => {
    const fail = (client: string, at: number) => tokenRequest({ at, form: { ...ccForm, client_id: client }, response: { status: 502, html: '<html><head><title>502 Bad Gateway</title></head></html>' } });
    const r = runRules([fail('svc-a', T(1)), tokenRequest({ at: T(10), form: ccForm }), fail('svc-b', T(20)), fail('svc-c', T(40))]);
    expect(only(r, 3, 'provider.unavailable').title).not.toMatch(/outage/);
  });

  it('near miss: a 400 invalid_grant is the client\'s problem', () => {
    const r = runRules([tokenRequest({ form: codeForm, response: oauthError('invalid_grant', 'Authorization code expired') })]);
    none(r, 0, 'provider.unavailable');
  });
});

describe('rate_limit.throttled (R47)', () => {
  it('flags a 429 with Retry-After, and a next request that ignores it', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: ccForm, response: { status: 429, headers: { 'Retry-After': '30', 'X-Rate-Limit-Limit': '600', 'X-Rate-Limit-Remaining': '0', 'X-Rate-Limit-Reset': String(Math.floor(T(61) / 1000)) }, json: { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' } } }),
      tokenRequest({ at: T(3), form: ccForm, response: { status: 429, headers: { 'Retry-After': '28' }, json: { errorCode: 'E0000047' } } }),
    ]);
    const first = only(r, 0, 'rate_limit.throttled');
    expect(first.severity).toBe('error');
    expect(first.title).toMatch(/Retry-After ignored/);
    expect(first.evidence?.rate_limit_headers).toMatchObject({ 'retry-after': '30', 'x-rate-limit-remaining': '0' });
    const second = only(r, 1, 'rate_limit.throttled');
    expect(second.evidence?.retry_after_ignored).toMatchObject({ earlier: r.exchanges[0]!.id });
    expectNoSecrets(r, SECRETS);
  });

  it('warns when an Okta success says less than 10 % of the limit is left', () => {
    const r = runRules([tokenRequest({ url: 'https://dev-123456.okta.com/oauth2/default/v1/token', form: ccForm, response: tokenSuccess({}, { 'Cache-Control': 'no-store', 'X-Rate-Limit-Limit': '100', 'X-Rate-Limit-Remaining': '4', 'X-Rate-Limit-Reset': '1768467660' }) })]);
    const f = only(r, 0, 'rate_limit.throttled');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/Okta: X-Rate-Limit-Reset is a UTC epoch second/);
  });

  it('flags Entra AADSTS90055 tenant throttling and GitHub device slow_down', () => {
    const r = runRules([
      tokenRequest({ url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', form: ccForm, response: oauthError('temporarily_unavailable', 'AADSTS90055: TenantThrottlingError - There are too many incoming requests.', 400, { error_codes: [90055] }) }),
      tokenRequest({ url: GITHUB_TOKEN, headers: { Accept: 'application/json' }, form: { client_id: 'Iv1.8a61f9b3a7aba766', device_code: '3584d83530557fdd1f46af8289938c8ef79f9dc5', grant_type: 'urn:ietf:params:oauth:grant-type:device_code' }, response: { status: 200, json: { error: 'slow_down', error_description: 'Too many requests have been made in the same amount of time.', interval: 10 } } }),
    ]);
    expect(only(r, 0, 'rate_limit.throttled').evidence?.signal).toMatch(/AADSTS90055/);
    expect(only(r, 1, 'rate_limit.throttled').evidence?.signal).toMatch(/slow_down/);
    none(r, 1, 'response.error_in_2xx');
  });

  it('near miss: plenty of quota left, and a retry after Retry-After elapsed', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: ccForm, response: tokenSuccess({}, { 'Cache-Control': 'no-store', 'X-Rate-Limit-Limit': '100', 'X-Rate-Limit-Remaining': '90' }) }),
      tokenRequest({ at: T(2), url: `${TOKEN_URL}2`, form: ccForm, response: { status: 503, headers: { 'Retry-After': '5' }, text: 'busy' } }),
      tokenRequest({ at: T(8), url: `${TOKEN_URL}2`, form: ccForm }),
    ]);
    none(r, 0, 'rate_limit.throttled');
    none(r, 2, 'rate_limit.throttled');
  });
});

describe('retry.storm (R48)', () => {
  it('flags the third identical request rejected with invalid_client', () => {
    const attempt = (s: number) => tokenRequest({ at: T(s), form: ccForm, response: oauthError('invalid_client', 'Client authentication failed', 401) });
    const r = runRules([attempt(1), attempt(2), attempt(3)]);
    none(r, 1, 'retry.storm');
    const f = only(r, 2, 'retry.storm');
    expect(f.severity).toBe('error');
    expect(f.evidence?.pattern).toBe('non_retryable_repeated');
    expect(f.exchangeIds).toHaveLength(3);
    expectNoSecrets(r, SECRETS);
  });

  it('flags retries of a 503 without backoff', () => {
    const attempt = (s: number) => tokenRequest({ at: T(s), form: ccForm, response: { status: 503, text: 'upstream unavailable' } });
    const r = runRules([attempt(1), attempt(1.5), attempt(2), attempt(2.5)]);
    const f = only(r, 3, 'retry.storm');
    expect(f.evidence?.pattern).toBe('no_backoff');
    expect(f.evidence?.gaps_ms).toEqual([500, 500, 500]);
  });

  it('flags a login loop', () => {
    const authz = (s: number) => authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: `state-loop-${s}-abcdef`, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { at: T(s), url: AUTHORIZE_URL });
    const r = runRules([authz(1), authz(4), authz(7), authz(10), authz(13)]);
    const f = only(r, 4, 'retry.storm');
    expect(f.evidence?.pattern).toBe('login_loop');
    expect(f.confidence).toBe('medium');
  });

  /** One login at second `s`: authorize → 302 with code → callback → token exchange, cut short or failing as `end` says. */
  function login(i: number, s: number, end: 'no_callback' | 'callback_error' | 'token_failure' | 'completed') {
    const { verifier, challenge } = pkcePair();
    const state = `state-login-${i}-abcdef0123`;
    const code = `SplxlOBeZQQYbYS6WxSbIA-login-${i}-0123456789`;
    const out = [authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state, code_challenge: challenge, code_challenge_method: 'S256' }, { at: T(s), url: AUTHORIZE_URL })];
    if (end === 'no_callback') return { exchanges: out, code };
    const answer: Record<string, string> = end === 'callback_error' ? { error: 'access_denied', error_description: 'The user denied the request', state } : { code, state };
    out.push(authorizeRedirect(answer, { at: T(s + 1) }), callbackRequest(answer, { at: T(s + 1.2) }));
    if (end === 'callback_error') return { exchanges: out, code };
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code_verifier: verifier };
    out.push(tokenRequest({ at: T(s + 1.5), form, response: end === 'completed' ? tokenSuccess({ scope: 'openid profile' }) : oauthError('invalid_grant', 'Invalid authorization code') }));
    return { exchanges: out, code };
  }

  it('flags a login loop of five logins that did not complete (no callback, callback error, token failure)', () => {
    const ends = ['no_callback', 'callback_error', 'token_failure', 'token_failure', 'no_callback'] as const;
    const logins = ends.map((end, i) => login(i, 1 + i * 4, end));
    const all = logins.flatMap((l) => l.exchanges);
    const r = runRules(all);
    const last = all.indexOf(logins[4]!.exchanges[0]!);
    const f = only(r, last, 'retry.storm');
    expect(f.severity).toBe('error');
    expect(f.evidence).toMatchObject({ pattern: 'login_loop', attempts: 5 });
    expect(f.exchangeIds).toEqual(logins.map((l) => r.exchanges[all.indexOf(l.exchanges[0]!)]!.id));
    expectNoSecrets(r, [...SECRETS, ...logins.map((l) => l.code)]);
  });

  it('near miss: five quick logins that all completed with a 200 token exchange are no login loop', () => {
    const logins = [0, 1, 2, 3, 4].map((i) => login(i, 1 + i * 4, 'completed'));
    const all = logins.flatMap((l) => l.exchanges);
    const r = runRules(all);
    all.forEach((_, i) => none(r, i, 'retry.storm'));
    // One more login that is cut short is still no loop: only one login did not complete.
    const r2 = runRules([...all, ...login(5, 22, 'no_callback').exchanges]);
    none(r2, all.length, 'retry.storm');
  });

  it('reports Entra AADSTS50196 loop detection on the first sight', () => {
    const r = runRules([tokenRequest({ url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', form: ccForm, response: oauthError('invalid_request', 'AADSTS50196: The server terminated an operation because it encountered a client request loop.', 400, { error_codes: [50196] }) })]);
    expect(only(r, 0, 'retry.storm').evidence?.pattern).toBe('provider_loop_detected');
  });

  it('near miss: retries of a 503 with exponential backoff', () => {
    const attempt = (s: number) => tokenRequest({ at: T(s), form: ccForm, response: { status: 503, text: 'upstream unavailable' } });
    const r = runRules([attempt(1), attempt(2), attempt(4), attempt(8)]);
    for (let i = 0; i < 4; i++) none(r, i, 'retry.storm');
  });
});

describe('retry.masked_original_failure (R49)', () => {
  it('points at the timed-out first code exchange when the retry gets invalid_grant', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: codeForm, response: null, error: { code: 'timeout', message: 'upstream idp.example.com:443 did not answer in time' }, durationMs: 30_000 }),
      tokenRequest({ at: T(32), form: codeForm, response: oauthError('invalid_grant', 'Authorization code is invalid or expired.') }),
    ]);
    const f = only(r, 1, 'retry.masked_original_failure');
    expect(f.severity).toBe('error');
    expect(f.evidence?.cause).toBe('upstream_failure');
    expect(f.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[1]!.id]);
    expectNoSecrets(r, SECRETS);
  });

  it('recognises Go x/oauth2 auth-style probing (Basic 401, then body credentials)', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI }, basic: [CLIENT_ID, CLIENT_SECRET], response: oauthError('invalid_client', 'Client authentication failed', 401) }),
      tokenRequest({ at: T(1.1), form: codeForm, response: oauthError('invalid_grant', 'Code not valid') }),
    ]);
    expect(only(r, 1, 'retry.masked_original_failure').evidence?.cause).toBe('authstyle_probe');
  });

  it('points at a first attempt whose 200 the client abandoned', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: codeForm, error: { code: 'client_aborted', message: 'the client closed the connection' } }),
      tokenRequest({ at: T(2), form: codeForm, response: oauthError('invalid_grant', 'grant request is invalid') }),
    ]);
    const f = only(r, 1, 'retry.masked_original_failure');
    expect(f.evidence?.cause).toBe('client_abort');
    expect(f.detail).toMatch(/had already redeemed it/);
  });

  it('near miss: the first attempt was a plain client error', () => {
    const r = runRules([
      tokenRequest({ at: T(1), form: codeForm, response: oauthError('invalid_request', 'Missing code_verifier') }),
      tokenRequest({ at: T(2), form: codeForm, response: oauthError('invalid_grant', 'Code not valid') }),
    ]);
    none(r, 1, 'retry.masked_original_failure');
  });
});

describe('issue scenarios across the family', () => {
  it('500 with HTML: provider.unavailable is primary, response.non_json contributes', () => {
    const r = runRules([tokenRequest({ form: codeForm, response: { status: 500, html: '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>' } })]);
    expect(r.primary(0)?.code).toBe('provider.unavailable');
    expect(only(r, 0, 'response.non_json').primary).toBe(false);
  });

  it('429 with Retry-After followed by a retry storm', () => {
    const throttled = (s: number) => tokenRequest({ at: T(s), form: ccForm, response: { status: 429, headers: { 'Retry-After': '20' }, json: { error: 'too_many_requests' } } });
    const r = runRules([1, 2, 3, 4, 5].map(throttled));
    const storm = only(r, 4, 'retry.storm');
    expect(storm.evidence?.attempts).toBe(5);
    const limited = only(r, 4, 'rate_limit.throttled');
    expect(limited.title).toMatch(/Retry-After ignored/);
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: a gzip-compressed JSON token response is JSON', () => {
    const r = runRules([tokenRequest({ form: ccForm, response: { ...tokenSuccess(), gzip: true } })]);
    none(r, 0, 'response.non_json');
    none(r, 0, 'response.shape_invalid');
  });
});

describe('no false positives on a healthy session', () => {
  const MINE = new Set(['framing', 'responses', 'refresh', 'transport', 'secrets']);
  const myCodes = FINDING_CODES.filter((c) => MINE.has(CATALOGUE[c].family));

  it('discovery, code+PKCE, userinfo, refresh and client_credentials raise none of R37–R53, R66–R70', () => {
    const ISS = 'https://idp.example.com';
    const state = 'state-healthy-0123456789';
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const idToken = jwt({ iss: ISS, aud: CLIENT_ID, sub: 'user-1', nonce: 'n-healthy-1', iat: Math.floor(T(7) / 1000), exp: Math.floor(T(3607) / 1000) });
    const at1 = 'at-healthy-access-token-0123456789abcdef';
    const rt1 = 'rt-healthy-refresh-token-0123456789abcd';
    const rt2 = 'rt-healthy-refresh-token-rotated-98765';
    const r = runRules([
      discoveryRequest({}, { at: T(1) }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile offline_access', state, nonce: 'n-healthy-1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { at: T(2) }),
      authorizeRedirect({ code: CODE, state, iss: ISS }, { at: T(5) }),
      callbackRequest({ code: CODE, state }, { at: T(6) }),
      tokenRequest({ at: T(7), form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, code_verifier: verifier }, basic: [CLIENT_ID, CLIENT_SECRET], response: tokenSuccess({ access_token: at1, id_token: idToken, refresh_token: rt1, scope: 'openid profile offline_access' }) }),
      anyExchange({ at: T(8), method: 'GET', url: `${ISS}/userinfo`, bearer: at1, response: { status: 200, json: { sub: 'user-1' } } }),
      tokenRequest({ at: T(600), form: { grant_type: 'refresh_token', refresh_token: rt1 }, basic: [CLIENT_ID, CLIENT_SECRET], response: tokenSuccess({ refresh_token: rt2 }) }),
      tokenRequest({ at: T(601), form: { grant_type: 'client_credentials', scope: 'api.read' }, basic: ['svc-client', CLIENT_SECRET] }),
      anyExchange({ at: T(602), method: 'GET', url: `${ISS}/jwks`, response: { status: 200, json: { keys: [{ kty: 'RSA', kid: 'k1', use: 'sig', n: 'sXch', e: 'AQAB' }] } } }),
      anyExchange({ at: T(700), method: 'GET', url: `${APP_BASE}/home`, response: { status: 200, html: '<title>Home</title>' } }),
    ]);
    const mine = r.findings.flat().filter((f) => (myCodes as string[]).includes(f.code));
    expect(mine.map((f) => `${f.code}: ${f.title}`)).toEqual([]);
    expectNoSecrets(r, [...SECRETS, at1, rt1, rt2, verifier]);
  });
});

describe('on real traffic: oidc-provider behind the real proxy, curl as client', () => {
  let live: LiveIdp;
  useLiveIdp((started) => {
    live = started;
  }, 30_000);
  const machine = () => live.idp.clients.machine;
  const cc = () => ['-u', `${machine().clientId}:${machine().clientSecret}`, '-d', 'grant_type=client_credentials'];

  it('a provider answering 500 with HTML → provider.unavailable (primary) and response.non_json', async () => {
    live.idp.failNext({ status: 500 });
    expect(await live.curl(live.idp.endpoints.token, cc())).toBe(500);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(-1));
    expect(r.primary(0)?.code).toBe('provider.unavailable');
    only(r, 0, 'response.non_json');
    expectNoSecrets(r, [machine().clientSecret!]);
  });

  it('429 with Retry-After followed by a retry storm → rate_limit.throttled and retry.storm', async () => {
    live.idp.failNext({ status: 429, count: 5, retryAfterSeconds: 3 });
    const before = live.capturesOf(live.idp.endpoints.token).length;
    for (let i = 0; i < 5; i++) expect(await live.curl(live.idp.endpoints.token, cc())).toBe(429);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(before));
    expect(only(r, 4, 'retry.storm').evidence?.attempts).toBe(5);
    expect(only(r, 4, 'rate_limit.throttled').title).toMatch(/Retry-After ignored/);
    expectNoSecrets(r, [machine().clientSecret!]);
  });

  it('near miss: a real code+PKCE flow, refresh and userinfo raise none of these families\' findings', async () => {
    const conf = live.idp.clients.confidential;
    const { verifier, challenge } = pkcePair();
    const start = live.lens.captured.length;
    const { code } = await live.idp.authorizeAndGetCode({
      redirectUri: conf.redirectUris[0]!, codeChallenge: challenge, state: 'live-state-0123456789', nonce: 'live-nonce-0123456789',
      scope: 'openid offline_access', extraParams: { prompt: 'consent' }, proxy: { url: live.lens.proxy.url, caPem: live.lens.ca.certPem },
    });
    const basic = ['-u', `${conf.clientId}:${conf.clientSecret}`];
    expect(await live.curl(live.idp.endpoints.token, [...basic, '--data-urlencode', 'grant_type=authorization_code', '--data-urlencode', `code=${code}`,
      '--data-urlencode', `redirect_uri=${conf.redirectUris[0]}`, '--data-urlencode', `code_verifier=${verifier}`])).toBe(200);
    const r0 = runRules(live.lens.captured.slice(start));
    const tokenIdx = r0.exchanges.findIndex((e) => e.oauth.kind === 'token');
    const rt = live.lens.captured.slice(start)[tokenIdx]!.response!.body;
    const issued = JSON.parse((rt.decoded ?? rt.bytes).toString('utf8')) as { refresh_token?: string; access_token: string };
    expect(issued.refresh_token).toBeTruthy();
    expect(await live.curl(live.idp.endpoints.token, [...basic, '-d', 'grant_type=refresh_token', '--data-urlencode', `refresh_token=${issued.refresh_token}`])).toBe(200);
    expect(await live.curl(live.idp.endpoints.userinfo, ['-H', `Authorization: Bearer ${issued.access_token}`])).toBe(200);
    const r = runRules(live.lens.captured.slice(start));
    const families = new Set(['framing', 'responses', 'refresh', 'transport', 'secrets']);
    const mine = r.findings.flat().filter((f) => families.has(CATALOGUE[f.code as keyof typeof CATALOGUE]?.family));
    expect(mine.map((f) => `${f.code}: ${f.title}`)).toEqual([]);
    expect(r.exchanges.map((e) => e.oauth.kind)).toEqual(expect.arrayContaining(['authorize', 'authorize_response', 'token']));
    expectNoSecrets(r, [code, verifier, issued.refresh_token!, issued.access_token, conf.clientSecret!]);
  });

  it('near miss: the same client_credentials request answered normally', async () => {
    expect(await live.curl(live.idp.endpoints.token, cc())).toBe(200);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(-1));
    const mine = r.of(0).filter((f) => /^(response|provider|rate_limit|retry)\./.test(f.code));
    expect(mine.map((f) => f.code)).toEqual([]);
  });
});


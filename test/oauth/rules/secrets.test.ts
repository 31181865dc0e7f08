/** §1.16 secret hygiene (R70 secret.in_url). */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, TOKEN_URL, authorizeRedirect, authorizeRequest, callbackRequest, encodeForm, exchange, runRules, tokenRequest,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const STATE = 'af0ifjsldkj-state-value-1';
const ACCESS_TOKEN = 'ya29.a0AfB_byC-example-google-access-token-0123456789';
const SLACK_TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';
const SECRETS = [CLIENT_SECRET, CODE, ACCESS_TOKEN, SLACK_TOKEN];

describe('secret.in_url (R70)', () => {
  it('flags client_secret in the query of a token request, showing only the redaction marker', () => {
    const url = `${TOKEN_URL}?${encodeForm({ client_secret: CLIENT_SECRET })}`;
    const r = runRules([tokenRequest({ url, form: { grant_type: 'client_credentials', client_id: CLIENT_ID } })]);
    const f = only(r, 0, 'secret.in_url');
    expect(f.severity).toBe('error');
    expect(f.title).toBe('client_secret in the request URL query');
    const [secret] = f.evidence?.secrets as Array<{ place: string; name: string; value: string }>;
    expect(secret).toMatchObject({ place: 'request.query', name: 'client_secret' });
    expect(secret!.value).toMatch(/^\[REDACTED client_secret len=37 fp=[0-9a-f]{12}/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags an access_token in the query of an API call', () => {
    const r = runRules([exchange({ method: 'GET', url: `https://www.googleapis.com/drive/v3/files?access_token=${ACCESS_TOKEN}`, response: { status: 200, json: { files: [] } } })]);
    const f = only(r, 0, 'secret.in_url');
    expect(f.detail).toMatch(/RFC 6750/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags the callback URL with its code leaking to a third party through Referer', () => {
    const r = runRules([exchange({
      method: 'GET', url: 'https://cdn.analytics-vendor.example/collect.js',
      headers: { Referer: `${REDIRECT_URI}?${encodeForm({ code: CODE, state: STATE })}` },
      response: { status: 200, text: '/* js */', contentType: 'application/javascript' },
    })]);
    const f = only(r, 0, 'secret.in_url');
    expect(f.detail).toMatch(/sent as Referer to cdn\.analytics-vendor\.example/);
    expectNoSecrets(r, SECRETS);
  });

  it('downgrades Slack\'s legacy token= argument to a warning', () => {
    const r = runRules([exchange({ method: 'GET', url: `https://slack.com/api/oauth.v2.access?${encodeForm({ token: SLACK_TOKEN })}`, response: { status: 200, json: { ok: false, error: 'invalid_code' } } })]);
    expect(only(r, 0, 'secret.in_url').severity).toBe('warning');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: code and state in the authorization response and the callback are by design', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE, nonce: 'n-0S6_WzA2Mj-nonce', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }),
      authorizeRedirect({ code: CODE, state: STATE, iss: 'https://idp.example.com' }),
      callbackRequest({ code: CODE, state: STATE }),
    ]);
    for (let i = 0; i < 3; i++) none(r, i, 'secret.in_url');
    expectNoSecrets(r, SECRETS);
  });

  it('downgrades the implicit flow\'s access_token in the redirect fragment to a warning, and exempts a hybrid id_token', () => {
    const r = runRules([
      authorizeRedirect({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: '3600', state: STATE }, { mode: 'fragment' }),
      authorizeRedirect({ code: CODE, id_token: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSJ9.c2lnbmF0dXJl', state: STATE }, { mode: 'fragment' }),
    ]);
    const f = only(r, 0, 'secret.in_url');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/implicit flow/);
    none(r, 1, 'secret.in_url');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: a Referer carrying the callback code to the app itself', () => {
    const r = runRules([exchange({
      method: 'GET', url: 'https://app.example.com/static/app.js',
      headers: { Referer: `${REDIRECT_URI}?${encodeForm({ code: CODE, state: STATE })}` },
      response: { status: 200, text: '/* js */', contentType: 'application/javascript' },
    })]);
    none(r, 0, 'secret.in_url');
  });

  it('near miss: OAuth 1.0a request token in the authorize redirect', () => {
    const r = runRules([exchange({ method: 'GET', url: 'https://api.twitter.com/oauth/authorize?oauth_token=NPcudxy0yU5T3tBzho7iCotZ3cnetKwcTIRlX0iwRl0', response: { status: 200, html: '<title>Authorize app</title>' } })]);
    none(r, 0, 'secret.in_url');
  });
});

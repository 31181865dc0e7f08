/** §1.8 request framing (R37–R42): each rule with a realistic positive case and a near-miss negative. */
import { describe, expect, it } from 'vitest';
import { useLiveIdp, type LiveIdp } from './families-live.js';
import {
  CLIENT_ID, CLIENT_SECRET, IDP, REDIRECT_URI, T, TOKEN_URL, discoveryRequest, encodeForm, exchange, oauthError, runRules, tokenRequest,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const codeForm = { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET };
const SECRETS = [CLIENT_SECRET, CODE, VERIFIER];

describe('request.wrong_content_type (R37)', () => {
  it('flags a JSON token request that node-oidc-provider rejects', () => {
    const r = runRules([tokenRequest({
      json: codeForm,
      response: oauthError('invalid_request', 'only application/x-www-form-urlencoded content-type bodies are supported on POST /token'),
    })]);
    const f = only(r, 0, 'request.wrong_content_type');
    expect(f.severity).toBe('error');
    expect(f.title).toMatch(/JSON body/);
    expect(f.detail).toMatch(/x-www-form-urlencoded/);
    expect(f.evidence?.keys).toEqual(expect.arrayContaining(['grant_type', 'client_secret']));
    expectNoSecrets(r, SECRETS);
  });

  it('downgrades to a warning when the AS (Auth0) accepted the JSON body', () => {
    const r = runRules([tokenRequest({
      url: 'https://tenant.eu.auth0.com/oauth/token',
      json: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, audience: 'https://api.example.com' },
    })]);
    const f = only(r, 0, 'request.wrong_content_type');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/Auth0 accepts JSON/);
    expectNoSecrets(r, SECRETS);
  });

  it('flags a form body without Content-Type (Cognito 405)', () => {
    const r = runRules([tokenRequest({
      url: 'https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/token',
      body: encodeForm(codeForm), contentType: null,
      response: { status: 405, json: { error: 'invalid_request' } },
    })]);
    const f = only(r, 0, 'request.wrong_content_type');
    expect(f.evidence?.problem).toBe('missing');
    expect(f.detail).toMatch(/Cognito answers 405/);
  });

  it('flags a chunked body refused with 411 Length Required', () => {
    const r = runRules([tokenRequest({ body: encodeForm(codeForm), contentType: 'application/x-www-form-urlencoded', headers: { 'Transfer-Encoding': 'chunked', 'Content-Length': '' }, response: { status: 411, html: '<html><head><title>411 Length Required</title></head></html>' } })]);
    const f = only(r, 0, 'request.wrong_content_type');
    expect(f.evidence?.problem).toBe('length_required');
    expect(f.fix).toMatch(/Content-Length/);
  });

  it('near miss: the same parameters form-encoded are fine', () => {
    const r = runRules([tokenRequest({ form: codeForm })]);
    none(r, 0, 'request.wrong_content_type');
  });
});

describe('request.params_in_query (R38)', () => {
  it('flags client credentials sent in the URL of an empty POST', () => {
    const url = `${TOKEN_URL}?${encodeForm({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })}`;
    const r = runRules([tokenRequest({ url, response: oauthError('unsupported_grant_type', 'Grant type is missing') })]);
    const f = only(r, 0, 'request.params_in_query');
    expect(f.severity).toBe('error');
    expect(f.evidence?.query_params).toEqual(['grant_type', 'client_secret']);
    expect(f.detail).toMatch(/POST body was empty/);
    expectNoSecrets(r, SECRETS);
  });

  it('is only a warning for Facebook\'s documented GET exchange', () => {
    const url = `https://graph.facebook.com/v19.0/oauth/access_token?${encodeForm({ client_id: '1234567890', redirect_uri: REDIRECT_URI, client_secret: CLIENT_SECRET, code: CODE })}`;
    const r = runRules([exchange({ method: 'GET', url, response: { status: 200, json: { access_token: 'EAAGm0PX4ZCpsBAKZCZD0123456789abcdefABCDEF', token_type: 'bearer', expires_in: 5183944 } } })]);
    expect(r.exchanges[0]!.oauth.kind).toBe('token');
    const f = only(r, 0, 'request.params_in_query');
    expect(f.severity).toBe('warning');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: parameters in the body and an unrelated query parameter', () => {
    const r = runRules([tokenRequest({ url: `${TOKEN_URL}?api-version=2`, form: codeForm })]);
    none(r, 0, 'request.params_in_query');
  });
});

describe('request.param_hygiene (R39)', () => {
  it('flags a redirect_uri sent twice with different values', () => {
    const r = runRules([tokenRequest({
      form: [['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI], ['redirect_uri', `${REDIRECT_URI}/`], ['client_id', CLIENT_ID]],
      basic: [CLIENT_ID, CLIENT_SECRET],
      response: oauthError('invalid_request', 'redirect_uri repeated'),
    })]);
    const f = only(r, 0, 'request.param_hygiene');
    expect(f.severity).toBe('error');
    expect(f.title).toMatch(/"redirect_uri" sent 2 times with different values/);
    expectNoSecrets(r, SECRETS);
  });

  it('warns about an empty code_verifier', () => {
    const r = runRules([tokenRequest({ form: { ...codeForm, code_verifier: '' } })]);
    const f = only(r, 0, 'request.param_hygiene');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.problems).toEqual([{ kind: 'empty', name: 'code_verifier' }]);
  });

  it('flags near-miss names (redirect_url, code_verifer)', () => {
    const r = runRules([tokenRequest({
      form: { grant_type: 'authorization_code', code: CODE, redirect_url: REDIRECT_URI, code_verifer: VERIFIER, client_id: CLIENT_ID },
      response: oauthError('invalid_grant', 'PKCE verification failed'),
    })]);
    const f = only(r, 0, 'request.param_hygiene');
    expect(f.severity).toBe('error');
    expect(f.detail).toContain('"redirect_url" looks like a misspelling of "redirect_uri"');
    expect(f.detail).toContain('"code_verifer" looks like a misspelling of "code_verifier"');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: a clean request with extension parameters (audience, resource)', () => {
    const r = runRules([tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, audience: 'https://api.example.com', resource: 'https://api.example.com/' } })]);
    none(r, 0, 'request.param_hygiene');
  });
});

describe('request.redirected (R40)', () => {
  const original = (status: number, location: string) => tokenRequest({
    at: T(1), url: `${IDP}/o/token`, form: codeForm,
    response: { status, statusText: 'Moved', headers: { Location: location } },
  });

  it('flags a 301 to the trailing-slash URL whose follow-up became a GET without body', () => {
    const r = runRules([
      original(301, `${IDP}/o/token/`),
      exchange({ at: T(1.2), method: 'GET', url: `${IDP}/o/token/`, response: { status: 405, html: '<html><head><title>405 Method Not Allowed</title></head></html>' } }),
    ]);
    const first = only(r, 0, 'request.redirected');
    expect(first.severity).toBe('error');
    expect(first.detail).toMatch(/method POST→GET, body dropped/);
    expect(first.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[1]!.id]);
    const second = only(r, 1, 'request.redirected');
    expect(second.title).toMatch(/lost method POST→GET/);
    expectNoSecrets(r, SECRETS);
  });

  it('reports a redirect the client never followed', () => {
    const r = runRules([original(302, 'https://www.idp.example.com/o/token')]);
    const f = only(r, 0, 'request.redirected');
    expect(f.confidence).toBe('medium');
    expect(f.detail).toMatch(/No follow-up request/);
  });

  it('near miss: a 308 followed with the same method, body and credentials', () => {
    const r = runRules([
      original(308, `${IDP}/o/token/`),
      tokenRequest({ at: T(1.2), url: `${IDP}/o/token/`, form: codeForm }),
    ]);
    none(r, 0, 'request.redirected');
    none(r, 1, 'request.redirected');
  });
});

describe('transport.plain_http (R41)', () => {
  it('flags a token request over http to a non-loopback host and names the exposed secrets', () => {
    const r = runRules([tokenRequest({ url: 'http://idp.example.com/oauth/token', form: codeForm })]);
    const f = only(r, 0, 'transport.plain_http');
    expect(f.severity).toBe('error');
    expect(f.evidence?.exposed).toEqual(expect.arrayContaining(['client_secret', 'code']));
    expect(r.primary(0)?.code).toBe('transport.plain_http');
    expectNoSecrets(r, SECRETS);
  });

  it('flags a discovery document advertising an http token endpoint', () => {
    const r = runRules([discoveryRequest({ token_endpoint: 'http://idp.example.com/oauth/token' })]);
    const f = only(r, 0, 'transport.plain_http');
    expect(f.title).toMatch(/tokenEndpoint/);
  });

  it('near miss: Azure IMDS is link-local http by design', () => {
    const r = runRules([exchange({ method: 'GET', url: 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F', headers: { Metadata: 'true' }, response: { status: 200, json: { access_token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJtZ210In0.c2ln', expires_in: '86399', token_type: 'Bearer' } } })]);
    none(r, 0, 'transport.plain_http');
    none(r, 0, 'request.params_in_query');
  });

  it('near miss: http to a loopback AS is fine', () => {
    const r = runRules([tokenRequest({ url: 'http://127.0.0.1:8080/oauth/token', form: codeForm })]);
    none(r, 0, 'transport.plain_http');
  });
});

describe('endpoint.not_found_or_method (R42)', () => {
  it('explains a Keycloak 404 on the old /auth context path', () => {
    const r = runRules([tokenRequest({
      url: 'https://sso.example.com/auth/realms/demo/protocol/openid-connect/token', form: codeForm,
      response: { status: 404, html: '<html><head><title>404 Not Found</title></head><body>Resource not found</body></html>' },
    })]);
    const f = only(r, 0, 'endpoint.not_found_or_method');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/Keycloak 17\+ removed \/auth/);
    expectNoSecrets(r, SECRETS);
  });

  it('explains Entra AADSTS90056 (GET on the token endpoint)', () => {
    const r = runRules([exchange({
      method: 'GET', url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      response: oauthError('invalid_request', 'AADSTS90056: This endpoint only accepts POST, OPTIONS requests. Received a GET request.', 400,
        { error_codes: [90056], trace_id: '0a1b2c3d-1111-2222-3333-444455556666', correlation_id: 'f0e1d2c3-aaaa-bbbb-cccc-ddddeeeeffff' }),
    })]);
    const f = only(r, 0, 'endpoint.not_found_or_method');
    expect(f.detail).toMatch(/send a POST request/);
    expect(JSON.stringify(f.evidence)).toContain('0a1b2c3d-1111-2222-3333-444455556666');
  });

  it('hints at the Okta custom authorization server path and the Entra v1 endpoint', () => {
    const r = runRules([
      tokenRequest({ url: 'https://dev-123456.okta.com/oauth2/v1/tokens', form: codeForm, response: { status: 404, json: { errorCode: 'E0000022', errorSummary: 'The endpoint does not support the provided HTTP method' } } }),
      tokenRequest({ url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token', form: codeForm, response: { status: 404, html: '<html><head><title>404</title></head></html>' } }),
    ]);
    expect(only(r, 0, 'endpoint.not_found_or_method').detail).toMatch(/\/oauth2\/\{authServerId\}\/v1/);
    expect(only(r, 1, 'endpoint.not_found_or_method').detail).toMatch(/v1 endpoint/);
  });

  it('explains a discovery URL built the wrong way', () => {
    const r = runRules([exchange({ method: 'GET', url: 'https://idp.example.com/.well-known/openid-configuration/tenant-a', response: { status: 404, json: { error: 'not_found' } } })]);
    expect(only(r, 0, 'endpoint.not_found_or_method').detail).toMatch(/RFC 8414 inserts/);
  });

  it('maps Slack oauth_authorization_url_mismatch (HTTP 200) to the wrong endpoint version', () => {
    const r = runRules([tokenRequest({ url: 'https://slack.com/api/oauth.access', form: { code: CODE, redirect_uri: REDIRECT_URI }, basic: ['1234567890.0987654321', CLIENT_SECRET], response: { status: 200, json: { ok: false, error: 'oauth_authorization_url_mismatch' } } })]);
    expect(only(r, 0, 'endpoint.not_found_or_method').detail).toMatch(/oauth\.v2\.access/);
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: a 400 invalid_grant from the right endpoint', () => {
    const r = runRules([tokenRequest({ url: 'https://sso.example.com/realms/demo/protocol/openid-connect/token', form: codeForm, response: oauthError('invalid_grant', 'Code not valid') })]);
    none(r, 0, 'endpoint.not_found_or_method');
  });
});

describe('on real traffic: oidc-provider behind the real proxy, curl as client', () => {
  let live: LiveIdp;
  useLiveIdp((started) => {
    live = started;
  }, 30_000);

  it('a JSON token request → request.wrong_content_type with the provider\'s rejection', async () => {
    const m = live.idp.clients.machine;
    const status = await live.curl(live.idp.endpoints.token, ['-H', 'Content-Type: application/json',
      '--data', JSON.stringify({ grant_type: 'client_credentials', client_id: m.clientId, client_secret: m.clientSecret })]);
    expect(status).toBeGreaterThanOrEqual(400);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(-1));
    const f = only(r, 0, 'request.wrong_content_type');
    expect(f.severity).toBe('error');
    expect(f.evidence?.keys).toEqual(['grant_type', 'client_id', 'client_secret']);
    expectNoSecrets(r, [m.clientSecret!]);
  });

  it('client_secret in the query string → request.params_in_query and secret.in_url', async () => {
    const m = live.idp.clients.machine;
    const url = `${live.idp.endpoints.token}?${encodeForm({ grant_type: 'client_credentials', client_id: m.clientId, client_secret: m.clientSecret! })}`;
    await live.curl(url, ['-X', 'POST']);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(-1));
    only(r, 0, 'request.params_in_query');
    only(r, 0, 'secret.in_url');
    expectNoSecrets(r, [m.clientSecret!]);
  });

  it('near miss: the same request form-encoded in the body succeeds without framing findings', async () => {
    const m = live.idp.clients.machine;
    expect(await live.curl(live.idp.endpoints.token, ['-u', `${m.clientId}:${m.clientSecret}`, '-d', 'grant_type=client_credentials'])).toBe(200);
    const r = runRules(live.capturesOf(live.idp.endpoints.token).slice(-1));
    expect(r.of(0).filter((f) => /^(request|transport|endpoint)\./.test(f.code)).map((f) => f.code)).toEqual([]);
  });
});


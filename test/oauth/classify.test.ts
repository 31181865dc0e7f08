import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import {
  APP, CLIENT_ID, CLIENT_SECRET, IDP, REDIRECT_URI, authorizeRedirect, authorizeRequest, callbackRequest, discoveryRequest,
  exchange, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../support/exchanges.js';

const kinds = (list: Parameters<typeof runRules>[0], config?: unknown) => runRules(list, config).exchanges.map((e) => e.oauth.kind);

describe('classify: known provider endpoints (§2.1)', () => {
  it.each([
    ['https://oauth2.googleapis.com/token', 'token', 'google'],
    ['https://accounts.google.com/o/oauth2/v2/auth?client_id=x', 'authorize', 'google'],
    ['https://github.com/login/oauth/access_token', 'token', 'github'],
    ['https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token', 'token', 'entra'],
    ['https://login.microsoftonline.com/common/oauth2/v2.0/authorize', 'authorize', 'entra'],
    ['https://dev-123.us.auth0.com/oauth/token', 'token', 'auth0'],
    ['https://acme.okta.com/oauth2/default/v1/token', 'token', 'okta'],
    ['https://acme.okta.com/oauth2/v1/introspect', 'introspection', 'okta'],
    ['https://kc.example.com/realms/demo/protocol/openid-connect/token', 'token', 'keycloak'],
    ['https://kc.example.com/auth/realms/demo/protocol/openid-connect/certs', 'jwks', 'keycloak'],
    ['https://shop.auth.eu-west-1.amazoncognito.com/oauth2/token', 'token', 'cognito'],
    ['https://slack.com/api/oauth.v2.access', 'token', 'slack'],
    ['https://graph.facebook.com/v19.0/oauth/access_token', 'token', 'facebook'],
    ['https://appleid.apple.com/auth/token', 'token', 'apple'],
    ['https://test.salesforce.com/services/oauth2/token', 'token', 'salesforce'],
  ])('%s → %s (%s)', (url, kind, provider) => {
    const r = runRules([exchange({ method: 'POST', url, body: 'x=1', contentType: 'text/plain', response: { status: 200, text: 'ok' } })]);
    expect(r.exchanges[0]?.oauth.kind).toBe(kind);
    expect(r.exchanges[0]?.oauth.provider).toBe(provider);
  });

  it('Entra issuer carries the tenant; Keycloak issuer carries the realm', () => {
    const r = runRules([
      tokenRequest({ url: 'https://login.microsoftonline.com/contoso/oauth2/v2.0/token', form: { grant_type: 'client_credentials' } }),
    ]);
    expect(r.exchanges[0]?.oauth.provider).toBe('entra');
  });
});

describe('classify: shapes and learned endpoints', () => {
  it('authorize, authorization response (302, callback), token by heuristic', () => {
    expect(kinds([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, state: 's-123456789' }),
      authorizeRedirect({ code: 'code-123456789', state: 's-123456789' }),
      callbackRequest({ code: 'code-123456789', state: 's-123456789' }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: 'code-123456789', redirect_uri: REDIRECT_URI }, basic: [CLIENT_ID, CLIENT_SECRET] }),
    ])).toEqual(['authorize', 'authorize_response', 'authorize_response', 'token']);
  });

  it('form_post authorization response page', () => {
    expect(kinds([authorizeRedirect({ code: 'code-123456789', state: 's-1' }, { mode: 'form_post' })])).toEqual(['authorize_response']);
  });

  it('discovery document teaches endpoints that match no pattern', () => {
    const custom = 'https://sso.corp.example/x/issue';
    const r = runRules([
      discoveryRequest({ issuer: 'https://sso.corp.example', token_endpoint: custom, userinfo_endpoint: 'https://sso.corp.example/x/me' }),
      exchange({ method: 'POST', url: custom, form: { foo: 'bar' }, response: { status: 200, text: 'ok' } }),
      exchange({ method: 'GET', url: 'https://sso.corp.example/x/me', response: { status: 200, json: { sub: 'x' } } }),
    ]);
    expect(r.exchanges.map((e) => e.oauth.kind)).toEqual(['discovery', 'token', 'userinfo']);
  });

  it('configured tokenEndpoints are token endpoints', () => {
    const url = 'https://internal.example/mint';
    expect(kinds([exchange({ method: 'POST', url, form: { a: 'b' }, response: { status: 200, text: 'ok' } })], { tokenEndpoints: [url] })).toEqual(['token']);
    expect(kinds([exchange({ method: 'POST', url, form: { a: 'b' }, response: { status: 200, text: 'ok' } })])).toEqual(['other']);
    // An explicit default port is the same endpoint; another path is not.
    expect(kinds([exchange({ method: 'POST', url: 'https://internal.example:443/mint', form: { a: 'b' }, response: { status: 200, text: 'ok' } })], { tokenEndpoints: [url] })).toEqual(['token']);
    expect(kinds([exchange({ method: 'POST', url: `${url}/`, form: { a: 'b' }, response: { status: 200, text: 'ok' } })], { tokenEndpoints: [url] })).toEqual(['other']);
  });

  it('jwks, introspection, revocation, device authorization, PAR by response shape', () => {
    expect(kinds([
      exchange({ url: `${IDP}/keys`, response: { status: 200, json: { keys: [{ kty: 'RSA', kid: 'k1', n: 'abc', e: 'AQAB' }] } } }),
      exchange({ method: 'POST', url: `${IDP}/check`, form: { token: 'tok-123456789' }, basic: [CLIENT_ID, CLIENT_SECRET], response: { status: 200, json: { active: false } } }),
      exchange({ method: 'POST', url: `${IDP}/oauth/revoke`, form: { token: 'tok-123456789' }, basic: [CLIENT_ID, CLIENT_SECRET], response: { status: 200, text: '' } }),
      exchange({ method: 'POST', url: `${IDP}/dev`, form: { client_id: CLIENT_ID }, response: { status: 200, json: { device_code: 'd-1', user_code: 'ABCD', verification_uri: `${IDP}/device` } } }),
      exchange({ method: 'POST', url: `${IDP}/par`, form: { client_id: CLIENT_ID, response_type: 'code' }, response: { status: 201, json: { request_uri: 'urn:x', expires_in: 60 } } }),
    ])).toEqual(['jwks', 'introspection', 'revocation', 'device_authorization', 'par']);
  });
});

describe('classify: §3.1 heuristic and false-positive guards', () => {
  it('an unknown endpoint with grant_type + client auth + token response is a token request', () => {
    const r = runRules([tokenRequest({ url: 'https://auth.unknown.example/issue', form: { grant_type: 'client_credentials', client_secret: CLIENT_SECRET } })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('token');
  });

  it('a JSON-bodied token request is still recognised (feeds R37)', () => {
    const r = runRules([tokenRequest({ json: { grant_type: 'authorization_code', code: 'c-123456789', client_id: CLIENT_ID }, response: oauthError('unsupported_grant_type') })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('token');
  });

  it('a session/API-key mint with `token` and no token_type is not OAuth', () => {
    const r = runRules([exchange({ method: 'POST', url: 'https://app.example.com/api/session', json: { username: 'a', password: 'b' }, response: { status: 200, json: { token: 'abc' } } })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('other');
  });

  it('GraphQL with grant-looking fields is not a token request', () => {
    const r = runRules([exchange({ method: 'POST', url: 'https://api.example.com/graphql', json: { query: '{ x }', operationName: 'X', grant_type: 'password' }, response: { status: 200, json: { data: { access_token: 'x', token_type: 'y' } } } })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('other');
  });

  it('OAuth 1.0a is excluded', () => {
    const r = runRules([exchange({ method: 'POST', url: 'https://api.twitter.example/oauth/access_token', headers: { Authorization: 'OAuth oauth_consumer_key="x", oauth_signature="y"' }, form: { grant_type: 'authorization_code' }, response: tokenSuccess() })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('other');
  });

  it('AWS STS query API is not OAuth', () => {
    const r = runRules([exchange({ method: 'POST', url: 'https://sts.amazonaws.com/?Action=AssumeRoleWithWebIdentity', form: { Action: 'AssumeRoleWithWebIdentity', WebIdentityToken: 'x' }, response: { status: 200, text: '<xml/>' } })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('other');
  });

  it('a plain page is other', () => {
    expect(kinds([exchange({ url: `${APP}/`, response: { status: 200, html: '<title>Home</title>' } })])).toEqual(['other']);
  });
});

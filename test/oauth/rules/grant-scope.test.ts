/**
 * grant_type and scope rules (R22–R27, grant_type.params_mismatch) through the real engine, with
 * provider-shaped answers (Entra B2C, Keycloak, Cognito, GitHub, Slack, Auth0, Google) and near misses.
 */
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, authorizeRedirect, authorizeRequest, discoveryRequest, oauthError,
  runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { expectNoSecret, findingOf } from './no-secret.js';

const CODE = 'SplxlOBeZQQYbYS6WxSbIA-7f3b2c9d1e';
const RT = 'rt-8xLOxBtZp8-Q2bC4dE6fG8hI0jK2lM4nO6pQ8rS';
const STATE = 'af0ifjsldkj-Xy7Q2b';
const SECRETS = [CODE, RT, CLIENT_SECRET, STATE];
const ENTRA = 'https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/oauth2/v2.0';
const KC = 'https://sso.example.com/realms/shop/protocol/openid-connect';

describe('grant_type.invalid (R22)', () => {
  it('spots grant_type with a trailing CR/LF as Entra B2C echoes it', () => {
    const r = runRules([tokenRequest({
      url: 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token',
      form: { grant_type: 'authorization_code\r\n', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      response: oauthError('unsupported_grant_type', 'AADB2C90086: The supplied grant_type [authorization_code\r\n] is not supported.\r\nCorrelation ID: 1c2d3e4f-aaaa-bbbb-cccc-0123456789ab\r\nTimestamp: 2026-01-15 09:00:01Z'),
    })]);
    const f = findingOf(r.of(0), 'grant_type.invalid');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.meant).toBe('authorization_code');
    expect(f.detail).toMatch(/CR\/LF/);
    expectNoSecret(r.of(0), SECRETS);
  });

  it('spots camel-case and hyphenated spellings, and a device grant without its URN', () => {
    const r = runRules([
      tokenRequest({ form: { grant_type: 'clientCredentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: oauthError('unsupported_grant_type') }),
      tokenRequest({ form: { grant_type: 'refresh-token', refresh_token: RT, client_id: CLIENT_ID } }),
      tokenRequest({ form: { grant_type: 'device_code', device_code: 'GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS', client_id: CLIENT_ID } }),
    ]);
    expect(findingOf(r.of(0), 'grant_type.invalid').evidence?.meant).toBe('client_credentials');
    expect(findingOf(r.of(1), 'grant_type.invalid').evidence?.meant).toBe('refresh_token');
    expect(findingOf(r.of(2), 'grant_type.invalid').evidence?.meant).toBe('urn:ietf:params:oauth:grant-type:device_code');
    expectNoSecret(r.findings.flat(), SECRETS);
  });

  it('flags a missing grant_type (Keycloak "Missing form parameter: grant_type")', () => {
    const r = runRules([tokenRequest({
      url: `${KC}/token`,
      form: { code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      response: oauthError('invalid_request', 'Missing form parameter: grant_type'),
    })]);
    const f = findingOf(r.of(0), 'grant_type.invalid');
    expect(f.title).toMatch(/without grant_type/);
  });

  it('flags an empty grant_type', () => {
    const r = runRules([tokenRequest({ form: { grant_type: '', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: oauthError('invalid_request', 'Missing grant type') })]);
    expect(findingOf(r.of(0), 'grant_type.invalid').title).toMatch(/empty grant_type/);
  });

  it('routes the AS refusing a well-formed grant (discovery lists others)', () => {
    const r = runRules([
      discoveryRequest({ grant_types_supported: ['authorization_code', 'refresh_token'] }),
      tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: oauthError('unsupported_grant_type', 'Unsupported grant_type') }),
    ]);
    const f = findingOf(r.of(1), 'grant_type.invalid');
    expect(f.detail).toMatch(/advertises only: authorization_code, refresh_token/);
  });

  it('near misses: exact grant, GitHub without grant_type, an extension grant URI', () => {
    const r = runRules([
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
      tokenRequest({ url: 'https://github.com/login/oauth/access_token', form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: CODE }, response: { status: 200, form: { access_token: 'gho_16C7e42F292c6912E7710c838347Ae178B4a', scope: 'read:user', token_type: 'bearer' } } }),
      tokenRequest({ url: 'https://tenant.eu.auth0.com/oauth/token', form: { grant_type: 'http://auth0.com/oauth/grant-type/passwordless/otp', client_id: CLIENT_ID, username: 'a@example.com', otp: '123456', realm: 'email' } }),
    ]);
    expect(r.codes.flat()).not.toContain('grant_type.invalid');
  });
});

describe('grant_type.not_allowed_for_client (R23)', () => {
  it('reports Cognito unauthorized_client with the console hint', () => {
    const r = runRules([tokenRequest({
      url: 'https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/token',
      basic: [CLIENT_ID, CLIENT_SECRET],
      form: { grant_type: 'client_credentials', scope: 'orders/read' },
      response: oauthError('unauthorized_client'),
    })]);
    const f = findingOf(r.of(0), 'grant_type.not_allowed_for_client');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.detail).toMatch(/Cognito: enable the OAuth flow/);
    expectNoSecret(r.of(0), SECRETS);
  });

  it('reports GitHub device_flow_disabled', () => {
    const r = runRules([tokenRequest({
      url: 'https://github.com/login/oauth/access_token',
      form: { client_id: 'Iv1.8a61f9b3a7aba766', device_code: '3584d83530557fdd1f46af8289938c8ef79f9dc5', grant_type: 'urn:ietf:params:oauth:grant-type:device_code' },
      response: { status: 200, json: { error: 'device_flow_disabled', error_description: 'Device Flow must be explicitly enabled for this App', error_uri: 'https://docs.github.com' } },
    })]);
    expect(findingOf(r.of(0), 'grant_type.not_allowed_for_client').detail).toMatch(/Device Flow/);
  });

  it('uses the config: a SPA client may not use client_credentials', () => {
    const config = { clients: [{ name: 'spa', clientId: CLIENT_ID, type: 'spa' }] };
    const r = runRules([tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET } })], config);
    const f = findingOf(r.of(0), 'grant_type.not_allowed_for_client');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.configClient).toBe('spa');
  });

  it('gives Keycloak unauthorized_client for bad credentials only medium confidence', () => {
    const r = runRules([tokenRequest({ url: `${KC}/token`, form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'wrong' }, response: { status: 401, json: { error: 'unauthorized_client', error_description: 'Invalid client or Invalid client credentials' } } })]);
    const f = findingOf(r.of(0), 'grant_type.not_allowed_for_client');
    expect(f.confidence).toBe('medium');
    expect(f.detail).toMatch(/client\.authentication_failed/);
  });

  it('near miss: the same client_credentials request accepted, no config', () => {
    const r = runRules([tokenRequest({ url: 'https://myapp.auth.eu-west-1.amazoncognito.com/oauth2/token', basic: [CLIENT_ID, CLIENT_SECRET], form: { grant_type: 'client_credentials', scope: 'orders/read' } })]);
    expect(r.codes.flat()).not.toContain('grant_type.not_allowed_for_client');
  });
});

describe('grant_type.deprecated_flow (R24)', () => {
  it('warns on the password grant and on an implicit authorize request', () => {
    const r = runRules([
      tokenRequest({ url: 'https://tenant.eu.auth0.com/oauth/token', form: { grant_type: 'password', username: 'alice@example.com', password: 'Tr0ub4dor&3', client_id: CLIENT_ID, scope: 'openid' } }),
      authorizeRequest({ response_type: 'id_token token', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', nonce: 'n-0S6_WzA2Mj', state: STATE }),
    ]);
    const pw = findingOf(r.of(0), 'grant_type.deprecated_flow');
    expect(pw.severity).toBe('warning');
    expect(pw.title).toMatch(/password/);
    expect(findingOf(r.of(1), 'grant_type.deprecated_flow').title).toMatch(/Implicit/);
    expectNoSecret(r.findings.flat(), [...SECRETS, 'Tr0ub4dor&3']);
  });

  it('escalates the password grant to error when the AS has it disabled', () => {
    const r = runRules([tokenRequest({ url: `${KC}/token`, form: { grant_type: 'password', username: 'alice', password: 'Tr0ub4dor&3', client_id: CLIENT_ID }, response: oauthError('unauthorized_client', 'Client not allowed for direct access grants') })]);
    expect(findingOf(r.of(0), 'grant_type.deprecated_flow').severity).toBe('error');
    expectNoSecret(r.of(0), ['Tr0ub4dor&3']);
  });

  it('near miss: hybrid code id_token returns no access token in the front channel', () => {
    const r = runRules([authorizeRequest({ response_type: 'code id_token', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', nonce: 'n-0S6_WzA2Mj', state: STATE })]);
    expect(r.codes.flat()).not.toContain('grant_type.deprecated_flow');
  });
});

describe('grant_type.params_mismatch', () => {
  it('flags client_credentials with a code, authorization_code without one, refresh_token without refresh_token', () => {
    const r = runRules([
      tokenRequest({ form: { grant_type: 'client_credentials', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
      tokenRequest({ form: { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: oauthError('invalid_request', 'Missing parameter: code') }),
      tokenRequest({ form: { grant_type: 'refresh_token', refreshToken: RT, client_id: CLIENT_ID }, response: oauthError('invalid_request', 'Missing parameter: refresh_token') }),
    ]);
    for (const i of [0, 1, 2]) {
      const f = findingOf(r.of(i), 'grant_type.params_mismatch');
      expect(f.severity).toBe('error');
      expect(f.confidence).toBe('high');
    }
    expect(findingOf(r.of(2), 'grant_type.params_mismatch').detail).toMatch(/sent "refreshToken" instead/);
    expectNoSecret(r.findings.flat(), SECRETS);
  });

  it('names response_mode=form_post when the code never reached the server handler', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', response_mode: 'form_post', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE }, { at: T(0) }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: '', redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, at: T(4), response: oauthError('invalid_request', 'code is required') }),
    ]);
    expect(findingOf(r.of(1), 'grant_type.params_mismatch').detail).toMatch(/form_post/);
  });

  it('near misses: each grant with exactly its parameters', () => {
    const r = runRules([
      tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
      tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
      tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: RT, client_id: CLIENT_ID, client_secret: CLIENT_SECRET } }),
    ]);
    expect(r.codes.flat()).not.toContain('grant_type.params_mismatch');
  });
});

describe('scope.invalid (R25)', () => {
  it('reports Entra AADSTS70011 and the comma delimiter behind it', () => {
    const r = runRules([tokenRequest({
      url: `${ENTRA}/token`,
      form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default,offline_access' },
      response: { status: 400, json: { error: 'invalid_scope', error_description: "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.\r\nTrace ID: 3c6b2e1a-0f2d-4c1b-9e8d-7a6b5c4d3e2f", error_codes: [70011], trace_id: '3c6b2e1a-0f2d-4c1b-9e8d-7a6b5c4d3e2f' } },
    })]);
    const f = findingOf(r.of(0), 'scope.invalid');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/AADSTS70011/);
    expect(f.evidence?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ subDiagnosis: '#delimiter' })]));
    expectNoSecret(r.of(0), SECRETS);
  });

  it('uses the config list, spots wrong case and an Entra multi-resource request', () => {
    const config = { clients: [{ name: 'prod', clientId: CLIENT_ID, scopes: ['openid', 'profile', 'orders.read'] }] };
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid Profile orders.write', state: STATE }),
      tokenRequest({ url: `${ENTRA}/token`, form: { grant_type: 'client_credentials', client_id: 'svc-1', client_secret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/User.Read api://a1b2c3d4/orders.read' }, response: oauthError('invalid_scope', 'AADSTS700022: The provided value for the input parameter scope is not valid because it contains more than one resource.') }),
    ], config);
    const authz = findingOf(r.of(0), 'scope.invalid');
    const subs = (authz.evidence?.issues as Array<{ subDiagnosis: string; scopes: string[] }>);
    expect(subs).toEqual(expect.arrayContaining([{ subDiagnosis: '#case', scopes: ['Profile'] }, { subDiagnosis: '#not_allowed', scopes: ['orders.write'] }]));
    const entra = findingOf(r.of(1), 'scope.invalid');
    expect(entra.evidence?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ subDiagnosis: '#multi_resource' })]));
  });

  it('spots an OIDC request without openid (#missing_openid) and invalid_scope on the authorization response', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'profile email', nonce: 'n-0S6_WzA2Mj', state: STATE }, { at: T(0) }),
      authorizeRedirect({ error: 'invalid_scope', error_description: 'Invalid scopes: profile email', state: STATE }, { at: T(2) }),
    ]);
    expect(findingOf(r.of(0), 'scope.invalid').evidence?.issues).toEqual(expect.arrayContaining([expect.objectContaining({ subDiagnosis: '#missing_openid' })]));
    expect(findingOf(r.of(1), 'scope.invalid').severity).toBe('error');
  });

  it('advises, with medium confidence, on a failed request for a scope the AS does not advertise', () => {
    const r = runRules([
      discoveryRequest({ scopes_supported: ['openid', 'profile', 'email', 'offline_access'] }),
      tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'reports' }, response: oauthError('invalid_request', 'Request was missing a required parameter or was malformed') }),
    ]);
    const f = findingOf(r.of(1), 'scope.invalid');
    expect(f.severity).toBe('warning');
    expect(f.confidence).toBe('medium');
    expect(f.evidence?.issues).toEqual([{ subDiagnosis: '#not_advertised', scopes: ['reports'] }]);
  });

  it('near misses: GitHub comma scopes, configured scopes in exact case', () => {
    const config = { clients: [{ name: 'prod', clientId: CLIENT_ID, scopes: ['openid', 'profile'] }] };
    const r = runRules([
      authorizeRequest({ client_id: 'Iv1.8a61f9b3a7aba766', redirect_uri: REDIRECT_URI, scope: 'repo,read:user', state: STATE }, { url: 'https://github.com/login/oauth/authorize' }),
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state: STATE }),
    ], config);
    expect(r.codes.flat()).not.toContain('scope.invalid');
  });
});

describe('scope.escalation_or_drift (R26)', () => {
  const flow = (refreshScope: string, response = tokenSuccess()) => runRules([
    tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, at: T(0), response: tokenSuccess({ refresh_token: RT, scope: 'openid profile orders.read' }) }),
    tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: RT, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: refreshScope }, at: T(3600), response }),
  ]);

  it('flags a refresh asking for a scope never granted, as error when refused', () => {
    const r = flow('openid orders.read orders.write', oauthError('invalid_scope', 'Requested scope exceeds the original grant'));
    const f = findingOf(r.of(1), 'scope.escalation_or_drift');
    expect(f.severity).toBe('error');
    expect(f.evidence?.extra).toEqual(['orders.write']);
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[1]?.id]);
    expectNoSecret(r.of(1), SECRETS);
  });

  it('warns when a code redemption asks for more than the authorize request (Entra)', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid User.Read', state: STATE }, { url: `${ENTRA}/authorize`, at: T(0) }),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(2) }),
      tokenRequest({ url: `${ENTRA}/token`, form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'openid User.Read Mail.Send' }, at: T(3) }),
    ]);
    const f = findingOf(r.of(2), 'scope.escalation_or_drift');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.extra).toEqual(['Mail.Send']);
  });

  it('near miss: a refresh asking for a subset', () => {
    expect(flow('openid orders.read').codes.flat()).not.toContain('scope.escalation_or_drift');
  });
});

describe('scope.granted_narrower (R27)', () => {
  const google = (granted: string) => runRules([
    tokenRequest({
      url: 'https://oauth2.googleapis.com/token',
      form: { grant_type: 'authorization_code', code: '4/0AeaYSHBx3zZ_qL9vN2wKmR7tP5uE8yJ1cF6dG0hI', redirect_uri: REDIRECT_URI, client_id: '1234-abc.apps.googleusercontent.com', client_secret: CLIENT_SECRET, scope: 'openid email https://www.googleapis.com/auth/drive.readonly' },
      response: tokenSuccess({ scope: granted, id_token: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2ln' }),
    }),
  ]);

  it('flags Google granular consent that dropped drive.readonly', () => {
    const r = google('https://www.googleapis.com/auth/userinfo.email openid');
    const f = findingOf(r.of(0), 'scope.granted_narrower');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.missing).toEqual(['https://www.googleapis.com/auth/drive.readonly']);
    expect(f.detail).toMatch(/granular consent/);
    expectNoSecret(r.of(0), [CLIENT_SECRET, '4/0AeaYSHBx3zZ_qL9vN2wKmR7tP5uE8yJ1cF6dG0hI']);
  });

  it('near miss: Google echoing "email" in its long form grants everything', () => {
    const r = google('https://www.googleapis.com/auth/drive.readonly https://www.googleapis.com/auth/userinfo.email openid');
    expect(r.codes.flat()).not.toContain('scope.granted_narrower');
  });
});

/**
 * Client identification and authentication rules (oauth-rules.md §1.2, R09–R15) through the real
 * engine, with provider-shaped responses (Entra AADSTS, GitHub 200-with-error, Slack ok:false,
 * Keycloak, Okta, Google, Apple) and a near miss for each rule.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, T, TOKEN_URL, discoveryRequest, exchange, jwt, oauthError, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { one, ruleHarness } from '../../support/rule-assertions.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const STAGING_SECRET = 'stg-7Hq2Lw9Zx4Vb8Nc3Rm6Tp1Ks5Yd0Fg';
const SPECIAL_SECRET = 'p+ss/w=rd&x:y%z9KqL2mN7';
const SECRETS = [CLIENT_SECRET, STAGING_SECRET, SPECIAL_SECRET];

const { run, expectNoSecret } = ruleHarness(SECRETS);

const ccForm = (secret = CLIENT_SECRET, clientId = CLIENT_ID) => ({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'api.read' });

const ENTRA_TOKEN = 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token';
const entraError = (code: number, error: string, text: string) => ({
  status: 401,
  json: {
    error, error_description: `AADSTS${code}: ${text} Trace ID: 0b5c2a4e-1f3d-4c6b-9a8e-7d2f1e0c3b4a Correlation ID: 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9 Timestamp: 2026-01-15 09:00:01Z`,
    error_codes: [code], timestamp: '2026-01-15 09:00:01Z', trace_id: '0b5c2a4e-1f3d-4c6b-9a8e-7d2f1e0c3b4a',
    correlation_id: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9', error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  },
});

describe('R09 client.authentication_failed', () => {
  it('Entra AADSTS7000215: wrong secret, with trace ids kept and the secret-Value hint', () => {
    const r = run([tokenRequest({ url: ENTRA_TOKEN, form: ccForm(), response: entraError(7000215, 'invalid_client', 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app \'app-client-1\'.') })]);
    const f = one(r.of(0), 'client.authentication_failed');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.sub_diagnosis).toBe('wrong_secret');
    expect(f.evidence?.as_error).toMatchObject({ trace_id: '0b5c2a4e-1f3d-4c6b-9a8e-7d2f1e0c3b4a', aadsts: ['AADSTS7000215'] });
    expect(f.detail).toMatch(/Value, not its Secret ID/);
    expectNoSecret(r.of(0));
  });

  it('GitHub incorrect_client_credentials inside HTTP 200', () => {
    const r = run([tokenRequest({
      url: 'https://github.com/login/oauth/access_token',
      form: { client_id: 'Iv1.8a61f9b3a7aba766', client_secret: CLIENT_SECRET, code: 'a1b2c3d4e5f6a7b8c9d0' },
      response: { status: 200, form: { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.', error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials' } },
    })]);
    const f = one(r.of(0), 'client.authentication_failed');
    expect(f.detail).toMatch(/GitHub answers incorrect_client_credentials with HTTP 200/);
    expectNoSecret(r.of(0));
  });

  it('Slack ok:false invalid_client_id: unknown client', () => {
    const r = run([tokenRequest({
      url: 'https://slack.com/api/oauth.v2.access',
      form: { code: '1234567890.9876543210.abcdef0123456789abcdef0123456789', client_id: '1234567890.0987654321', client_secret: CLIENT_SECRET },
      response: { status: 200, json: { ok: false, error: 'invalid_client_id' } },
    })]);
    expect(one(r.of(0), 'client.authentication_failed').evidence?.sub_diagnosis).toBe('unknown_client');
  });

  it('Keycloak "Invalid client credentials" with a configured secret that does not match: wrong secret', () => {
    const r = run([tokenRequest({
      url: 'https://sso.example.com/realms/prod/protocol/openid-connect/token',
      form: ccForm(),
      response: oauthError('unauthorized_client', 'Invalid client or Invalid client credentials', 401),
    })], { clients: [{ name: 'prod', clientId: CLIENT_ID, secretSha256: [sha('the-real-prod-secret-value-123456')] }] });
    const f = one(r.of(0), 'client.authentication_failed');
    expect(f.evidence?.sub_diagnosis).toBe('wrong_secret');
    expect(f.detail).toMatch(/matches none of the 1 secret\(s\) configured for "prod"/);
    expectNoSecret(r.of(0));
  });

  it('Auth0 401 access_denied "Unauthorized" for a client_credentials request (medium)', () => {
    const r = run([tokenRequest({
      url: 'https://acme-dev.eu.auth0.com/oauth/token',
      json: { grant_type: 'client_credentials', client_id: 'Xk3rV9yQ2mLp8Zt4Wn6bHc1JdF5gS7aE', client_secret: CLIENT_SECRET, audience: 'https://api.acme.test' },
      response: oauthError('access_denied', 'Unauthorized', 401),
    })]);
    const f = one(r.of(0), 'client.authentication_failed');
    expect(f.confidence).toBe('medium');
    expect(f.detail).toMatch(/Auth0: check the application/);
  });

  it('is silent on success and on a non-client error (invalid_grant)', () => {
    const r = run([
      tokenRequest({ url: ENTRA_TOKEN, form: ccForm() }),
      tokenRequest({ url: ENTRA_TOKEN, form: { grant_type: 'refresh_token', refresh_token: '0.AXoA-refresh-token-value-abcdefghijklmnop', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: entraError(70008, 'invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity.') }),
    ]);
    expect(r.codes.flat()).not.toContain('client.authentication_failed');
  });
});

describe('R10 client.env_mismatch', () => {
  const config = {
    clients: [
      { name: 'prod', clientId: 'prod-client', secretSha256: [sha(CLIENT_SECRET)], issuer: 'https://idp.example.com' },
      { name: 'staging', clientId: 'staging-client', secretSha256: [sha(STAGING_SECRET)], issuer: 'https://idp-staging.example.com' },
    ],
  };

  it('proves "staging secret with the prod client" from configured fingerprints', () => {
    const r = run([tokenRequest({ form: ccForm(STAGING_SECRET, 'prod-client'), response: oauthError('invalid_client', 'Client authentication failed', 401) })], config);
    const f = one(r.of(0), 'client.env_mismatch');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.detail).toMatch(/configured for "staging" but client_id prod-client belongs to "prod"/);
    // R09 defers to the more specific cause.
    expect(r.codes[0]).not.toContain('client.authentication_failed');
    expectNoSecret(r.of(0));
  });

  it('flags a prod client_id sent to the staging authorization server', () => {
    const r = run([tokenRequest({ url: 'https://idp-staging.example.com/oauth/token', form: ccForm(CLIENT_SECRET, 'prod-client'), response: oauthError('invalid_client', 'Client authentication failed', 401) })], config);
    expect(one(r.of(0), 'client.env_mismatch').detail).toMatch(/which is "staging"/);
  });

  it('without config: a secret first sent to one AS and later to another', () => {
    const r = run([
      tokenRequest({ form: ccForm() }),
      tokenRequest({ url: 'https://login.partner-idp.example.org/oauth/token', form: ccForm(), response: oauthError('invalid_client', 'Unknown client', 401) }),
    ]);
    const f = one(r.of(1), 'client.env_mismatch');
    expect(f.detail).toMatch(/first sent to https:\/\/idp\.example\.com/);
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[1]?.id]);
    expectNoSecret(r.of(1));
  });

  it('without config: an attempt that never reached its host (TLS failure, refused connection) does not count as "first sent"', () => {
    const stagingToken = 'https://idp-staging.example.com/oauth/token';
    const r = run([
      tokenRequest({ url: stagingToken, form: ccForm(), response: null, error: { code: 'tls_untrusted', message: 'upstream idp-staging.example.com:443 presented a certificate from an untrusted CA', nodeCode: 'SELF_SIGNED_CERT_IN_CHAIN' } }),
      tokenRequest({ url: stagingToken, form: ccForm(), response: null, error: { code: 'refused', message: 'upstream idp-staging.example.com:443 refused the connection', nodeCode: 'ECONNREFUSED' } }),
      tokenRequest({ form: ccForm(), response: oauthError('invalid_client', 'Client authentication failed', 401) }),
      tokenRequest({ form: ccForm() }),
    ]);
    expect(r.codes.flat()).not.toContain('client.env_mismatch');
  });

  it('without config: a request cut off after it was sent (reset) still counts as delivered', () => {
    const r = run([
      tokenRequest({ url: 'https://idp-staging.example.com/oauth/token', form: ccForm(), response: null, error: { code: 'reset', message: 'upstream idp-staging.example.com:443 closed the connection', nodeCode: 'ECONNRESET' } }),
      tokenRequest({ form: ccForm(), response: oauthError('invalid_client', 'Client authentication failed', 401) }),
    ]);
    const f = one(r.of(1), 'client.env_mismatch');
    expect(f.detail).toMatch(/first sent to https:\/\/idp-staging\.example\.com/);
    expectNoSecret(r.of(1));
  });

  it('without config, a second AS that accepts the same secret is only a warning', () => {
    const r = run([tokenRequest({ form: ccForm() }), tokenRequest({ url: 'https://login.example.com/oauth/token', form: ccForm() })]);
    const f = one(r.of(1), 'client.env_mismatch');
    expect(f.severity).toBe('warning');
    expect(f.confidence).toBe('medium');
  });

  it('is silent for the prod secret with the prod client at the prod AS, and for repeats to the same AS', () => {
    const r = run([tokenRequest({ form: ccForm(CLIENT_SECRET, 'prod-client') }), tokenRequest({ form: ccForm(CLIENT_SECRET, 'prod-client') })], config);
    expect(r.codes.flat()).not.toContain('client.env_mismatch');
  });
});

describe('R11 client_credentials.suspicious_value', () => {
  it('client_id with a trailing space at Google: "The OAuth client was not found."', () => {
    const r = run([tokenRequest({
      url: 'https://oauth2.googleapis.com/token',
      form: { grant_type: 'authorization_code', code: '4/0AeaYSHBq3mZ8kP2xR7wT9vL1nJ5', client_id: '1234-abc.apps.googleusercontent.com ', client_secret: CLIENT_SECRET, redirect_uri: 'https://app.example.com/callback' },
      response: oauthError('invalid_client', 'The OAuth client was not found.', 401),
    })]);
    const f = one(r.of(0), 'client_credentials.suspicious_value');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/client_id \(body\) has trailing whitespace/);
    expect(f.detail).toMatch(/The OAuth client was not found/);
    expectNoSecret(r.of(0));
  });

  it('a secret with a trailing newline that equals the configured secret once trimmed', () => {
    const r = run([tokenRequest({ form: ccForm(`${CLIENT_SECRET}\n`), response: oauthError('invalid_client', 'Client authentication failed', 401) })],
      { clients: [{ name: 'prod', clientId: CLIENT_ID, secretSha256: [sha(CLIENT_SECRET)] }] });
    const f = one(r.of(0), 'client_credentials.suspicious_value');
    expect(f.detail).toMatch(/configured for "prod"/);
    expect(JSON.stringify(f.evidence)).toContain('"trimmed":true');
    expect(r.codes[0]).not.toContain('client.authentication_failed');
    expectNoSecret(r.of(0));
  });

  it('a literal "undefined" secret (unset environment variable)', () => {
    const r = run([tokenRequest({ form: ccForm('undefined'), response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    expect(one(r.of(0), 'client_credentials.suspicious_value').detail).toMatch(/literal/);
  });

  it('an assertion whose iss is an unexpanded placeholder', () => {
    const now = Math.floor(T(1) / 1000);
    const assertion = jwt({ iss: '${CLIENT_ID}', sub: CLIENT_ID, aud: TOKEN_URL, exp: now + 300, iat: now, jti: 'jti-placeholder-01' });
    const r = run([tokenRequest({ at: T(1), form: { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }, response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    expect(one(r.of(0), 'client_credentials.suspicious_value').detail).toMatch(/client_assertion iss is an unexpanded placeholder/);
  });

  it('is silent for clean values', () => {
    const r = run([tokenRequest({ form: ccForm(), response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    expect(r.codes[0]).not.toContain('client_credentials.suspicious_value');
  });
});

describe('R12 client_auth.multiple_methods', () => {
  it('Basic plus client_secret in the body (Okta rejects it)', () => {
    const r = run([tokenRequest({
      url: 'https://dev-123456.okta.com/oauth2/default/v1/token',
      basic: [CLIENT_ID, CLIENT_SECRET],
      form: { grant_type: 'client_credentials', client_id: 'other-client', client_secret: CLIENT_SECRET, scope: 'api.read' },
      response: oauthError('invalid_request', 'Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.'),
    })]);
    const f = one(r.of(0), 'client_auth.multiple_methods');
    expect(f.severity).toBe('error');
    expect(f.evidence?.mechanisms).toEqual(['basic', 'client_secret']);
    expect(f.detail).toMatch(/differs from the Basic username/);
    expectNoSecret(r.of(0));
  });

  it('is silent for Basic plus a body client_id without a secret', () => {
    const r = run([tokenRequest({ basic: [CLIENT_ID, CLIENT_SECRET], form: { grant_type: 'client_credentials', client_id: CLIENT_ID } })]);
    expect(r.codes[0]).not.toContain('client_auth.multiple_methods');
  });
});

describe('R13 client_auth.basic_encoding', () => {
  it('special characters joined without form-encoding, rejected', () => {
    const r = run([tokenRequest({ basicRaw: [CLIENT_ID, SPECIAL_SECRET], form: { grant_type: 'client_credentials' }, response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    const f = one(r.of(0), 'client_auth.basic_encoding');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/without the per-component encoding/);
    expectNoSecret(r.of(0));
  });

  it('a Basic value that is not base64', () => {
    const r = run([tokenRequest({ headers: { Authorization: 'Basic app-client-1:not base64 at all!' }, form: { grant_type: 'client_credentials' }, response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    expect(one(r.of(0), 'client_auth.basic_encoding').title).toMatch(/Malformed/);
  });

  it('body works, Basic fails: a non-conforming AS that does not decode', () => {
    const r = run([
      tokenRequest({ form: ccForm(SPECIAL_SECRET) }),
      tokenRequest({ basic: [CLIENT_ID, SPECIAL_SECRET], form: { grant_type: 'client_credentials', scope: 'api.read' }, response: oauthError('invalid_client', 'Client authentication failed', 401) }),
    ]);
    const f = one(r.of(1), 'client_auth.basic_encoding');
    expect(f.confidence).toBe('high');
    expect(f.title).toBe('Body credentials work, Basic credentials fail');
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[1]?.id]);
    expectNoSecret(r.findings.flat());
  });

  it('is silent for properly encoded Basic credentials that succeed, or fail for a reason other than client auth', () => {
    const r = run([
      tokenRequest({ basic: [CLIENT_ID, SPECIAL_SECRET], form: { grant_type: 'client_credentials' } }),
      tokenRequest({ basic: [CLIENT_ID, SPECIAL_SECRET], form: { grant_type: 'authorization_code', code: 'SplxlOBeZQQYbYS6WxSbIA', redirect_uri: 'https://app.example.com/callback' }, response: oauthError('invalid_grant', 'grant request is invalid') }),
    ]);
    expect(r.codes.flat()).not.toContain('client_auth.basic_encoding');
  });
});

describe('R14 client_auth.method_mismatch', () => {
  it('Entra AADSTS7000218: a confidential client sent no credentials', () => {
    const r = run([tokenRequest({ url: ENTRA_TOKEN, form: { grant_type: 'authorization_code', code: '0.AXoA-code-abcdefghijklmnopqrstuvwxyz', client_id: CLIENT_ID, redirect_uri: 'https://app.example.com/callback' }, response: entraError(7000218, 'invalid_client', 'The request body must contain the following parameter: \'client_assertion\' or \'client_secret\'.') })]);
    const f = one(r.of(0), 'client_auth.method_mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.sub_diagnosis).toEqual(['no_credentials']);
    expect(r.codes[0]).not.toContain('client.authentication_failed');
  });

  it('Entra AADSTS700025: a public client presented a secret', () => {
    const r = run([tokenRequest({ url: ENTRA_TOKEN, form: ccForm(), response: entraError(700025, 'invalid_client', 'Client is public so neither \'client_assertion\' nor \'client_secret\' should be presented.') })]);
    expect(one(r.of(0), 'client_auth.method_mismatch').evidence?.sub_diagnosis).toEqual(['public_with_secret']);
    expectNoSecret(r.of(0));
  });

  it('a method the discovery document does not advertise', () => {
    const r = run([
      discoveryRequest({ token_endpoint_auth_methods_supported: ['private_key_jwt'] }),
      tokenRequest({ form: ccForm(), response: oauthError('invalid_client', 'Client authentication failed', 401) }),
    ]);
    const f = one(r.of(1), 'client_auth.method_mismatch');
    expect(f.evidence?.sub_diagnosis).toEqual(['not_advertised']);
    expect(f.detail).toMatch(/client_secret_post/);
  });

  it('leaves AADSTS7000218 on the device grant to grant_type.not_allowed_for_client', () => {
    const r = run([tokenRequest({ url: ENTRA_TOKEN, form: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'DAQABAAEAAAD--DLA3VO7QrddgJg7WevrQvvQpe8', client_id: CLIENT_ID }, response: entraError(7000218, 'invalid_client', 'The request body must contain the following parameter: \'client_assertion\' or \'client_secret\'.') })]);
    expect(r.codes[0]).not.toContain('client_auth.method_mismatch');
    expect(r.codes[0]).not.toContain('client.authentication_failed');
  });

  it('is silent when the method is advertised and accepted', () => {
    const r = run([
      discoveryRequest({ token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'] }),
      tokenRequest({ basic: [CLIENT_ID, CLIENT_SECRET], form: { grant_type: 'client_credentials' } }),
    ]);
    expect(r.codes.flat()).not.toContain('client_auth.method_mismatch');
  });
});

describe('R15 client_assertion.invalid', () => {
  const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  const now = Math.floor(T(1) / 1000);

  it('an expired assertion with the wrong audience', () => {
    const assertion = jwt({ iss: CLIENT_ID, sub: CLIENT_ID, aud: 'https://idp.example.com/oauth2/v1/token', exp: now - 600, iat: now - 900, jti: 'a1b2c3d4e5f6' });
    const r = run([tokenRequest({ at: T(1), form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: assertionType, client_assertion: assertion }, response: oauthError('invalid_client', 'Client assertion audience claim does not match Realm issuer.', 401) })]);
    const f = one(r.of(0), 'client_assertion.invalid');
    expect(f.severity).toBe('error');
    expect(f.evidence?.problems).toEqual(expect.arrayContaining(['aud', 'expired']));
    expectNoSecret(r.of(0), [assertion, assertion.split('.')[2] ?? '']);
  });

  it('Apple JWT client secret: RS256 without kid', () => {
    const secret = jwt({ iss: 'ABCDE12345', sub: 'com.example.web', aud: 'https://appleid.apple.com', iat: now - 60, exp: now + 3600 }, { alg: 'RS256' });
    const r = run([tokenRequest({ url: 'https://appleid.apple.com/auth/token', form: { grant_type: 'authorization_code', code: 'c0de1234567890abcdef.0.nrqz.AbCdEfGhIjKl', client_id: 'com.example.web', client_secret: secret, redirect_uri: 'https://app.example.com/callback' }, response: oauthError('invalid_client') })]);
    const f = one(r.of(0), 'client_assertion.invalid');
    expect(f.evidence?.problems).toEqual(expect.arrayContaining(['alg', 'missing_kid']));
    expect(f.title).toMatch(/JWT client_secret/);
    expect(r.codes[0]).not.toContain('client.authentication_failed');
    expectNoSecret(r.of(0), [secret]);
  });

  it('a replayed jti is flagged even when the AS accepted it', () => {
    const claims = { iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_URL, exp: now + 300, iat: now, jti: 'same-jti-0001' };
    const form = (a: string) => ({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: assertionType, client_assertion: a });
    const r = run([tokenRequest({ at: T(1), form: form(jwt(claims)) }), tokenRequest({ at: T(2), form: form(jwt(claims)), response: tokenSuccess() })]);
    const f = one(r.of(1), 'client_assertion.invalid');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.problems).toEqual(['jti_replay']);
    expect(r.codes[0]).not.toContain('client_assertion.invalid');
  });

  it('survives absurd claim values (exp far outside the Date range)', () => {
    const assertion = jwt({ iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_URL, exp: -1e20, iat: 'yesterday', jti: 42 });
    const r = run([tokenRequest({ at: T(1), form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: assertionType, client_assertion: assertion }, response: oauthError('invalid_client', 'Client authentication failed', 401) })]);
    expect(one(r.of(0), 'client_assertion.invalid').evidence?.problems).toContain('expired');
  });

  it('is silent for a well-formed assertion', () => {
    const assertion = jwt({ iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_URL, exp: now + 300, iat: now, jti: 'unique-jti-0002' });
    const r = run([tokenRequest({ at: T(1), form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: assertionType, client_assertion: assertion } })]);
    expect(r.codes[0]).not.toContain('client_assertion.invalid');
  });
});

describe('exchange shape', () => {
  it('also checks revocation and introspection requests', () => {
    const r = run([exchange({ method: 'POST', url: 'https://idp.example.com/oauth/revoke', basic: [CLIENT_ID, CLIENT_SECRET], form: { token: 'at-abcdefghijklmnopqrstuvwxyz012345', client_secret: CLIENT_SECRET }, response: oauthError('invalid_request', 'multiple credentials') })]);
    expect(r.exchanges[0]?.oauth.kind).toBe('revocation');
    expect(r.codes[0]).toContain('client_auth.multiple_methods');
  });
});

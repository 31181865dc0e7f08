/**
 * End to end, authorization-code flows: real logins at the oidc-provider IdP through the real
 * proxy (the authorize leg included), then openid-client, curl or Python requests at the token
 * endpoint. Each scenario asserts the findings a user sees on the exchange, and that no secret
 * reached the store or the log.
 */
import { describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { curl, login, openidClient, python } from './support/clients.js';
import { basicAuth, codes, describe as list, errors, expectNoSecretLeak, finding, primary, type World } from './support/world.js';
import { isToken, isAuthorize, useWorld } from './support/use-world.js';

let world: World;
useWorld((started) => {
  world = started;
});

/** curl form POST to the IdP token endpoint with the confidential client's Basic credentials. */
function tokenByCurl(form: Array<[string, string]>, extra: string[] = []) {
  const conf = world.idp.clients.confidential;
  return curl(world, [
    '-H', `Authorization: Basic ${basicAuth(conf.clientId, conf.clientSecret ?? '')}`, '-H', 'Accept: application/json',
    ...form.flatMap(([name, value]) => ['--data-urlencode', `${name}=${value}`]), ...extra, world.idp.endpoints.token,
  ]);
}

describe('authorization code flows through the proxy', () => {
  it('happy code + PKCE exchange and refresh with openid-client: no error finding on the flow', async () => {
    const conf = world.idp.clients.confidential;
    const mark = world.mark();
    const client = await openidClient(world, conf.clientId, conf.clientSecret ?? '');
    try {
      const done = await login(world, { state: 'e2e-happy-state-01', scope: 'openid profile offline_access' });
      const tokens = await oidc.authorizationCodeGrant(client.config, new URL(done.location), {
        pkceCodeVerifier: done.verifier, expectedState: 'e2e-happy-state-01',
      });
      world.remember(tokens.access_token, tokens.refresh_token, tokens.id_token);
      expect(tokens.refresh_token).toBeTruthy();
      const refreshed = await oidc.refreshTokenGrant(client.config, tokens.refresh_token!);
      world.remember(refreshed.access_token, refreshed.refresh_token, refreshed.id_token);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
    } finally {
      await client.close();
    }
    const [exchange, refresh] = await world.since(mark, 2, isToken);
    const all = await world.since(mark, 1);
    if (process.env.E2E_DEBUG) console.log(list(all));
    expect(exchange!.oauth.grantType).toBe('authorization_code');
    expect(exchange!.response?.status).toBe(200);
    expect(refresh!.oauth.grantType).toBe('refresh_token');
    expect(refresh!.response?.status).toBe(200);
    // One flow from discovery/authorize to refresh, and not a single error finding anywhere in it.
    const authorize = all.find(isAuthorize);
    expect(exchange!.oauth.flowId).toBe(authorize?.oauth.flowId);
    expect(refresh!.oauth.flowId).toBe(authorize?.oauth.flowId);
    for (const e of all) expect(errors(world.current(e.id)), list([e])).toEqual([]);
    expect(world.current(exchange!.id).oauth.findings).toEqual([]);
    expect(world.current(refresh!.id).oauth.findings).toEqual([]);
    expect(all.map((e) => e.oauth.kind)).toEqual(expect.arrayContaining(['discovery', 'authorize', 'authorize_response', 'token']));
    expectNoSecretLeak(world);
  });

  it('public client code + PKCE exchange with Python requests (no client secret): no finding', async () => {
    const spa = world.idp.clients.public;
    const done = await login(world, { state: 'e2e-public-state-01b', clientId: spa.clientId });
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.idp.endpoints.token,
      data: [['grant_type', 'authorization_code'], ['code', done.code], ['redirect_uri', done.redirectUri], ['code_verifier', done.verifier], ['client_id', spa.clientId]],
    });
    expect(answer!.status).toBe(200);
    const [exchange] = await world.since(mark, 1, isToken);
    debug(exchange!);
    expect(exchange!.oauth.clientId).toBe(spa.clientId);
    expect(world.current(exchange!.id).oauth.findings).toEqual([]);
    expectNoSecretLeak(world);
  });

  it('token request with a trailing-slash redirect_uri (curl): redirect_uri.trailing_slash', async () => {
    const done = await login(world, { state: 'e2e-slash-state-02' });
    const mark = world.mark();
    const answer = await tokenByCurl([
      ['grant_type', 'authorization_code'], ['code', done.code], ['redirect_uri', `${done.redirectUri}/`], ['code_verifier', done.verifier],
    ]);
    expect(answer.status).toBe(400);
    const [exchange] = await world.since(mark, 1, isToken);
    debug(exchange!);
    expect(primary(exchange!)?.code).toBe('redirect_uri.trailing_slash');
    expect(primary(exchange!)?.severity).toBe('error');
    expectNoSecretLeak(world);
  });

  it('authorize request with a trailing-slash redirect_uri (Python requests): redirect_uri.trailing_slash against the registered URI', async () => {
    const registered = world.idp.clients.confidential.redirectUris[0]!;
    const mark = world.mark();
    const [answer] = await python(world, { method: 'GET', url: world.idp.endpoints.authorization, params: Object.entries({
      response_type: 'code', client_id: world.idp.clients.confidential.clientId, redirect_uri: `${registered}/`, scope: 'openid',
      state: 'e2e-slash-authorize-02b', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    }) });
    expect(answer!.status).toBe(400);
    const [exchange] = await world.since(mark, 1, isAuthorize);
    debug(exchange!);
    const slash = finding(exchange!, 'redirect_uri.trailing_slash');
    expect(slash?.severity, codes(exchange!).join(' ')).toBe('error');
    expect(JSON.stringify(slash?.evidence)).toContain(registered);
    expectNoSecretLeak(world);
  });

  it('authorize request with an unregistered redirect_uri (Python requests): redirect_uri.not_registered', async () => {
    const url = new URL(world.idp.endpoints.authorization);
    const params = {
      response_type: 'code', client_id: world.idp.clients.confidential.clientId, redirect_uri: 'https://shop.example.net/auth/return',
      scope: 'openid', state: 'e2e-unregistered-03', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    };
    const mark = world.mark();
    const [answer] = await python(world, { method: 'GET', url: url.toString(), params: Object.entries(params) });
    // oidc-provider refuses to redirect to an unknown URI and renders an error page instead.
    expect(answer!.status).toBe(400);
    const [exchange] = await world.since(mark, 1, isAuthorize);
    debug(exchange!);
    // §0.7 ranks the code-lifecycle symptom (the AS's error page, R21) above the redirect_uri cause.
    expect(primary(exchange!)?.code).toBe('authorize.error_returned');
    const notRegistered = finding(exchange!, 'redirect_uri.not_registered');
    expect(notRegistered?.severity, codes(exchange!).join(' ')).toBe('error');
    expect(notRegistered?.evidence).toMatchObject({ redirect_uri: 'https://shop.example.net/auth/return', environment: 'prod' });
    expectNoSecretLeak(world);
  });

  it('a code exchanged twice (curl): the second exchange shows code.reused', async () => {
    const done = await login(world, { state: 'e2e-reuse-state-04' });
    const mark = world.mark();
    const form: Array<[string, string]> = [
      ['grant_type', 'authorization_code'], ['code', done.code], ['redirect_uri', done.redirectUri], ['code_verifier', done.verifier],
    ];
    expect((await tokenByCurl(form)).status).toBe(200);
    expect((await tokenByCurl(form)).status).toBe(400);
    const [first, second] = await world.since(mark, 2, isToken);
    debug(world.current(first!.id), world.current(second!.id));
    expect(errors(world.current(first!.id))).toEqual([]);
    expect(primary(world.current(second!.id))?.code).toBe('code.reused');
    expect(finding(world.current(second!.id), 'code.reused')?.exchangeIds).toContain(first!.id);
    expectNoSecretLeak(world);
  });

  it('a code_verifier that does not match the proxied challenge (curl): pkce.verifier_mismatch', async () => {
    const done = await login(world, { state: 'e2e-pkce-state-05' });
    const other = await login(world, { state: 'e2e-pkce-state-05b' });
    const mark = world.mark();
    // The app mixes up two logins' verifiers (e.g. a session shared between tabs).
    const answer = await tokenByCurl([
      ['grant_type', 'authorization_code'], ['code', done.code], ['redirect_uri', done.redirectUri], ['code_verifier', other.verifier],
    ]);
    expect(answer.status).toBe(400);
    const [exchange] = await world.since(mark, 1, isToken);
    debug(exchange!);
    expect(primary(exchange!)?.code).toBe('pkce.verifier_mismatch');
    expect(primary(exchange!)?.severity).toBe('error');
    expectNoSecretLeak(world);
  });

  it('a 5 KB state in the proxied authorize request: state.too_long', async () => {
    const state = 's'.repeat(5 * 1024);
    const mark = world.mark();
    await login(world, { state });
    const [exchange] = await world.since(mark, 1, isAuthorize);
    debug(exchange!);
    // oidc-provider accepted it (303 on to the login); the URL is > 2 KB but < 8 KB, so a warning.
    expect(exchange!.response?.status).toBe(303);
    const tooLong = finding(exchange!, 'state.too_long');
    expect(tooLong?.severity, codes(exchange!).join(' ')).toBe('warning');
    expect(tooLong?.detail).toContain('state is 5120 characters');
    expect((tooLong?.evidence as { url_length: number }).url_length).toBeGreaterThan(5120);
    expectNoSecretLeak(world);
  });
});

describe('the leak check itself', () => {
  it('fails when a handled secret shows up in a log line, in any of the checked encodings', () => {
    const secret = world.idp.clients.confidential.clientSecret!;
    expect(world.secrets.has(secret)).toBe(true);
    expect(world.secrets.size).toBeGreaterThan(10);
    for (const form of [secret, Buffer.from(secret).toString('base64url')]) {
      world.logLines.push(`{"msg":"oops ${form}"}`);
      try {
        expect(() => expectNoSecretLeak(world)).toThrow(/leaked/);
      } finally {
        world.logLines.pop();
      }
    }
    expectNoSecretLeak(world);
  });
});

function debug(...exchanges: Parameters<typeof list>[0][number][]): void {
  if (process.env.E2E_DEBUG) console.log(list(exchanges), '\n', exchanges.map((e) => e.oauth.findings.map((f) => `${f.code}: ${f.title}`).join('\n')).join('\n'));
}

/**
 * End to end, malformed and misconfigured token requests: openid-client, curl and Python requests
 * through the real proxy to the oidc-provider IdP, with the prod/staging config a user would give
 * oauth-lens. Each scenario asserts the finding the user sees on the token exchange, and that no
 * secret reached the store or the log.
 */
import { describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { curl, login, openidClient, python } from './support/clients.js';
import {
  STAGING_SECRET, basicAuth, codes, describe as list, errors, expectNoSecretLeak, finding, primary, type StoredExchange, type World,
} from './support/world.js';
import { isToken, useWorld } from './support/use-world.js';

let world: World;
useWorld((started) => {
  world = started;
});

function machine(): { id: string; secret: string; basic: string } {
  const m = world.idp.clients.machine;
  return { id: m.clientId, secret: m.clientSecret ?? '', basic: `Basic ${basicAuth(m.clientId, m.clientSecret ?? '')}` };
}

/** The one token exchange a scenario caused, after its findings settled. */
async function tokenExchange(mark: number): Promise<StoredExchange> {
  const [exchange] = await world.since(mark, 1, isToken);
  const current = world.current(exchange!.id);
  if (process.env.E2E_DEBUG) console.log(list([current]), '\n', current.oauth.findings.map((f) => `${f.code}: ${f.title}`).join('\n'));
  return current;
}

function expectPrimary(exchange: StoredExchange, code: string): void {
  expect(primary(exchange)?.code, codes(exchange).join(' ')).toBe(code);
  expect(primary(exchange)?.severity).toBe('error');
}

describe('token requests through the proxy', () => {
  it('client credentials with openid-client: 200 and no error finding', async () => {
    const m = machine();
    const mark = world.mark();
    const client = await openidClient(world, m.id, m.secret);
    try {
      const tokens = await oidc.clientCredentialsGrant(client.config, { scope: 'api:read' });
      world.remember(tokens.access_token);
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
    } finally {
      await client.close();
    }
    const exchange = await tokenExchange(mark);
    expect(exchange.response?.status).toBe(200);
    expect(exchange.oauth.grantType).toBe('client_credentials');
    expect(exchange.oauth.clientId).toBe(m.id);
    expect(errors(exchange)).toEqual([]);
    expectNoSecretLeak(world);
  });

  it('a JSON token request body (Python requests json=): request.wrong_content_type', async () => {
    const m = machine();
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.idp.endpoints.token, json: { grant_type: 'client_credentials', client_id: m.id, client_secret: m.secret, scope: 'api:read' },
    });
    expect(answer!.status).toBeGreaterThanOrEqual(400);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'request.wrong_content_type');
    expectNoSecretLeak(world);
  });

  it('a misspelled grant_type (curl): grant_type.invalid', async () => {
    const mark = world.mark();
    const answer = await curl(world, ['-H', `Authorization: ${machine().basic}`, '-d', 'grant_type=client-credentials&scope=api:read', world.idp.endpoints.token]);
    expect(answer.status).toBe(400);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'grant_type.invalid');
    expectNoSecretLeak(world);
  });

  it('client_credentials sent with an authorization code (curl): grant_type.params_mismatch', async () => {
    const mark = world.mark();
    const answer = await curl(world, [
      '-H', `Authorization: ${machine().basic}`, '-d', 'grant_type=client_credentials&scope=api:read&code=leftover-code-from-a-login-1234', world.idp.endpoints.token,
    ]);
    world.remember('leftover-code-from-a-login-1234');
    // oidc-provider ignores the stray code and issues a token; the app still has a mixed-up request.
    expect(answer.status).toBe(200);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'grant_type.params_mismatch');
    expectNoSecretLeak(world);
  });

  it('a scope outside the configured list (Python requests): scope.invalid', async () => {
    const m = machine();
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.idp.endpoints.token, auth: [m.id, m.secret], data: [['grant_type', 'client_credentials'], ['scope', 'api:write']],
    });
    // oidc-provider drops an unknown client_credentials scope silently and answers 200 without it,
    // so the config's list is what tells the user; the AS accepted it, hence a warning.
    expect(answer!.status).toBe(200);
    expect(JSON.parse(answer!.text)).not.toHaveProperty('scope');
    const exchange = await tokenExchange(mark);
    expect(primary(exchange)?.code, codes(exchange).join(' ')).toBe('scope.invalid');
    expect(primary(exchange)?.severity).toBe('warning');
    expect(primary(exchange)?.evidence).toMatchObject({ scope: 'api:write' });
    expectNoSecretLeak(world);
  });

  it('client_secret in the query string (curl): secret.in_url and request.params_in_query', async () => {
    const m = machine();
    const mark = world.mark();
    const url = `${world.idp.endpoints.token}?client_id=${m.id}&client_secret=${encodeURIComponent(m.secret)}`;
    const answer = await curl(world, ['-d', 'grant_type=client_credentials&scope=api:read', url]);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    const exchange = await tokenExchange(mark);
    expect(finding(exchange, 'secret.in_url')?.severity, codes(exchange).join(' ')).toBe('error');
    expect(finding(exchange, 'request.params_in_query')?.severity).toBe('error');
    expect(exchange.request.url).not.toContain(m.secret);
    expectNoSecretLeak(world);
  });

  it('Basic and body credentials together (Python requests auth= and data=): client_auth.multiple_methods', async () => {
    const m = machine();
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.idp.endpoints.token, auth: [m.id, m.secret],
      data: [['grant_type', 'client_credentials'], ['scope', 'api:read'], ['client_id', m.id], ['client_secret', m.secret]],
    });
    expect(answer!.status).toBe(400);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'client_auth.multiple_methods');
    expectNoSecretLeak(world);
  });

  it('the staging secret with the prod client (Python requests): client.env_mismatch', async () => {
    const conf = world.idp.clients.confidential;
    const done = await login(world, { state: 'e2e-env-state-0001' });
    const mark = world.mark();
    const [answer] = await python(world, {
      url: world.idp.endpoints.token, auth: [conf.clientId, STAGING_SECRET],
      data: [['grant_type', 'authorization_code'], ['code', done.code], ['redirect_uri', done.redirectUri], ['code_verifier', done.verifier]],
    });
    expect(answer!.status).toBe(401);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'client.env_mismatch');
    expect(JSON.stringify(finding(exchange, 'client.env_mismatch')?.evidence)).toContain('staging');
    expectNoSecretLeak(world);
  });

  it('a duplicated parameter (curl -d twice): request.param_hygiene', async () => {
    const mark = world.mark();
    const answer = await curl(world, ['-H', `Authorization: ${machine().basic}`, '-d', 'grant_type=client_credentials', '-d', 'scope=api:read', '-d', 'scope=api:read', world.idp.endpoints.token]);
    expect(answer.status).toBe(400);
    const exchange = await tokenExchange(mark);
    expectPrimary(exchange, 'request.param_hygiene');
    expectNoSecretLeak(world);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startIdp, pkcePair, AuthorizeError, type StartedIdp } from './idp.js';

let idp: StartedIdp;
let agent: Agent;

beforeAll(async () => {
  idp = await startIdp();
  agent = new Agent({ connect: { ca: idp.caPem } });
});
afterAll(async () => {
  await agent?.close();
  await idp?.close();
});

async function postToken(form: Record<string, string>, basic?: [string, string]) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers['authorization'] = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  const response = await request(idp.endpoints.token, {
    method: 'POST',
    dispatcher: agent,
    headers,
    body: new URLSearchParams(form).toString(),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('test IdP (oidc-provider over HTTPS, no proxy)', () => {
  it('serves discovery over TLS signed by its own CA, with PKCE S256', async () => {
    const response = await request(idp.endpoints.discovery, { dispatcher: agent });
    const meta = (await response.body.json()) as Record<string, unknown>;
    expect(response.statusCode).toBe(200);
    expect(meta['issuer']).toBe(idp.issuer);
    expect(meta['token_endpoint']).toBe(idp.endpoints.token);
    expect(meta['code_challenge_methods_supported']).toEqual(['S256']);
    expect(idp.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('rejects a client that does not trust the test CA', async () => {
    await expect(request(idp.endpoints.discovery)).rejects.toThrow();
  });

  it('completes authorize without a browser and exchanges the code (client_secret_basic), then refreshes', async () => {
    const client = idp.clients.confidential;
    const redirectUri = client.redirectUris[0]!;
    const { verifier, challenge } = pkcePair();
    const auth = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge, state: 'state-1', scope: 'openid profile' });
    expect(auth.state).toBe('state-1');
    expect(auth.iss).toBe(idp.issuer);
    const token = await postToken(
      { grant_type: 'authorization_code', code: auth.code, redirect_uri: redirectUri, code_verifier: verifier },
      [client.clientId, client.clientSecret!],
    );
    expect(token.status).toBe(200);
    const body = token.json();
    expect(body['token_type']).toBe('Bearer');
    expect(typeof body['access_token']).toBe('string');
    expect(typeof body['id_token']).toBe('string');
    expect(typeof body['refresh_token']).toBe('string');

    const refreshed = await postToken(
      { grant_type: 'refresh_token', refresh_token: String(body['refresh_token']) },
      [client.clientId, client.clientSecret!],
    );
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.json()['access_token']).toBe('string');
  });

  it('accepts client_secret_post for the same client and rejects a reused code', async () => {
    const client = idp.clients.confidential;
    const redirectUri = client.redirectUris[0]!;
    const { verifier, challenge } = pkcePair();
    const { code } = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge });
    const form = {
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
      client_id: client.clientId, client_secret: client.clientSecret!,
    };
    expect((await postToken(form)).status).toBe(200);
    const again = await postToken(form);
    expect(again.status).toBe(400);
    expect(again.json()['error']).toBe('invalid_grant');
  });

  it('rejects a trailing-slash redirect_uri at the token endpoint and a wrong secret', async () => {
    const client = idp.clients.confidential;
    const redirectUri = client.redirectUris[0]!;
    const { verifier, challenge } = pkcePair();
    const { code } = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge });
    const slash = await postToken(
      { grant_type: 'authorization_code', code, redirect_uri: `${redirectUri}/`, code_verifier: verifier },
      [client.clientId, client.clientSecret!],
    );
    expect(slash.status).toBe(400);
    expect(slash.json()['error']).toBe('invalid_grant');

    const wrong = await postToken({ grant_type: 'client_credentials' }, [idp.clients.machine.clientId, 'not-the-secret']);
    expect(wrong.status).toBe(401);
    expect(wrong.json()['error']).toBe('invalid_client');
  });

  it('requires PKCE and refuses unregistered redirect URIs at authorize', async () => {
    const redirectUri = idp.clients.confidential.redirectUris[0]!;
    await expect(
      idp.authorizeAndGetCode({ redirectUri: `${redirectUri}/`, codeChallenge: pkcePair().challenge }),
    ).rejects.toBeInstanceOf(AuthorizeError);
    await expect(
      idp.authorizeAndGetCode({ redirectUri, codeChallenge: 'x'.repeat(43), codeChallengeMethod: 'plain' }),
    ).rejects.toThrow(/invalid_request|code_challenge_method/);
  });

  it('issues client_credentials tokens to the machine client', async () => {
    const machine = idp.clients.machine;
    const token = await postToken({ grant_type: 'client_credentials' }, [machine.clientId, machine.clientSecret!]);
    expect(token.status).toBe(200);
    expect(token.json()['token_type']).toBe('Bearer');
  });

  it('answers the next token requests with an HTML 500 and a 429 with Retry-After, then recovers', async () => {
    const machine = idp.clients.machine;
    const basic: [string, string] = [machine.clientId, machine.clientSecret!];
    idp.failNext({ status: 500 });
    idp.failNext({ status: 429, retryAfterSeconds: 7 });
    const first = await postToken({ grant_type: 'client_credentials' }, basic);
    expect(first.status).toBe(500);
    expect(first.headers['content-type']).toMatch(/text\/html/);
    expect(first.text).toContain('<title>500 Internal Server Error</title>');
    const second = await postToken({ grant_type: 'client_credentials' }, basic);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('7');
    const third = await postToken({ grant_type: 'client_credentials' }, basic);
    expect(third.status).toBe(200);
    expect(idp.requests['/token']).toBeGreaterThanOrEqual(3);
  });
});

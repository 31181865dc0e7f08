/**
 * redirect_uri rules against a real authorization server (oidc-provider over HTTPS on loopback):
 * the real responses are captured as they came off the wire and run through the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { Finding } from '../../../src/model.js';
import { authorizeAndGetCode, pkcePair, startIdp, type StartedIdp } from '../../support/idp.js';
import { authorizeRequest, runRules, tokenRequest, type ResponseSpec } from '../../support/exchanges.js';

let idp: StartedIdp;
let agent: Agent;

beforeAll(async () => {
  idp = await startIdp();
  agent = new Agent({ connect: { ca: idp.caPem } });
});

afterAll(async () => {
  await agent.close();
  await idp.close();
});

/** The response exactly as the IdP sent it, as a fixture response spec. */
async function captured(res: Awaited<ReturnType<typeof request>>): Promise<ResponseSpec> {
  const headers = Object.entries(res.headers).filter(([n]) => n !== 'content-length' && n !== 'transfer-encoding')
    .map(([n, v]) => [n, Array.isArray(v) ? v.join(', ') : String(v)] as [string, string]);
  const text = await res.body.text();
  const contentType = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers, ...(contentType.includes('json') ? { json: JSON.parse(text) as unknown } : { html: text }), contentType };
}

function secretsIn(findings: readonly Finding[], secrets: string[]): string[] {
  const text = JSON.stringify(findings);
  return secrets.filter((s) => text.includes(s) || text.includes(encodeURIComponent(s)));
}

describe('redirect_uri rules against oidc-provider', () => {
  it('the authorize request with a trailing slash is refused on an error page: trailing_slash against the registered list', async () => {
    const client = idp.clients.confidential;
    const registered = client.redirectUris[0] ?? '';
    const { challenge } = pkcePair();
    const params = { response_type: 'code', client_id: client.clientId, redirect_uri: `${registered}/`, scope: 'openid', state: 'st-7Hq2Lw9Zx4Vb8Nc3', code_challenge: challenge, code_challenge_method: 'S256' };
    const url = new URL(idp.endpoints.authorization);
    for (const [n, v] of Object.entries(params)) url.searchParams.set(n, v);
    const response = await captured(await request(url, { dispatcher: agent }));
    expect(response.status).toBe(400);

    const withConfig = runRules([authorizeRequest(params, { url: idp.endpoints.authorization, response })],
      { clients: [{ name: 'demo', clientId: client.clientId, redirectUris: client.redirectUris }] });
    const f = withConfig.of(0).find((x) => x.code === 'redirect_uri.trailing_slash');
    expect(f?.severity).toBe('error');
    expect(f?.evidence?.as_signal).toBe('invalid_redirect_uri');

    // Without config the AS's own page is enough to say "not registered".
    const bare = runRules([authorizeRequest(params, { url: idp.endpoints.authorization, response })]);
    expect(bare.of(0).find((x) => x.code === 'redirect_uri.not_registered')?.severity).toBe('error');
  });

  it('a code exchanged with a different redirect_uri than the authorize request', async () => {
    const client = idp.clients.confidential;
    const redirectUri = client.redirectUris[0] ?? '';
    const { verifier, challenge } = pkcePair();
    const state = 'st-Rm6Tp1Ks5Yd0Fg2Lw';
    const { code } = await authorizeAndGetCode({ idp, redirectUri, codeChallenge: challenge, state });
    const form = { grant_type: 'authorization_code', code, redirect_uri: `${redirectUri}/`, code_verifier: verifier };
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret ?? '')}`).toString('base64')}`;
    const res = await request(idp.endpoints.token, {
      method: 'POST', dispatcher: agent, body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    });
    const response = await captured(res);
    expect(response.status).toBe(400);

    const authorizeParams = { response_type: 'code', client_id: client.clientId, redirect_uri: redirectUri, scope: 'openid', state, code_challenge: challenge, code_challenge_method: 'S256' };
    const r = runRules([
      authorizeRequest(authorizeParams, { url: idp.endpoints.authorization }),
      tokenRequest({ url: idp.endpoints.token, basic: [client.clientId, client.clientSecret ?? ''], form, response }),
    ]);
    const f = r.of(1).find((x) => x.code === 'redirect_uri.trailing_slash');
    expect(f?.severity).toBe('error');
    expect(f?.confidence).toBe('high');
    expect(f?.evidence?.as_error).toMatchObject({ error: 'invalid_grant' });
    expect(secretsIn(r.findings.flat(), [code, verifier, client.clientSecret ?? '', state])).toEqual([]);
  });
});

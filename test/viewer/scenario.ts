/** A realistic redacted login story for viewer tests: discovery, authorize, a failing token call, API noise. */
import type { Exchange, Redacted } from '../../src/model.js';
import type { ExchangeStore } from '../../src/store/store.js';
import { makeExchange, makeFinding } from '../server/support.js';

export function seedLoginStory(store: ExchangeStore, t0 = Date.now() - 60_000): void {
  const flowId = 'flow-7c1e9a42';
  const add = (exchange: Redacted<Exchange>) => store.upsert(exchange);
  add(makeExchange({ id: 'disc-1', kind: 'discovery', method: 'GET', url: 'https://login.example-idp.com/.well-known/openid-configuration', status: 200, start: t0, durationMs: 38,
    responseJson: { issuer: 'https://login.example-idp.com', token_endpoint: 'https://login.example-idp.com/oauth2/token', jwks_uri: 'https://login.example-idp.com/jwks' } }, store));
  add(makeExchange({ id: 'api-1', kind: 'other', method: 'GET', url: 'https://api.github.com/repos/acme/app/releases', status: 200, start: t0 + 900, durationMs: 212, responseJson: [{ tag_name: 'v1.4.2' }] }, store));
  add(makeExchange({ id: 'authz-1', kind: 'authorize', method: 'GET', flowId,
    url: 'https://login.example-idp.com/oauth2/authorize?response_type=code&client_id=web-app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%2F&scope=openid%20profile&state=%5BREDACTED%20state%20len%3D22%20fp%3D51c2aa09%5D&code_challenge_method=S256',
    status: 302, start: t0 + 2000, durationMs: 61, responseText: '' }, store));
  add(makeExchange({ id: 'cb-1', kind: 'authorize_response', method: 'GET', flowId, url: 'https://app.example.com/callback/?code=%5BREDACTED%20code%20len%3D43%20fp%3D3f2a9c1d%5D&state=%5BREDACTED%20state%20len%3D22%20fp%3D51c2aa09%5D', status: 302, start: t0 + 5200, durationMs: 12, responseText: '' }, store));
  const token = makeExchange({ id: 'token-1', kind: 'token', flowId, url: 'https://login.example-idp.com/oauth2/token', status: 400, start: t0 + 5300, durationMs: 143,
    findings: [makeFinding({ flowId }), makeFinding({ code: 'pkce.verifier_missing', severity: 'warning', primary: false, title: 'The authorize request used PKCE but the token request has no code_verifier',
      detail: 'The authorization request carried code_challenge (S256) but the token request sent no code_verifier, so providers that enforce PKCE reject the exchange.',
      fix: 'Send the code_verifier you generated for this login in the token request body.', confidence: 'medium', evidence: { code_challenge_method: 'S256' } })] }, store);
  (token as Exchange).oauth.jwts = [{ location: 'request.client_assertion', header: { alg: 'RS256', kid: 'key-2024-07', typ: 'JWT' },
    claims: { iss: 'web-app', sub: 'web-app', aud: 'https://login.example-idp.com/oauth2/token', exp: 1_790_000_000, iat: 1_789_999_700, jti: '[REDACTED jti len=36 fp=0d9e11f3]' } }];
  (token as Exchange).oauth.providerError = { error: 'invalid_grant', error_description: 'redirect_uri mismatch' };
  add(token);
  add(makeExchange({ id: 'jwks-1', kind: 'jwks', method: 'GET', url: 'https://login.example-idp.com/jwks', status: 200, start: t0 + 5600, durationMs: 22, responseJson: { keys: [{ kty: 'RSA', kid: 'key-2024-07', use: 'sig' }] } }, store));
  add(makeExchange({ id: 'api-2', kind: 'other', method: 'POST', url: 'https://telemetry.example.net/v1/events', status: 204, start: t0 + 6100, durationMs: 9, responseText: '' }, store));
}

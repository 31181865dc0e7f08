/** §1.11 OIDC, keys, discovery (R54–R60), through the real engine. */
import { describe, expect, it } from 'vitest';
import {
  AUTHORIZE_URL, BASE_TIME, CLIENT_ID, CLIENT_SECRET, IDP, REDIRECT_URI, T, TOKEN_URL, authorizeRedirect, authorizeRequest,
  callbackRequest, discoveryRequest, exchange, jwt, oauthError, runRules, tokenRequest, tokenSuccess,
} from '../../support/exchanges.js';
import { expectNoSecrets, none, only } from './families-support.js';

const STATE = 'st-4f9a1c2e7b8d4e6fa0b1c2d3e4f5a6b7';
const NONCE = 'n-0S6_WzA2Mj-secret-nonce-value-77';
const OTHER_NONCE = 'n-ZZ9_other-login-nonce-value-1234';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-code-0123456789';
const SUB = 'user-248289761001';
const now = Math.floor(BASE_TIME / 1000);

const idToken = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = { alg: 'RS256', kid: 'k1', typ: 'JWT' }) =>
  jwt({ iss: IDP, aud: CLIENT_ID, sub: SUB, nonce: NONCE, iat: now, exp: now + 3600, ...claims }, header);

/** authorize → 302 with code → code exchange returning `idt`. */
function codeFlow(idt: string, opts: { nonce?: string | null; discovery?: Record<string, unknown>; tokenUrl?: string } = {}) {
  const nonce = opts.nonce === undefined ? NONCE : opts.nonce;
  return [
    ...(opts.discovery ? [discoveryRequest(opts.discovery, { at: T(0) })] : []),
    authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid profile', state: STATE, ...(nonce ? { nonce } : {}) }, { at: T(1) }),
    authorizeRedirect({ code: CODE, state: STATE }, { at: T(5) }),
    tokenRequest({
      at: T(6), url: opts.tokenUrl ?? TOKEN_URL,
      form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      response: tokenSuccess({ id_token: idt, scope: 'openid profile' }),
    }),
  ];
}
const SECRETS = [NONCE, OTHER_NONCE, CODE, CLIENT_SECRET, SUB];

describe('id_token.nonce_mismatch (R54)', () => {
  it('flags an id_token whose nonce is not the authorize nonce', () => {
    const r = runRules(codeFlow(idToken({ nonce: OTHER_NONCE })));
    const f = only(r, 2, 'id_token.nonce_mismatch');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(String(f.evidence?.nonce_sent)).toMatch(/^\[REDACTED nonce len=\d+ fp=[0-9a-f]{12}/);
    expect(f.exchangeIds).toEqual([r.exchanges[0]!.id, r.exchanges[2]!.id]);
    expectNoSecrets(r, SECRETS);
  });

  it('flags an id_token without a nonce although the authorize request sent one', () => {
    const r = runRules(codeFlow(idToken({ nonce: undefined })));
    expect(only(r, 2, 'id_token.nonce_mismatch').title).toMatch(/has no nonce/);
  });

  it('near miss: the id_token echoes the authorize nonce', () => {
    const r = runRules(codeFlow(idToken()));
    none(r, 2, 'id_token.nonce_mismatch');
  });

  it('near miss: no nonce on either side', () => {
    const r = runRules(codeFlow(idToken({ nonce: undefined }), { nonce: null }));
    none(r, 2, 'id_token.nonce_mismatch');
  });
});

describe('id_token.claims_invalid (R55)', () => {
  it('flags an id_token issued to another client (aud)', () => {
    const r = runRules(codeFlow(idToken({ aud: 'staging-client-9' })));
    const f = only(r, 2, 'id_token.claims_invalid');
    expect(f.severity).toBe('error');
    expect(f.evidence?.problems).toEqual(['aud']);
    expectNoSecrets(r, SECRETS);
  });

  it('flags an Entra v1 issuer against the v2.0 discovery issuer', () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const issuer = `https://login.microsoftonline.com/${tid}/v2.0`;
    const r = runRules([
      discoveryRequest({ issuer, token_endpoint: `https://login.microsoftonline.com/${tid}/oauth2/v2.0/token` }, { at: T(0) }),
      tokenRequest({
        at: T(2), url: `https://login.microsoftonline.com/${tid}/oauth2/v2.0/token`,
        form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
        response: tokenSuccess({ id_token: idToken({ iss: `https://sts.windows.net/${tid}/`, tid, nonce: undefined }) }),
      }),
    ]);
    const f = only(r, 1, 'id_token.claims_invalid');
    expect(f.evidence?.problems).toEqual(['iss']);
    expect(f.detail).toMatch(/v1 token/);
  });

  it('flags alg none and an already expired id_token', () => {
    const r = runRules(codeFlow(idToken({ exp: now - 120 }, { alg: 'none', typ: 'JWT' })));
    const f = only(r, 2, 'id_token.claims_invalid');
    expect(f.evidence?.problems).toEqual(['exp', 'alg_none']);
  });

  it('near miss: aud, iss, exp and alg all as expected (discovery observed, Entra template with tid)', () => {
    const tid = '9188040d-6c67-4c5b-b112-36a304b66dad';
    const r = runRules([
      discoveryRequest({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', token_endpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' }, { at: T(0), url: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration' }),
      tokenRequest({
        at: T(2), url: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
        form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
        response: tokenSuccess({ id_token: idToken({ iss: `https://login.microsoftonline.com/${tid}/v2.0`, tid, aud: [CLIENT_ID], nonce: undefined }) }),
      }),
    ]);
    none(r, 1, 'id_token.claims_invalid');
  });
});

describe('clock.skew (R56)', () => {
  const assertion = (iat: number) => jwt({ iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_URL, jti: `jti-${iat}`, iat, exp: iat + 300 }, { alg: 'RS256', kid: 'client-key-1' });
  const ccAssertion = (iat: number, date: Date, response = tokenSuccess()) => tokenRequest({
    at: date.getTime(),
    form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(iat), scope: 'orders.read' },
    response: { ...response, headers: { ...(response.headers as Record<string, string>), Date: date.toUTCString() } },
  });

  it('flags a client_assertion minted 90 s in the future of the AS Date (rejected → error)', () => {
    const date = new Date(T(10));
    const r = runRules([ccAssertion(Math.floor(date.getTime() / 1000) + 90, date, oauthError('invalid_client', 'AADSTS700024: Client assertion is not within its valid time range.', 401))]);
    const f = only(r, 0, 'clock.skew');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.skew_ms).toBe(90_000);
  });

  it('flags an id_token issued two minutes ahead of the lens clock', () => {
    const r = runRules(codeFlow(idToken({ iat: now + 126, nbf: now + 126, exp: now + 3726 })));
    const f = only(r, 2, 'clock.skew');
    expect(f.severity).toBe('warning');
    expect(f.title).toMatch(/id_token issued \d+ s in the future/);
  });

  it('near miss: a client_assertion 10 s ahead is within tolerance', () => {
    const date = new Date(T(10));
    const r = runRules([ccAssertion(Math.floor(date.getTime() / 1000) + 10, date)]);
    none(r, 0, 'clock.skew');
  });
});

describe('jwks.kid_not_found (R57)', () => {
  const jwks = (kids: string[], at: number) => exchange({ at, url: `${IDP}/jwks` }, {
    method: 'GET', response: { status: 200, json: { keys: kids.map((kid) => ({ kty: 'RSA', kid, use: 'sig', alg: 'RS256', n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl', e: 'AQAB' })) } },
  });

  it('flags a token signed with a kid missing from the cached JWKS (stale cache after rotation)', () => {
    const r = runRules([jwks(['k1'], T(0)), ...codeFlow(idToken({}, { alg: 'RS256', kid: 'k2-rotated', typ: 'JWT' }))]);
    const f = only(r, 3, 'jwks.kid_not_found');
    expect(f.severity).toBe('error');
    expect(f.evidence?.pattern).toBe('stale_cache');
    expect(f.evidence?.kids_in_jwks).toEqual(['k1']);
  });

  it('flags a JWKS fetched after the token that lacks its kid (wrong key set)', () => {
    const r = runRules([...codeFlow(idToken({}, { alg: 'RS256', kid: 'tenant-a-key', typ: 'JWT' })), jwks(['tenant-b-key'], T(7))]);
    const f = only(r, 3, 'jwks.kid_not_found');
    expect(f.evidence?.pattern).toBe('wrong_key_set');
    expectNoSecrets(r, SECRETS);
  });

  it('near miss: the refetched JWKS has the new kid', () => {
    const r = runRules([jwks(['k1'], T(0)), ...codeFlow(idToken({}, { alg: 'RS256', kid: 'k2', typ: 'JWT' })), jwks(['k1', 'k2'], T(7))]);
    none(r, 4, 'jwks.kid_not_found');
    const ok = runRules([jwks(['k1', 'k2'], T(0)), ...codeFlow(idToken({}, { alg: 'RS256', kid: 'k2', typ: 'JWT' }))]);
    none(ok, 3, 'jwks.kid_not_found');
  });
});

describe('discovery.issuer_mismatch (R58)', () => {
  it('flags a Keycloak document whose issuer uses http behind a TLS-terminating proxy', () => {
    const url = 'https://sso.example.com/realms/shop/.well-known/openid-configuration';
    const r = runRules([discoveryRequest({ issuer: 'http://sso.example.com/realms/shop' }, { url })]);
    const f = only(r, 0, 'discovery.issuer_mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.difference).toBe('scheme');
    expect(f.evidence?.expected_issuer).toBe('https://sso.example.com/realms/shop');
  });

  it('flags Entra /common returning the {tenantid} template (warning)', () => {
    const r = runRules([discoveryRequest({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }, { url: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration' })]);
    const f = only(r, 0, 'discovery.issuer_mismatch');
    expect(f.severity).toBe('warning');
    expect(f.detail).toMatch(/tid/);
  });

  it('flags an issuer that is not a URL at all (no throw)', () => {
    const r = runRules([discoveryRequest({ issuer: 'my-realm' }, { url: 'https://sso.example.com/realms/my-realm/.well-known/openid-configuration' })]);
    expect(only(r, 0, 'discovery.issuer_mismatch').evidence?.difference).toBe('host');
  });

  it('near miss: Auth0 issuer with its trailing slash, and an RFC 8414 inserted path', () => {
    const r = runRules([
      discoveryRequest({ issuer: 'https://tenant.eu.auth0.com/' }, { url: 'https://tenant.eu.auth0.com/.well-known/openid-configuration' }),
      discoveryRequest({ issuer: 'https://id.example.org/tenant1' }, { url: 'https://id.example.org/.well-known/oauth-authorization-server/tenant1' }),
    ]);
    none(r, 0, 'discovery.issuer_mismatch');
    none(r, 1, 'discovery.issuer_mismatch');
  });
});

describe('discovery.endpoint_drift (R59)', () => {
  it('flags a token call to a URL the observed metadata does not advertise', () => {
    const r = runRules(codeFlow(idToken(), { discovery: { token_endpoint: `${IDP}/oauth2/v2/token` } }));
    const f = only(r, 3, 'discovery.endpoint_drift');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.advertised).toBe(`${IDP}/oauth2/v2/token`);
    expect(f.evidence?.called).toBe(TOKEN_URL);
  });

  it('flags Google\'s legacy token URL (escalated: the call failed)', () => {
    const r = runRules([
      discoveryRequest({ issuer: 'https://accounts.google.com', authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth', token_endpoint: 'https://oauth2.googleapis.com/token' }, { at: T(0), url: 'https://accounts.google.com/.well-known/openid-configuration' }),
      tokenRequest({ at: T(3), url: 'https://accounts.google.com/o/oauth2/token', form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, response: { status: 404, html: '<html><title>Error 404 (Not Found)!!1</title></html>' } }),
    ]);
    const f = only(r, 1, 'discovery.endpoint_drift');
    expect(f.severity).toBe('error');
    expect(f.detail).toMatch(/oauth2\.googleapis\.com\/token/);
  });

  it('near miss: the advertised endpoint, with an explicit default port', () => {
    const r = runRules(codeFlow(idToken(), { discovery: {}, tokenUrl: 'https://idp.example.com:443/oauth/token' }));
    none(r, 3, 'discovery.endpoint_drift');
  });
});

describe('authorize_response.iss_mismatch (R60)', () => {
  const flow = (iss: string | undefined, supported = true) => [
    discoveryRequest({ authorization_response_iss_parameter_supported: supported }, { at: T(0) }),
    authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE, nonce: NONCE }, { at: T(1), url: AUTHORIZE_URL }),
    authorizeRedirect({ code: CODE, state: STATE, ...(iss !== undefined ? { iss } : {}) }, { at: T(4) }),
    callbackRequest({ code: CODE, state: STATE, ...(iss !== undefined ? { iss } : {}) }, { at: T(5) }),
  ];

  it('flags an iss naming another AS (mix-up)', () => {
    const r = runRules(flow('https://evil-as.example.net'));
    const f = only(r, 2, 'authorize_response.iss_mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.expected_issuer).toBe(IDP);
    expect(only(r, 3, 'authorize_response.iss_mismatch').evidence?.iss).toBe('https://evil-as.example.net');
    expectNoSecrets(r, SECRETS);
  });

  it('flags a missing iss when the AS advertises authorization_response_iss_parameter_supported', () => {
    const r = runRules(flow(undefined));
    expect(only(r, 2, 'authorize_response.iss_mismatch').title).toMatch(/lacks iss/);
  });

  it('near miss: iss equals the issuer; or absent while the AS does not advertise it', () => {
    const r = runRules(flow(IDP));
    none(r, 2, 'authorize_response.iss_mismatch');
    none(r, 3, 'authorize_response.iss_mismatch');
    none(runRules(flow(undefined, false)), 2, 'authorize_response.iss_mismatch');
  });

  it('near miss: Entra multi-tenant template issuer matches any tenant\'s iss of that shape', () => {
    const entra = 'https://login.microsoftonline.com';
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const run = (iss: string) => runRules([
      discoveryRequest({ issuer: `${entra}/{tenantid}/v2.0`, authorization_endpoint: `${entra}/common/oauth2/v2.0/authorize`, authorization_response_iss_parameter_supported: true }, { at: T(0), url: `${entra}/common/v2.0/.well-known/openid-configuration` }),
      authorizeRedirect({ code: CODE, state: STATE, iss }, { at: T(4), url: `${entra}/common/oauth2/v2.0/authorize?client_id=${CLIENT_ID}` }),
    ]);
    none(run(`${entra}/${tid}/v2.0`), 1, 'authorize_response.iss_mismatch');
    expect(only(run(`https://sts.windows.net/${tid}/`), 1, 'authorize_response.iss_mismatch').severity).toBe('error');
  });
});


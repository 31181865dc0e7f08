/**
 * PKCE rules (R32–R36) through the real engine: the lens recomputes S256(verifier) before redaction
 * and compares it with the challenge of the proxied authorize request. RFC 7636 App. B vector.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, T, authorizeRedirect, authorizeRequest, discoveryRequest, oauthError,
  runRules, tokenRequest, type RequestSpec,
} from '../../support/exchanges.js';
import { pkcePair } from '../../support/idp.js';
import { useLiveIdp, type LiveIdp } from './families-live.js';
import { expectNoSecret, findingOf } from './no-secret.js';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // RFC 7636 App. B
const OTHER_VERIFIER = 'Zq9xW3vB7nM1kL5jH8gF2dS6aP0oI4uY-_.~tRe3w';
const CODE = 'SplxlOBeZQQYbYS6WxSbIA-7f3b2c9d1e';
const STATE = 'af0ifjsldkj-Xy7Q2b';
const SECRETS = [VERIFIER, OTHER_VERIFIER, CODE, CLIENT_SECRET, STATE];
const digest = (v: string) => createHash('sha256').update(v, 'ascii').digest();
const KC = 'https://sso.example.com/realms/shop/protocol/openid-connect';

const authz = (pkce: Record<string, string>, state = STATE, at = T(0)) => authorizeRequest({
  response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state, ...pkce,
}, { at });
const token = (extra: Record<string, string>, at = T(5), response?: RequestSpec['response']) => tokenRequest({
  form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...extra },
  at, ...(response !== undefined ? { response } : {}),
});
const flow = (pkce: Record<string, string>, tokenExtra: Record<string, string>, response?: RequestSpec['response']) => runRules([
  authz(pkce),
  authorizeRedirect({ code: CODE, state: STATE }, { at: T(3) }),
  token(tokenExtra, T(5), response),
]);
const S256 = { code_challenge: CHALLENGE, code_challenge_method: 'S256' };

describe('pkce.verifier_missing (R32)', () => {
  it('flags a code exchange without code_verifier after an S256 authorize request', () => {
    const r = flow(S256, {}, oauthError('invalid_grant', 'PKCE verification failed: Code verifier not specified'));
    const f = findingOf(r.of(2), 'pkce.verifier_missing');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.code_challenge).toBe(CHALLENGE);
    expect(f.exchangeIds[0]).toBe(r.exchanges[0]?.id);
    expect(f.detail).toMatch(/lost_verifier/);
    expectNoSecret(r.of(2), SECRETS);
  });

  it('trusts Entra AADSTS501481 when the authorize request was not captured', () => {
    const r = runRules([tokenRequest({
      url: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
      form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID },
      response: { status: 400, json: { error: 'invalid_grant', error_description: 'AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.\r\nTrace ID: 5d1e…', error_codes: [501481] } },
    })]);
    expect(findingOf(r.of(0), 'pkce.verifier_missing').confidence).toBe('medium');
  });

  it('near miss: the verifier is sent', () => {
    expect(flow(S256, { code_verifier: VERIFIER }).codes.flat()).not.toContain('pkce.verifier_missing');
  });
});

describe('pkce.verifier_mismatch (R33)', () => {
  it('explains a hex-digest challenge', () => {
    const r = flow({ code_challenge: digest(VERIFIER).toString('hex'), code_challenge_method: 'S256' }, { code_verifier: VERIFIER }, oauthError('invalid_grant', 'PKCE verification failed'));
    const f = findingOf(r.of(2), 'pkce.verifier_mismatch');
    expect(f.severity).toBe('error');
    expect(f.evidence?.transform).toBe('hex_digest');
    expect(f.evidence?.s256OfVerifier).toBe(CHALLENGE);
    expectNoSecret(r.of(2), SECRETS);
  });

  it('explains padded standard base64 and an omitted method (AS applies plain)', () => {
    const padded = flow({ code_challenge: digest(VERIFIER).toString('base64'), code_challenge_method: 'S256' }, { code_verifier: VERIFIER });
    expect(findingOf(padded.of(2), 'pkce.verifier_mismatch').evidence?.transform).toBe('padded_or_std_base64');
    const noMethod = flow({ code_challenge: CHALLENGE }, { code_verifier: VERIFIER }, oauthError('invalid_grant', 'PKCE verification failed'));
    expect(findingOf(noMethod.of(2), 'pkce.verifier_mismatch').evidence?.transform).toBe('method_default_plain');
  });

  it('finds the verifier of another tab (#other_session)', () => {
    const otherChallenge = digest(OTHER_VERIFIER).toString('base64url');
    const r = runRules([
      authz(S256, STATE, T(0)),
      authz({ code_challenge: otherChallenge, code_challenge_method: 'S256' }, 'tab2-state-QwErTy', T(1)),
      authorizeRedirect({ code: CODE, state: STATE }, { at: T(3) }),
      token({ code_verifier: OTHER_VERIFIER }, T(5), oauthError('invalid_grant', 'PKCE verification failed')),
    ]);
    const f = findingOf(r.of(3), 'pkce.verifier_mismatch');
    expect(f.evidence?.matchesAuthorize).toBe(r.exchanges[1]?.id);
    expectNoSecret(r.of(3), SECRETS);
  });

  it('links through an authorize request answered directly with the code (existing session)', () => {
    const r = runRules([
      authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE, prompt: 'none', ...S256 }, {
        at: T(0), response: { status: 302, headers: { Location: `${REDIRECT_URI}?code=${CODE}&state=${STATE}` } },
      }),
      token({ code_verifier: OTHER_VERIFIER }, T(1), oauthError('invalid_grant', 'PKCE verification failed')),
    ]);
    const f = findingOf(r.of(1), 'pkce.verifier_mismatch');
    expect(f.confidence).toBe('high');
    expect(f.exchangeIds).toEqual([r.exchanges[0]?.id, r.exchanges[1]?.id]);
    expectNoSecret(r.of(1), SECRETS);
  });

  it('trusts Keycloak "PKCE verification failed" without the authorize request', () => {
    const r = runRules([tokenRequest({ url: `${KC}/token`, form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: VERIFIER }, response: oauthError('invalid_grant', 'PKCE verification failed') })]);
    expect(findingOf(r.of(0), 'pkce.verifier_mismatch').confidence).toBe('medium');
  });

  it('near miss: the RFC 7636 App. B vector matches', () => {
    expect(flow(S256, { code_verifier: VERIFIER }).codes.flat()).not.toContain('pkce.verifier_mismatch');
  });
});

describe('pkce.unexpected_verifier (R34)', () => {
  it('warns when a verifier follows an authorize request without a challenge, and notes a lax AS', () => {
    const r = flow({}, { code_verifier: VERIFIER });
    const f = findingOf(r.of(2), 'pkce.unexpected_verifier');
    expect(f.severity).toBe('warning');
    expect(f.evidence?.asNonConformant).toBe(true);
    expect(f.detail).toMatch(/downgrade/);
    expectNoSecret(r.of(2), SECRETS);
  });

  it('escalates to error when the AS refuses it', () => {
    const r = flow({}, { code_verifier: VERIFIER }, oauthError('invalid_grant', 'code_verifier was provided but no code_challenge was sent'));
    expect(findingOf(r.of(2), 'pkce.unexpected_verifier').severity).toBe('error');
  });

  it('near miss: authorize with a challenge', () => {
    expect(flow(S256, { code_verifier: VERIFIER }).codes.flat()).not.toContain('pkce.unexpected_verifier');
  });
});

describe('pkce.malformed (R35)', () => {
  it('flags a short verifier and a verifier in standard base64', () => {
    const r = runRules([
      token({ code_verifier: 'tooShortVerifier-123' }),
      token({ code_verifier: `${digest('x').toString('base64')}abcdefgh` }),
    ]);
    expect(findingOf(r.of(0), 'pkce.malformed').title).toMatch(/20 characters/);
    expect(findingOf(r.of(1), 'pkce.malformed').detail).toMatch(/outside \[A-Za-z0-9-._~\]/);
    expectNoSecret(r.findings.flat(), ['tooShortVerifier-123']);
  });

  it('flags a lower-case method and a padded challenge on the authorize request', () => {
    const r = runRules([
      authz({ code_challenge: CHALLENGE, code_challenge_method: 's256' }),
      authz({ code_challenge: `${CHALLENGE}=`, code_challenge_method: 'S256' }, 'st-2-abcdef'),
    ]);
    expect(findingOf(r.of(0), 'pkce.malformed').detail).toMatch(/meant "S256"/);
    expect(findingOf(r.of(1), 'pkce.malformed').detail).toMatch(/standard base64/);
  });

  it('reports Google rejecting the challenge on the authorization response', () => {
    const r = runRules([
      authz({ code_challenge: `${CHALLENGE}=`, code_challenge_method: 'S256' }, STATE, T(0)),
      authorizeRedirect({ error: 'invalid_request', error_description: 'Code Challenge must be base64 encoded.', state: STATE }, { at: T(1) }),
    ]);
    expect(findingOf(r.of(1), 'pkce.malformed').confidence).toBe('medium');
  });

  it('reads the complaint from an error page at the authorize endpoint', () => {
    const r = runRules([authorizeRequest({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: STATE, code_challenge: CHALLENGE, code_challenge_method: 'S256' }, {
      url: `${KC}/auth`,
      response: { status: 400, html: '<html><head><title>Sign in to shop</title></head><body><div id="kc-error-message"><p class="instruction">Invalid parameter: code_challenge</p></div></body></html>' },
    })]);
    const f = findingOf(r.of(0), 'pkce.malformed');
    expect(f.confidence).toBe('medium');
  });

  it('near miss: a 43-character verifier and a proper S256 challenge', () => {
    expect(flow(S256, { code_verifier: VERIFIER }).codes.flat()).not.toContain('pkce.malformed');
  });
});

describe('pkce.weak_or_absent (R36)', () => {
  it('warns on the plain method and on an omitted method', () => {
    const r = runRules([
      authz({ code_challenge: VERIFIER, code_challenge_method: 'plain' }),
      authz({ code_challenge: CHALLENGE }, 'st-2-abcdef'),
    ]);
    expect(findingOf(r.of(0), 'pkce.weak_or_absent').severity).toBe('warning');
    expect(findingOf(r.of(1), 'pkce.weak_or_absent').title).toMatch(/omitted/);
    expectNoSecret(r.findings.flat(), [STATE]);
  });

  it('reports a code flow without PKCE when discovery advertises S256: info, warning for a configured SPA', () => {
    const unknown = runRules([discoveryRequest(), authz({})]);
    expect(findingOf(unknown.of(1), 'pkce.weak_or_absent').severity).toBe('info');
    const spa = runRules([discoveryRequest(), authz({})], { clients: [{ name: 'web', clientId: CLIENT_ID, type: 'spa' }] });
    expect(findingOf(spa.of(1), 'pkce.weak_or_absent').severity).toBe('warning');
  });

  it('warns on a public client redeeming a code without PKCE when only the token call is seen', () => {
    const r = runRules([discoveryRequest(), tokenRequest({ form: { grant_type: 'authorization_code', code: CODE, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID } })]);
    const f = findingOf(r.of(1), 'pkce.weak_or_absent');
    expect(f.severity).toBe('warning');
    expectNoSecret(r.of(1), SECRETS);
  });

  it('near misses: S256 PKCE; no PKCE at an AS that advertises none', () => {
    expect(runRules([discoveryRequest(), authz(S256)]).codes.flat()).not.toContain('pkce.weak_or_absent');
    expect(runRules([discoveryRequest({ code_challenge_methods_supported: undefined }), authz({})]).codes.flat()).not.toContain('pkce.weak_or_absent');
  });
});

describe('against oidc-provider through the real proxy (PKCE required)', () => {
  let live: LiveIdp;
  useLiveIdp((started) => {
    live = started;
  });

  it('a verifier from another login → verifier_mismatch #other_session; no verifier → verifier_missing; the right one → quiet', async () => {
    const { idp, lens } = live;
    const client = idp.clients.confidential;
    const redirectUri = client.redirectUris[0] ?? '';
    const proxy = { url: lens.proxy.url, caPem: lens.ca.certPem };
    const a = pkcePair();
    const b = pkcePair();
    const c = pkcePair();
    const first = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: a.challenge, state: 'live-state-tab-one', proxy });
    const second = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: b.challenge, state: 'live-state-tab-two', proxy });
    const third = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: c.challenge, state: 'live-state-tab-three', proxy });
    const basic = ['-u', `${client.clientId}:${client.clientSecret ?? ''}`];
    const form = (code: string, verifier?: string) => ['--data-urlencode', 'grant_type=authorization_code', '--data-urlencode', `code=${code}`,
      '--data-urlencode', `redirect_uri=${redirectUri}`, ...(verifier ? ['--data-urlencode', `code_verifier=${verifier}`] : [])];
    expect(await live.curl(idp.endpoints.token, [...basic, ...form(first.code, b.verifier)])).toBe(400);
    expect(await live.curl(idp.endpoints.token, [...basic, ...form(second.code)])).toBe(400);
    expect(await live.curl(idp.endpoints.token, [...basic, ...form(third.code, c.verifier)])).toBe(200);

    const r = runRules(lens.captured);
    const tokens = r.exchanges.map((e, i) => [e, i] as const).filter(([e]) => e.oauth.kind === 'token').map(([, i]) => i);
    expect(tokens).toHaveLength(3);
    const [mismatch, missing, ok] = tokens as [number, number, number];
    const f = findingOf(r.of(mismatch), 'pkce.verifier_mismatch');
    expect(f.severity).toBe('error');
    expect(f.confidence).toBe('high');
    expect(f.evidence?.code_challenge).toBe(a.challenge);
    expect(f.evidence?.matchesAuthorize).toBeDefined();
    expect(findingOf(r.of(missing), 'pkce.verifier_missing').evidence?.code_challenge).toBe(b.challenge);
    expect(r.codes[ok]?.filter((code) => code.startsWith('pkce.'))).toEqual([]);
    expectNoSecret(r.findings.flat(), [a.verifier, b.verifier, c.verifier, first.code, second.code, third.code, client.clientSecret ?? '']);
  });
});

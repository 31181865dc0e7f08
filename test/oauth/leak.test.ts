/**
 * The redaction boundary as a property: a generated secret placed in any secret position, in any
 * wire encoding, never appears — raw, percent-encoded, form-encoded, base64/base64url or JSON-escaped —
 * in the serialised redacted exchanges, in what rules see, in the engine's log output or in error text.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { OAuthEngine } from '../../src/oauth/engine.js';
import type { Rule } from '../../src/oauth/rules/types.js';
import { ALL_RULES } from '../../src/oauth/rules/index.js';
import type { CapturedExchange } from '../../src/capture/types.js';
import {
  APP, AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI, TOKEN_URL, authorizeRedirect, callbackRequest, encodeForm, exchange, jwt,
  oauthError, tokenRequest, T,
} from '../support/exchanges.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=!*$@:%, ';
const secretArb = fc
  .array(fc.constantFrom(...ALPHABET.split('')), { minLength: 14, maxLength: 48 })
  .map((chars) => chars.join(''))
  .filter((s) => s.trim() === s && new Set(s).size >= 8);

/** Every encoding a secret could take in the output. */
function needles(secret: string): string[] {
  const out = new Set([
    secret,
    encodeURIComponent(secret),
    encodeForm({ v: secret }).slice(2),
    JSON.stringify(secret).slice(1, -1),
    Buffer.from(secret).toString('base64').replace(/=+$/, ''),
    Buffer.from(secret).toString('base64url'),
  ]);
  return [...out].filter((n) => n.length >= 10);
}

type Position = (s: string) => CapturedExchange[];

const json = (value: unknown, status = 200) => ({ status, json: value });

const POSITIONS: Record<string, Position> = {
  form_client_secret: (s) => [tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: s } })],
  form_code_verifier: (s) => [tokenRequest({ form: { grant_type: 'authorization_code', code: `c-${s}`, code_verifier: s, redirect_uri: REDIRECT_URI } })],
  form_refresh_token: (s) => [tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: s, client_id: CLIENT_ID } })],
  form_password: (s) => [tokenRequest({ form: { grant_type: 'password', username: 'alice', password: s } })],
  form_assertion_jwt: (s) => [tokenRequest({ form: { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt({ iss: CLIENT_ID, sub: CLIENT_ID, secret_claim: s }) } })],
  basic_auth: (s) => [tokenRequest({ form: { grant_type: 'client_credentials' }, basic: [CLIENT_ID, s] })],
  basic_auth_unencoded: (s) => [tokenRequest({ form: { grant_type: 'client_credentials' }, basicRaw: [CLIENT_ID, s] })],
  dpop_htu_query: (s) => [exchange({ method: 'POST', url: `${TOKEN_URL}`, headers: { DPoP: jwt({ htm: 'POST', htu: `${TOKEN_URL}?access_token=${encodeURIComponent(s)}`, iat: 1 }, { alg: 'ES256', typ: 'dpop+jwt' }) }, form: { grant_type: 'client_credentials' }, response: json({ access_token: 'a'.repeat(24), token_type: 'DPoP' }) })],
  bearer_header: (s) => [exchange({ url: 'https://api.example.com/v1/me', bearer: s, response: json({ ok: true }) })],
  bearer_jwt: (s) => [exchange({ url: 'https://api.example.com/v1/me', bearer: jwt({ sub: s, email: s, scope: 'read' }), response: json({ ok: true }) })],
  link_header_query: (s) => [exchange({ url: 'https://api.example.com/v1/list', response: { status: 200, headers: [['Link', `<https://api.example.com/v1/list?page=2&access_token=${encodeURIComponent(s)}>; rel="next"`], ['X-Debug', `refresh_token=${encodeURIComponent(s)}`]], json: {} } })],
  api_key_header: (s) => [exchange({ url: 'https://api.example.com/v1/x', headers: { 'X-Api-Key': s }, response: json({}) })],
  proxy_authorization: (s) => [exchange({ url: 'http://api.example.com/', headers: { 'Proxy-Authorization': `Basic ${Buffer.from(`u:${s}`).toString('base64')}` }, response: json({}) })],
  query_client_secret: (s) => [exchange({ method: 'GET', url: `${TOKEN_URL}?grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${encodeURIComponent(s)}`, response: json({ error: 'invalid_request' }, 400) })],
  query_access_token: (s) => [exchange({ url: `https://api.example.com/v1/me?access_token=${encodeURIComponent(s)}`, response: json({}) })],
  fragment_token: (s) => [exchange({ url: `${APP}/cb#access_token=${encodeURIComponent(s)}&token_type=bearer`, response: { status: 200, html: '<title>x</title>' } })],
  location_code: (s) => [authorizeRedirect({ code: s, state: 'state-1234567' })],
  location_fragment_token: (s) => [authorizeRedirect({ access_token: s, state: 'state-1234567', token_type: 'Bearer' }, { mode: 'fragment' })],
  form_post_code: (s) => [authorizeRedirect({ code: s, state: 'state-1234567' }, { mode: 'form_post' })],
  callback_code_and_referer: (s) => [
    callbackRequest({ code: s, state: 'state-1234567' }),
    exchange({ url: 'https://cdn.example.net/app.js', headers: { Referer: `${REDIRECT_URI}?code=${encodeURIComponent(s)}&state=state-1234567` }, response: { status: 200, text: 'x' } }),
  ],
  cookie: (s) => [exchange({ url: `${APP}/`, cookies: { sid: encodeURIComponent(s), theme: 'dark' }, response: { status: 200, headers: [['Set-Cookie', `sid=${encodeURIComponent(s)}; Path=/; HttpOnly; SameSite=Lax`]], html: '<title>Home</title>' } })],
  set_cookie: (s) => [exchange({ url: `${APP}/login`, response: { status: 302, headers: [['Location', '/'], ['Set-Cookie', `next-auth.pkce.code_verifier=${encodeURIComponent(s)}; Path=/; Secure`]] } })],
  json_request_body: (s) => [tokenRequest({ json: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: s } })],
  json_nested_response: (s) => [tokenRequest({ form: { grant_type: 'authorization_code', code: 'abc-123456789' }, response: json({ ok: true, authed_user: { id: 'U1', access_token: s, refresh_token: `r-${s}` }, access_token: `xoxb-${s.replace(/[^A-Za-z0-9]/g, 'a')}` }) })],
  token_response: (s) => [tokenRequest({ form: { grant_type: 'client_credentials' }, response: json({ access_token: s, token_type: 'Bearer', expires_in: 3600, refresh_token: s.split('').reverse().join('') }) })],
  id_token_claims: (s) => [tokenRequest({ form: { grant_type: 'authorization_code', code: 'abc-123456789' }, response: json({ access_token: 'x'.repeat(20), token_type: 'Bearer', id_token: jwt({ iss: 'https://idp.example.com', sub: s, email: `${s}@example.com`, name: s }) }) })],
  gzip_response: (s) => [tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 200, gzip: true, json: { access_token: s, token_type: 'Bearer' } } })],
  gzip_without_decoded: (s) => {
    const ex = tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 200, json: { access_token: s, token_type: 'Bearer' } } });
    const plain = ex.response?.body.bytes ?? Buffer.alloc(0);
    const gz = gzipSync(plain);
    ex.response?.headers.push(['Content-Encoding', 'gzip']);
    if (ex.response) ex.response.body = { bytes: gz, size: gz.length, truncated: false };
    return [ex];
  },
  html_error_page: (s) => [tokenRequest({ form: { grant_type: 'refresh_token', refresh_token: s }, response: { status: 500, html: `<html><head><title>Error</title></head><body>refresh_token=${s} failed</body></html>` } })],
  html_only_secret: (s) => [tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 502, html: `<html><head><title>Bad gateway access_token=${s}</title></head><body><p>upstream said: "access_token": "${s}"</p></body></html>` } })],
  text_echo: (s) => [tokenRequest({ form: { grant_type: 'password', username: 'bob', password: s }, response: { status: 400, text: `bad password ${s}` } })],
  transport_error: (s) => [tokenRequest({ form: { grant_type: 'client_credentials', client_secret: s }, response: null, error: { code: 'reset', message: `socket hang up while sending client_secret=${s}` } })],
  redirect_uri_with_token: (s) => [authorizeRedirect({ code: 'code-abcdef-123456', state: 'state-1234567' }, { redirectUri: `${APP}/cb?next=${encodeURIComponent(`${APP}/x?access_token=${encodeURIComponent(s)}`)}&session_token=${encodeURIComponent(s)}` })],
  authorize_state_nonce: (s) => [exchange({ url: `${AUTHORIZE_URL}?response_type=code&client_id=${CLIENT_ID}&state=${encodeURIComponent(s)}&nonce=${encodeURIComponent(s)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`, response: { status: 200, html: '<title>Login</title>' } })],
  multipart_body: (s) => [tokenRequest({ body: `--XyZ\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--XyZ\r\nContent-Disposition: form-data; name="client_secret"\r\n\r\n${s}\r\n--XyZ--\r\n`, contentType: 'multipart/form-data; boundary=XyZ', response: oauthError('invalid_request', 'only application/x-www-form-urlencoded is supported') })],
  echoed_in_other_encodings: (s) => [tokenRequest({
    form: { grant_type: 'client_credentials', client_secret: s },
    response: { status: 400, headers: [['X-Debug', Buffer.from(s).toString('base64')], ['X-Debug-Url', encodeURIComponent(s)]], text: `seen ${Buffer.from(s).toString('base64url')} / ${JSON.stringify(s)} / ${encodeURIComponent(encodeURIComponent(s))}` },
  })],
  truncated_json: (s) => {
    const ex = tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 200, text: `{"access_token":"${s}","token_type":"Bearer","expires_in":36`, contentType: 'application/json' } });
    if (ex.response) ex.response.body.truncated = true;
    return [ex];
  },
};

function throwingRule(seen: string[]): Rule {
  return {
    code: 'proxy.interference', family: 'transport', severity: 'error',
    check(ex, ctx) {
      seen.push(JSON.stringify(ex), JSON.stringify(ctx.correlation));
      throw new Error(`boom ${JSON.stringify(ex.params).slice(0, 100)}`);
    },
  };
}

describe('redaction boundary (property)', () => {
  it('no generated secret reaches the redacted exchange, rule inputs, logs or error text in any encoding', () => {
    fc.assert(
      fc.property(secretArb, fc.constantFrom(...Object.keys(POSITIONS)), (secret, position) => {
        const logs: string[] = [];
        const seen: string[] = [];
        const engine = new OAuthEngine({
          fingerprintKey: Buffer.alloc(32, 1),
          logger: { warn: (obj, msg) => void logs.push(JSON.stringify(obj), msg) },
          // Every real rule (their findings' evidence is part of the output) plus one that throws with what it saw.
          rules: [...ALL_RULES, throwingRule(seen)],
        });
        const list = (POSITIONS[position] as Position)(secret);
        const output: string[] = [];
        list.forEach((c, i) => {
          const { exchange: ex, updated } = engine.ingest({ ...c, timings: { ...c.timings, start: T(i) } }, i + 1);
          output.push(JSON.stringify(ex), ...updated.map((u) => JSON.stringify(u)));
        });
        const haystacks = { output: output.join('\n'), rules: seen.join('\n'), logs: logs.join('\n') };
        for (const needle of needles(secret)) {
          for (const [where, text] of Object.entries(haystacks)) {
            if (text.includes(needle)) throw new Error(`${position}: secret leaked into ${where} as ${JSON.stringify(needle)}`);
          }
        }
        expect(haystacks.output).toContain('[REDACTED');
        expect(logs.join('\n')).toContain('OAL_ERR_RULE');
      }),
      { numRuns: 400, seed: 20260115 },
    );
  });

  it('every position is exercised and redacted (deterministic sweep)', () => {
    const secret = 'Zq8+kP/9xL2=mW4~nT7$rB5*vC1';
    for (const [position, build] of Object.entries(POSITIONS)) {
      const engine = new OAuthEngine({ fingerprintKey: Buffer.alloc(32, 2) });
      const text = build(secret).map((c, i) => JSON.stringify(engine.ingest(c, i + 1).exchange)).join('\n');
      for (const needle of needles(secret)) expect(text.includes(needle), `${position}: ${needle}`).toBe(false);
    }
  });
});

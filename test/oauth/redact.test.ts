import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/oauth/rules/index.js', () => ({ ALL_RULES: [] }));

import type { Finding } from '../../src/model.js';
import { withOAuth, withoutFindings } from '../../src/oauth/redact.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, authorizeRedirect, exchange, jwt, runRules, tokenRequest } from '../support/exchanges.js';

const MARK = /\[REDACTED [\w.:\-/]+ len=\d+ fp=[0-9a-f]{12}\]/;

describe('redaction', () => {
  it('form body: secrets become markers, Class C values keep their wire bytes', () => {
    const r = runRules([tokenRequest({ form: [['grant_type', 'authorization_code'], ['code', '4/0AbCdEfGhIjKlMnOp'], ['redirect_uri', REDIRECT_URI], ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]] })]);
    const body = r.exchanges[0]?.request.body;
    expect(body?.text).toMatch(/^grant_type=authorization_code&code=\[REDACTED code len=19 fp=[0-9a-f]{12}\]&redirect_uri=https%3A%2F%2Fapp\.example\.com%2Fcallback&client_id=app-client-1&client_secret=\[REDACTED client_secret len=37 fp=[0-9a-f]{12}\]$/);
    expect(body?.form?.map(([n]) => n)).toEqual(['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret']);
    expect(body?.form?.[2]?.[1]).toBe(REDIRECT_URI);
  });

  it('the same secret gets the same fp in every place (correlation without the value)', () => {
    const r = runRules([tokenRequest({ form: { grant_type: 'client_credentials', client_secret: CLIENT_SECRET }, basic: [CLIENT_ID, CLIENT_SECRET] })]);
    const ex = r.exchanges[0];
    const auth = ex?.request.headers.find(([n]) => n === 'Authorization')?.[1] ?? '';
    const fpOf = (s: string) => /fp=([0-9a-f]{12})/.exec(s)?.[1];
    expect(auth).toMatch(/^Basic \[client_id=app-client-1\]:\[REDACTED client_secret len=37 fp=[0-9a-f]{12}\]$/);
    expect(fpOf(auth)).toBe(fpOf(ex?.request.body.text ?? ''));
  });

  it('Bearer, Cookie names/attributes kept, Set-Cookie values redacted', () => {
    const r = runRules([exchange({
      url: 'https://app.example.com/me', bearer: 'opaque-access-token-123456', cookies: { sid: 'session-value-123456', lang: 'en' },
      response: { status: 200, headers: [['Set-Cookie', 'sid=new-session-987654; Path=/; HttpOnly; SameSite=Lax']], json: {} },
    })]);
    const ex = r.exchanges[0];
    const h = (list: Array<[string, string]> | undefined, n: string) => list?.find(([k]) => k.toLowerCase() === n)?.[1] ?? '';
    expect(h(ex?.request.headers, 'authorization')).toMatch(/^Bearer \[REDACTED access_token len=26 fp=/);
    expect(h(ex?.request.headers, 'cookie')).toMatch(/^sid=\[REDACTED cookie:sid len=20 fp=[0-9a-f]{12}\]; lang=\[REDACTED cookie:lang len=2 fp=/);
    expect(h(ex?.response?.headers, 'set-cookie')).toMatch(/^sid=\[REDACTED cookie:sid len=18 fp=[0-9a-f]{12}\]; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it('Location query and fragment; state shown as a marker too', () => {
    const r = runRules([authorizeRedirect({ code: 'SplxlOBeZQQYbYS6WxSbIA', state: 'af0ifjsldkj', iss: 'https://idp.example.com' }, { mode: 'fragment' })]);
    const loc = r.exchanges[0]?.response?.headers.find(([n]) => n === 'Location')?.[1] ?? '';
    expect(loc).toMatch(/^https:\/\/app\.example\.com\/callback#code=\[REDACTED code len=22 fp=[0-9a-f]{12}\]&state=\[REDACTED state len=11 fp=[0-9a-f]{12}\]&iss=https%3A%2F%2Fidp\.example\.com$/);
  });

  it('JSON at any depth, JWTs by shape anywhere, provider tokens by prefix, JWK private members', () => {
    const idToken = jwt({ iss: 'https://idp', sub: 'u1', email: 'alice@example.com' });
    const r = runRules([exchange({ url: 'https://api.example.com/x', response: { status: 200, json: {
      data: { nested: { refresh_token: 'rt-123456' }, note: `see ${idToken}` }, gh: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', g: 'ya29.a0AfH6SMBexampleexampleexample',
      keys: [{ kty: 'RSA', kid: 'k1', n: 'public-n', e: 'AQAB', d: 'private-exponent-value' }], error_codes: [70008], trace_id: 'trace-abc',
    } } })]);
    const json = r.exchanges[0]?.response?.body.json as Record<string, any>;
    expect(json.data.nested.refresh_token).toMatch(MARK);
    expect(json.data.note).toMatch(/^see \[REDACTED jwt len=\d+ fp=/);
    expect(json.gh).toMatch(/^\[REDACTED github_token len=40/);
    expect(json.g).toMatch(/^\[REDACTED google_token/);
    expect(json.keys[0]).toMatchObject({ kty: 'RSA', kid: 'k1', n: 'public-n', e: 'AQAB' });
    expect(json.keys[0].d).toMatch(MARK);
    expect(json.trace_id).toBe('trace-abc');
    expect(JSON.stringify(r.exchanges)).not.toContain('alice@example.com');
  });

  it('decoded JWTs keep header and allow-listed claims only', () => {
    const r = runRules([tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 200, json: { access_token: 'a'.repeat(30), token_type: 'Bearer', id_token: jwt({ iss: 'https://idp', aud: 'c1', exp: 2, nonce: 'n-1', email: 'bob@example.com', name: 'Bob' }) } } })]);
    const jwts = r.exchanges[0]?.oauth.jwts ?? [];
    expect(jwts[0]?.location).toBe('response.id_token');
    expect(jwts[0]?.header).toEqual({ alg: 'RS256', kid: 'k1', typ: 'JWT' });
    expect(Object.keys(jwts[0]?.claims ?? {}).sort()).toEqual(['aud', 'exp', 'iss', 'nonce_fp', 'nonce_len']);
  });

  it('HTML form_post inputs and secret-named values in text are redacted; title kept', () => {
    const r = runRules([authorizeRedirect({ code: 'code-value-abcdef', state: 'st-123456' }, { mode: 'form_post' })]);
    const text = r.exchanges[0]?.response?.body.text ?? '';
    expect(text).toContain('<title>Submit</title>');
    expect(text).not.toContain('code-value-abcdef');
    expect(text).toMatch(/name="code" value="\[REDACTED code len=17/);
  });

  it('gzip bodies are redacted after decoding; encoding is reported', () => {
    const r = runRules([tokenRequest({ form: { grant_type: 'client_credentials' }, response: { status: 200, gzip: true, json: { access_token: 'gzipped-secret-token-1234', token_type: 'Bearer' } } })]);
    const body = r.exchanges[0]?.response?.body;
    expect(body?.encoding).toBe('gzip');
    expect(body?.text).toMatch(/"access_token":"\[REDACTED access_token len=25/);
  });

  it('high-entropy values under secret-ish names are redacted; low-entropy and public names are not', () => {
    const r = runRules([exchange({ method: 'POST', url: 'https://api.example.com/x', json: { webhookSigningKey: 'k9Xq2LmP8vR4tZ7wB1nC5yD3', mode: 'code', sessionName: 'blue', token_endpoint: 'https://idp.example.com/oauth/token' }, response: { status: 200, json: {} } })]);
    const json = r.exchanges[0]?.request.body.json as Record<string, string>;
    expect(json.webhookSigningKey).toMatch(MARK);
    expect(json.mode).toBe('code');
    expect(json.sessionName).toBe('blue');
    expect(json.token_endpoint).toBe('https://idp.example.com/oauth/token');
  });

  it('does not blank benign short cookie values elsewhere in the exchange', () => {
    const r = runRules([exchange({ url: 'https://app.example.com/settings', cookies: { theme: 'darkmode' }, response: { status: 200, html: '<title>Settings</title><p>Theme: darkmode</p>' } })]);
    expect(r.exchanges[0]?.response?.body.text).toContain('Theme: darkmode');
    expect(r.exchanges[0]?.request.headers.find(([n]) => n === 'Cookie')?.[1]).toMatch(/^theme=\[REDACTED cookie:theme len=8/);
  });
});

describe('withoutFindings (the only way outside the engine to change a redacted exchange)', () => {
  const finding = (code: string, primary: boolean): Finding => ({
    code, severity: 'error', title: code, detail: code, fix: 'fix', evidence: {}, confidence: 'high', exchangeIds: [], primary,
  });

  it('removes the selected findings, promotes the next one to primary, and reports what it removed', () => {
    const base = runRules([tokenRequest({ form: { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET } })]).exchanges[0]!;
    const withTwo = withOAuth(base, { ...base.oauth, findings: [finding('pkce.verifier_mismatch', true), finding('client.secret_whitespace', false)] });
    const { exchange, dropped } = withoutFindings(withTwo, (f) => f.code === 'pkce.verifier_mismatch');
    expect(dropped.map((f) => f.code)).toEqual(['pkce.verifier_mismatch']);
    expect(exchange.oauth.findings).toEqual([finding('client.secret_whitespace', true)]);
    expect(exchange.request).toBe(withTwo.request);
    expect(withTwo.oauth.findings).toHaveLength(2); // the input is not mutated
    const none = withoutFindings(withTwo, () => false);
    expect(none.exchange).toBe(withTwo);
    expect(none.dropped).toEqual([]);
  });
});

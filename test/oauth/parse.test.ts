import { describe, expect, it } from 'vitest';
import {
  formDecode, parseBasic, parseCookieHeader, parseForm, parseRetryAfter, parseSetCookie, parseUrl, parseWwwAuthenticate,
  detectFormat, bodyText,
} from '../../src/oauth/parse.js';
import { htmlExcerpt, htmlForms, htmlTitle } from '../../src/oauth/html.js';
import { extractProviderError } from '../../src/oauth/extract.js';
import { gzipSync } from 'node:zlib';

const id = (s: string) => s;

describe('parse', () => {
  it('form: exactly one decode, order and duplicates kept, empty values kept', () => {
    expect(parseForm('a=1&b=x+y&a=%252F&c=&d')).toEqual([['a', '1'], ['b', 'x y'], ['a', '%2F'], ['c', ''], ['d', '']]);
    expect(formDecode('4%2F0Abc')).toBe('4/0Abc');
    expect(formDecode('bad%zzescape%41')).toBe('bad%zzescapeA');
  });

  it('URL: host, effective port, loopback, query and fragment kept raw', () => {
    const u = parseUrl('https://LOCALHOST:8443/cb/?x=%2F#a=b');
    expect(u).toMatchObject({ scheme: 'https', host: 'localhost', port: 8443, explicitPort: true, path: '/cb/', query: 'x=%2F', fragment: 'a=b', isLoopback: true, base: 'https://localhost:8443/cb/' });
    expect(parseUrl('http://[::1]/x').host).toBe('::1');
    expect(parseUrl('https://idp.example.com').port).toBe(443);
  });

  it('Basic: base64 validity, colon, one form-decode per component', () => {
    const b = parseBasic(Buffer.from('my%20client:p%2Bss+word').toString('base64'));
    expect(b).toMatchObject({ validBase64: true, hasColon: true, user: 'my client', pass: 'p+ss word', rawUser: 'my%20client' });
    expect(parseBasic('not base64!').validBase64).toBe(false);
    expect(parseBasic(Buffer.from('nocolon').toString('base64')).hasColon).toBe(false);
  });

  it('cookies and Set-Cookie attributes', () => {
    expect(parseCookieHeader('a=1; b=2=3')).toEqual([['a', '1'], ['b', '2=3']]);
    expect(parseSetCookie('sid=xyz; Path=/; Secure; SameSite=Lax')).toMatchObject({ name: 'sid', value: 'xyz', attributes: { path: '/', secure: '', samesite: 'Lax' } });
  });

  it('HTML title, excerpt and form_post inputs', () => {
    const html = '<html><head><title>Error 400 (Bad&nbsp;Request)!!1</title><style>x{}</style></head><body><p>That’s an <b>error</b>.</p><form method="POST" action="https://app/cb"><input type="hidden" name="code" value="abc&amp;d"/><input name=state value=\'s1\'></form></body></html>';
    expect(htmlTitle(html)).toBe('Error 400 (Bad Request)!!1');
    expect(htmlExcerpt(html)).toBe('That’s an error .');
    expect(htmlForms(html)).toEqual([{ action: 'https://app/cb', method: 'post', inputs: [['code', 'abc&d'], ['state', 's1']] }]);
  });

  it('WWW-Authenticate and Retry-After', () => {
    expect(parseWwwAuthenticate('Bearer realm="api", error="insufficient_scope", scope="a b"')).toEqual([{ scheme: 'Bearer', params: { realm: 'api', error: 'insufficient_scope', scope: 'a b' } }]);
    expect(parseRetryAfter('120', 1000)).toEqual({ raw: '120', seconds: 120, until: 121_000 });
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now).seconds).toBe(30);
  });

  it('body format by content, gzip decoded when the proxy could not (HAR or failed decode)', () => {
    expect(detectFormat('text/plain', '{"a":1}')).toBe('json');
    expect(detectFormat(undefined, 'access_token=x&scope=repo%2Cgist&token_type=bearer')).toBe('form');
    expect(detectFormat('text/html', '<html><title>x</title>')).toBe('html');
    expect(detectFormat(undefined, '')).toBe('empty');
    const gz = gzipSync(Buffer.from('{"ok":false}'));
    expect(bodyText({ bytes: gz, size: gz.length, truncated: false }, 'gzip').text).toBe('{"ok":false}');
    expect(bodyText({ bytes: Buffer.from('plain'), size: 5, truncated: false }, 'gzip').text).toBe('plain');
  });
});

describe('provider error extraction (§0.6)', () => {
  it('RFC 6749 + Entra fields and AADSTS codes', () => {
    const pe = extractProviderError({ status: 400, json: { error: 'invalid_grant', error_description: 'AADSTS54005: OAuth2 Authorization code was already redeemed.', error_codes: [54005], trace_id: 't-1', correlation_id: 'c-1', timestamp: '2026-01-01 00:00:00Z' }, now: 0 }, id);
    expect(pe).toMatchObject({ error: 'invalid_grant', aadsts: ['54005'], traceId: 't-1', correlationId: 'c-1', source: 'json' });
  });

  it('Slack ok:false in 200, GitHub form error in 200, Facebook error object', () => {
    expect(extractProviderError({ status: 200, json: { ok: false, error: 'invalid_code' }, now: 0 }, id)).toMatchObject({ slackOk: false, error: 'invalid_code', errorIn2xx: true });
    expect(extractProviderError({ status: 200, form: [['error', 'bad_verification_code'], ['error_description', 'The code passed is incorrect or expired.']], now: 0 }, id)).toMatchObject({ error: 'bad_verification_code', source: 'form', errorIn2xx: true });
    expect(extractProviderError({ status: 400, json: { error: { message: 'This authorization code has been used.', type: 'OAuthException', code: 100, fbtrace_id: 'AbC' } }, now: 0 }, id))
      .toMatchObject({ facebook: { code: 100, type: 'OAuthException', fbtraceId: 'AbC' }, errorDescription: 'This authorization code has been used.' });
  });

  it('HTML error page, WWW-Authenticate, Retry-After and rate-limit headers', () => {
    const pe = extractProviderError({ status: 429, headers: [['Retry-After', '30'], ['X-RateLimit-Remaining', '0'], ['WWW-Authenticate', 'Bearer error="invalid_token"']], htmlTitle: 'Too Many Requests', htmlExcerpt: 'slow down', now: 0 }, id);
    expect(pe).toMatchObject({ htmlTitle: 'Too Many Requests', retryAfter: { seconds: 30 }, rateLimit: { 'x-ratelimit-remaining': '0' }, wwwAuthenticate: [{ scheme: 'Bearer', params: { error: 'invalid_token' } }] });
    expect(extractProviderError({ status: 200, json: { access_token: 'x', token_type: 'Bearer' }, now: 0 }, id)).toBeUndefined();
  });
});

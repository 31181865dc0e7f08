/**
 * Offline analysis of foreign HARs through the real engine: fixtures written like mitmproxy's,
 * Chrome's, Firefox's and Charles's exports from a real oidc-provider flow (test/fixtures/har/generate.ts), with raw secrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import validator from 'har-validator';
import { describe, expect, it } from 'vitest';
import { analyzeHar } from '../../src/har/analyze.js';
import { parseConfig } from '../../src/oauth/config-validate.js';
import { analysisToJson, formatAnalysis } from '../../src/har/report.js';
import { encodingsOf, leakedIn } from './leak.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'har');
const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as Record<string, string[]>;
const load = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

const FIXTURES = [
  { file: 'mitmproxy-backend.har', creator: 'mitmproxy', codes: ['redirect_uri.trailing_slash', 'code.reused'] },
  { file: 'chrome-spa.har', creator: 'WebInspector', codes: ['code.reused'] },
  { file: 'firefox-spa.har', creator: 'Firefox', codes: ['code.reused'] },
  { file: 'charles-backend.har', creator: 'Charles Proxy', codes: ['redirect_uri.trailing_slash', 'code.reused'] },
];

describe.each(FIXTURES)('analyze $file', ({ file, creator, codes }) => {
  const input = load(file);
  const analysis = analyzeHar(input);
  const out = { file, out: 'copy.har' };

  it('the fixture really holds its secrets (so the leak check below can fail)', () => {
    const raw = JSON.stringify(input);
    expect(secrets[file]!.length).toBeGreaterThanOrEqual(8);
    for (const secret of secrets[file]!) expect(encodingsOf(secret).some((e) => raw.includes(e)), secret.slice(0, 6)).toBe(true);
  });

  it('finds the expected codes on the token exchanges', () => {
    expect(analysis.creator).toBe(creator);
    const found = analysis.findings.map((f) => f.finding.code);
    for (const code of codes) expect(found).toContain(code);
    const tokenIds = analysis.exchanges.filter((e) => e.oauth.kind === 'token').map((e) => e.id);
    for (const { exchangeId, finding } of analysis.findings) if (codes.includes(finding.code)) expect(tokenIds).toContain(exchangeId);
    expect(analysis.flows.length).toBeGreaterThanOrEqual(1);
    expect(analysis.exchanges.map((e) => e.oauth.kind)).toEqual(expect.arrayContaining(['discovery', 'authorize', 'token']));
  });

  it('writes a redacted copy that validates as HAR 1.2 and carries the findings', async () => {
    await expect(validator.har(analysis.har)).resolves.toBeTruthy();
    const lens = analysis.har.log.entries.flatMap((e) => e._oauthLens.findings.map((f) => f.code));
    for (const code of codes) expect(lens).toContain(code);
    expect(analysis.har.log.entries).toHaveLength((input as { log: { entries: unknown[] } }).log.entries.length);
  });

  it('leaks none of the fixture\'s secrets, in any encoding, in the copy or the reports', () => {
    const copy = JSON.stringify(analysis.har);
    expect(leakedIn(copy, secrets[file]!)).toEqual([]);
    expect(leakedIn(formatAnalysis(analysis, out), secrets[file]!)).toEqual([]);
    expect(leakedIn(JSON.stringify(analysisToJson(analysis, out)), secrets[file]!)).toEqual([]);
    // No body is smuggled out base64-encoded either.
    for (const entry of analysis.har.log.entries) {
      if (entry.response.content.encoding === 'base64') expect(leakedIn(Buffer.from(entry.response.content.text ?? '', 'base64').toString(), secrets[file]!)).toEqual([]);
    }
  });

  it('keeps equal values equal inside the copy, and nothing joinable across runs', () => {
    const fpsOfCode = (har: typeof analysis.har): string[] =>
      har.log.entries
        .filter((e) => e._oauthLens.kind === 'token')
        .map((e) => /code=\[REDACTED code len=\d+ fp=([0-9a-f]{12})\]/.exec(e.request.postData?.text ?? '')?.[1] ?? 'none');
    const first = fpsOfCode(analysis.har);
    expect(first.length).toBeGreaterThanOrEqual(2);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).not.toBe('none');
    const again = fpsOfCode(analyzeHar(input).har);
    expect(again[0]).not.toBe(first[0]);
  });
});

describe('analyze tolerates odd and partial HARs', () => {
  it('maps Chrome pseudo-headers, base64 bodies, params-only postData, failures and missing fields', () => {
    const secret = 'sEcReT-value-1234567890';
    const body = `grant_type=client_credentials&client_id=svc&client_secret=${secret}`;
    const har = {
      log: {
        creator: { name: 'Charles Proxy' },
        entries: [
          {
            startedDateTime: '2026-11-27T10:00:02.000Z',
            request: { method: 'post', url: 'https://idp.example.test/oauth/token', httpVersion: 'h2', headers: [{ name: ':authority', value: 'idp.example.test' }, { name: 'content-type', value: 'application/x-www-form-urlencoded' }], postData: { mimeType: 'application/x-www-form-urlencoded', params: [{ name: 'grant_type', value: 'client_credentials' }, { name: 'client_id', value: 'svc' }, { name: 'client_secret', value: secret }] } },
            response: { status: 200, headers: [{ name: 'content-type', value: 'application/json' }, { name: 'content-encoding', value: 'gzip' }], content: { size: 60, mimeType: 'application/json', encoding: 'base64', text: Buffer.from(`{"access_token":"${secret}-AT","token_type":"Bearer","expires_in":60}`).toString('base64') } },
          },
          { startedDateTime: '2026-11-27T10:00:01.000Z', request: { method: 'GET', url: 'https://down.example.test/.well-known/openid-configuration' }, response: { status: 0, _error: 'net::ERR_CONNECTION_REFUSED' } },
          { request: { url: 'data:text/plain,hi' } },
          { response: { status: 200 } },
          null,
        ],
      },
    };
    const analysis = analyzeHar(har);
    expect(analysis.entries).toBe(5);
    expect(analysis.skipped.map((s) => s.index)).toEqual([2, 3, 4]);
    const [failed, token] = analysis.exchanges;
    expect(failed!.error).toMatchObject({ code: 'refused' });
    expect(failed!.response).toBeUndefined();
    expect(token!.oauth.kind).toBe('token');
    expect(token!.request.method).toBe('POST');
    expect(token!.request.headers.map(([n]) => n)).toEqual(['content-type']);
    expect(token!.request.body.form?.map(([n]) => n)).toEqual(['grant_type', 'client_id', 'client_secret']);
    expect(token!.response?.body.text).toContain('"token_type":"Bearer"');
    const copy = JSON.stringify(analysis.har);
    expect(leakedIn(copy, [secret, `${secret}-AT`, body])).toEqual([]);
    expect(copy).toMatch(/\[REDACTED client_secret len=23 fp=[0-9a-f]{12}\]/);
    expect(analysis.har.log.entries[0]!.response._error).toMatch(/^refused: /);
  });

  it('rejects what is not a HAR with a stable code', () => {
    expect(() => analyzeHar({ nope: true })).toThrow(expect.objectContaining({ code: 'OAL_ERR_HAR_INVALID' }));
    expect(() => analyzeHar(null)).toThrow(expect.objectContaining({ code: 'OAL_ERR_HAR_INVALID' }));
  });
});

describe('analysis report', () => {
  it('does not let the input drive the terminal (escape sequences are shown, not sent)', () => {
    const har = { log: { creator: { name: 'evil\u001b]0;pwned\u0007' }, entries: [{ startedDateTime: '2026-11-27T10:00:00Z', request: { method: 'GET', url: 'https://i.example/\u001b[2J/token' }, response: { status: 200, headers: [], content: { size: 0 } } }] } };
    const text = formatAnalysis(analyzeHar(har), { file: 'x.har' });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('evil\\x1b]0;pwned\\x07');
  });
});

describe('re-analysing an already redacted HAR', () => {
  it.each(FIXTURES)('$file: the redacted copy analyses to the same findings, without stand-in artefacts', ({ file }) => {
    const first = analyzeHar(load(file));
    const second = analyzeHar(JSON.parse(JSON.stringify(first.har)));
    expect(first.redactedInput).toBe(false);
    expect(second.redactedInput).toBe(true);
    const codes = (a: typeof first) => a.findings.map((f) => `${f.exchangeId} ${f.finding.code}`).sort();
    const judgeable = codes(first).filter((c) => !c.endsWith(' pkce.verifier_mismatch'));
    expect(codes(second)).toEqual(judgeable);
    const copy = JSON.stringify(second.har);
    // No marker nested in a marker, raw or percent-encoded.
    expect(copy).not.toMatch(/\[REDACTED [^\]]*REDACTED|%5BREDACTED%20(?:(?!%5D)[^"])*REDACTED/);
    expect(leakedIn(copy, secrets[file]!)).toEqual([]);
    expect(formatAnalysis(second, { file })).toContain('The input was already redacted');
  });
});

describe('analyze with a config file', () => {
  it('passes the config to the engine: a registered redirect URI that differs by a slash is found', () => {
    const input = load('chrome-spa.har');
    expect(analyzeHar(input).findings.map((f) => f.finding.code)).not.toContain('redirect_uri.trailing_slash');
    const config = parseConfig({ clients: [{ name: 'prod', clientId: 'demo-spa', redirectUris: ['https://app.oauth-lens.test/callback/'] }] });
    expect(analyzeHar(input, { config }).findings.map((f) => f.finding.code)).toContain('redirect_uri.trailing_slash');
  });
});

import validator from 'har-validator';
import { describe, expect, it } from 'vitest';
import { exchangesToHar } from '../../src/har/har.js';
import type { Har } from '../../src/har/types.js';
import { FP, START, makeExchange, marker, reusedCodeFinding, tokenExchange } from './support.js';

const FP_MARK = /fp(?:=|%3D)([0-9a-f]{12})/g;

function allFps(har: Har): string[] {
  return [...JSON.stringify(har).matchAll(FP_MARK)].map((m) => m[1]!);
}

describe('exchangesToHar', () => {
  const discovery = makeExchange();
  const first = tokenExchange('ex-2', 2);
  const second = tokenExchange('ex-3', 3, {
    response: {
      status: 400, statusText: 'Bad Request', httpVersion: '1.1',
      headers: [['Content-Type', 'application/json'], ['Location', 'https://app.example.test/callback?error=x']],
      body: { size: 80, truncated: false, text: '{"error":"invalid_grant","error_description":"grant request is invalid"}' },
    },
    oauth: { kind: 'token', grantType: 'authorization_code', flowId: 'flow-1', clientId: 'backend-app', findings: [reusedCodeFinding(['ex-2', 'ex-3'])] },
  });
  const failed = makeExchange({
    id: 'ex-4', seq: 4,
    timings: { start: START + 5000, upstreamConnected: undefined, end: START + 5250 },
    request: { method: 'GET', url: 'https://down.example.test/userinfo?access_token=[REDACTED access_token len=30 fp=acce55000004 alnum]', httpVersion: '1.1', headers: [['Authorization', 'Bearer [REDACTED authorization len=30 fp=acce55000004 alnum]']], body: { size: 0, truncated: false } },
    response: undefined,
    error: { code: 'refused', message: 'connection refused by down.example.test:443', nodeCode: 'ECONNREFUSED' },
    oauth: { kind: 'userinfo', findings: [] },
  });
  const exchanges = [failed, second, discovery, first];

  it('writes HAR 1.2 that har-validator accepts, entries in time order', async () => {
    const har = exchangesToHar(exchanges, { creatorVersion: '9.9.9' });
    await expect(validator.har(har)).resolves.toBeTruthy();
    expect(har.log.version).toBe('1.2');
    expect(har.log.creator).toMatchObject({ name: 'oauth-lens', version: '9.9.9' });
    expect(har.log.entries.map((e) => e._oauthLens.exchangeId)).toEqual(['ex-1', 'ex-2', 'ex-3', 'ex-4']);
    // The validator does reject a broken entry (so the assertion above can fail).
    const broken = JSON.parse(JSON.stringify(har)) as { log: { entries: Array<Record<string, unknown>> } };
    delete broken.log.entries[0]!.timings;
    await expect(validator.har(broken)).rejects.toThrow();
    // Round trip through JSON text, as files travel.
    await expect(validator.har(JSON.parse(JSON.stringify(har)))).resolves.toBeTruthy();
  });

  it('derives every timing phase, and time is their sum (= end - start)', () => {
    const [entry] = exchangesToHar([discovery]).log.entries;
    expect(entry!.startedDateTime).toBe('2026-11-27T10:00:00.123Z');
    expect(entry!.timings).toEqual({ blocked: -1, dns: -1, connect: 12.5, ssl: -1, send: 0.5, wait: 27, receive: 1.25 });
    expect(entry!.time).toBe(41.25);
  });

  it('marks unknown phases -1 (or 0 where HAR requires a number) and keeps the total for failures', () => {
    const entry = exchangesToHar([failed]).log.entries[0]!;
    expect(entry.timings).toEqual({ blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 250, receive: 0 });
    expect(entry.time).toBe(250);
    expect(entry.response.status).toBe(0);
    expect(entry.response._error).toBe('refused: connection refused by down.example.test:443');
    expect(entry._oauthLens.error).toEqual({ code: 'refused', message: 'connection refused by down.example.test:443', nodeCode: 'ECONNREFUSED' });
  });

  it('writes headers, form params, decoded content, cookies, redirectURL and the _oauthLens extension', () => {
    const har = exchangesToHar(exchanges);
    const token = har.log.entries[2]!;
    expect(token.request.method).toBe('POST');
    expect(token.request.httpVersion).toBe('HTTP/1.1');
    expect(token.request.headers.map((h) => h.name)).toContain('Authorization');
    expect(token.request.postData?.mimeType).toBe('application/x-www-form-urlencoded');
    expect(token.request.postData?.params?.map((p) => p.name)).toEqual(['grant_type', 'code', 'redirect_uri', 'code_verifier']);
    expect(token.request.postData?.params?.[2]).toEqual({ name: 'redirect_uri', value: 'https://app.example.test/callback/' });
    expect(token.request.postData?.text).toContain('grant_type=authorization_code');
    expect(token.request.bodySize).toBe(180);
    expect(token.response.status).toBe(400);
    expect(token.response.content.text).toContain('invalid_grant');
    expect(token.response.content.mimeType).toBe('application/json');
    expect(token.response.redirectURL).toBe('https://app.example.test/callback?error=x');
    expect(token.response.content.encoding).toBeUndefined();
    expect(token._oauthLens).toMatchObject({ kind: 'token', flowId: 'flow-1', grantType: 'authorization_code', clientId: 'backend-app' });
    expect(token._oauthLens.findings).toHaveLength(1);
    expect(token._oauthLens.findings[0]).toMatchObject({ code: 'code.reused', severity: 'error', title: 'Authorization code used twice', primary: true });
    const okToken = har.log.entries[1]!;
    expect(okToken.response.cookies[0]).toMatchObject({ name: 'sid', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
    expect(okToken.response.content.text).toContain('"token_type":"Bearer"');
  });

  it('keeps URLs valid URIs when markers sit in the query, and decodes queryString', async () => {
    const entry = exchangesToHar([failed]).log.entries[0]!;
    expect(entry.request.url).toMatch(/^https:\/\/down\.example\.test\/userinfo\?access_token=%5BREDACTED%20access_token%20len=30%20fp=[0-9a-f]{12}%20alnum%5D$/);
    expect(new URL(entry.request.url).searchParams.get('access_token')).toMatch(/^\[REDACTED access_token len=30 fp=[0-9a-f]{12} alnum\]$/);
    expect(entry.request.queryString).toEqual([{ name: 'access_token', value: new URL(entry.request.url).searchParams.get('access_token') }]);
    await expect(validator.har({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [entry] } })).resolves.toBeTruthy();
  });

  it('re-keys every fingerprint with a fresh salt per export: files cannot be joined', () => {
    const a = exchangesToHar(exchanges);
    const b = exchangesToHar(exchanges);
    const original = new Set(Object.values(FP) as string[]);
    const fpsA = allFps(a);
    const fpsB = allFps(b);
    expect(fpsA.length).toBeGreaterThan(8);
    for (const fp of [...fpsA, ...fpsB]) expect(original.has(fp)).toBe(false);
    const text = JSON.stringify(a) + JSON.stringify(b);
    for (const fp of original) expect(text).not.toContain(fp);
    expect(new Set(fpsA).size).toBe(new Set(fpsB).size);
    for (const fp of fpsA) expect(fpsB).not.toContain(fp);
  });

  it('keeps equal values equal inside one file (markers, encoded text, details, evidence)', () => {
    const har = exchangesToHar(exchanges);
    const [, ok, reused, fail] = har.log.entries;
    const fpOf = (text: string | undefined): string => /fp(?:=|%3D)([0-9a-f]{12})/.exec(text ?? '')![1]!;
    const codeFp = fpOf(ok!.request.postData!.params![1]!.value);
    expect(fpOf(reused!.request.postData!.params![1]!.value)).toBe(codeFp);
    expect(fpOf(reused!.request.postData!.text!.split('&')[1])).toBe(codeFp);
    const finding = reused!._oauthLens.findings[0]!;
    expect(fpOf(finding.detail)).toBe(codeFp);
    const evidenceFp = finding.evidence!.codeFp as string;
    expect(evidenceFp).toHaveLength(32);
    expect(evidenceFp.slice(0, 12)).toBe(codeFp);
    expect(finding.evidence!.traceId).toBe('abcdef0123456789');
    // The access token issued in ex-2 and the one presented in ex-4 are the same value.
    const issued = fpOf(ok!.response.content.text);
    expect(fpOf(fail!.request.headers[0]!.value)).toBe(issued);
    expect(fpOf(fail!.request.queryString[0]!.value)).toBe(issued);
    // Distinct values stay distinct.
    expect(fpOf(ok!.request.postData!.params![3]!.value)).not.toBe(codeFp);
  });

  it('is deterministic for a given salt (and pure: the input is not modified)', () => {
    const before = JSON.stringify(exchanges);
    const salt = Buffer.alloc(32, 7);
    expect(exchangesToHar(exchanges, { salt })).toEqual(exchangesToHar(exchanges, { salt }));
    expect(JSON.stringify(exchanges)).toBe(before);
    expect(() => exchangesToHar(exchanges, { salt: Buffer.alloc(4) })).toThrow(RangeError);
  });

  it('describes truncated and binary bodies instead of inventing content', () => {
    const binary = makeExchange({
      id: 'bin',
      response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [['Content-Type', 'image/png'], ['Content-Encoding', 'gzip']], body: { size: 5000, truncated: true, encoding: 'gzip' } },
    });
    const entry = exchangesToHar([binary]).log.entries[0]!;
    expect(entry.response.content).toEqual({ size: 5000, mimeType: 'image/png', comment: 'body truncated at the capture cap (5000 bytes on the wire); binary body not kept' });
    expect(entry.request.postData).toBeUndefined();
    const emptyGet = makeExchange({ request: { ...binary.request, body: { size: 0, truncated: false, text: '' } } });
    expect(exchangesToHar([emptyGet]).log.entries[0]!.request.postData).toBeUndefined();
  });

  it('writes an empty log for no exchanges', async () => {
    const har = exchangesToHar([]);
    expect(har.log.entries).toEqual([]);
    await expect(validator.har(har)).resolves.toBeTruthy();
  });

  it('never emits a marker fp that is not 12 hex', () => {
    const har = exchangesToHar([tokenExchange('x', 9, { request: { ...tokenExchange().request, url: `https://i/t?code=${encodeURIComponent(marker('code', 5, FP.code))}` } })]);
    expect(har.log.entries[0]!.request.url).not.toContain(FP.code);
  });
});

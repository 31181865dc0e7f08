/**
 * An exported HAR is usable by other tools: Playwright's `routeFromHAR` in real Chromium serves
 * recorded (redacted) responses from it, following a recorded redirect.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangesToHar } from '../../src/har/har.js';
import { START, makeExchange, marker } from './support.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

let browser: Browser;
const work = mkdtempSync(join(tmpdir(), 'lens-pw-'));

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
});
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

const html = '<!doctype html><html><head><title>Signed in</title></head><body><p id="who">demo-user</p></body></html>';
const session = JSON.stringify({ user: 'demo-user', accessToken: marker('accessToken', 43, 'acce55000004') });

function exported(): string {
  const at = (n: number) => ({ start: START + n * 100, upstreamConnected: START + n * 100 + 2, requestSent: START + n * 100 + 3, responseHeaders: START + n * 100 + 20, end: START + n * 100 + 21 });
  const har = exchangesToHar([
    makeExchange({
      id: 'login', seq: 1, timings: at(1),
      request: { method: 'GET', url: 'https://app.oauth-lens.test/callback?code=' + marker('code', 43, 'c0de00000001') + '&state=' + marker('state', 20, '57a7e0000001'), httpVersion: '1.1', headers: [['Host', 'app.oauth-lens.test']], body: { size: 0, truncated: false } },
      response: { status: 302, statusText: 'Found', httpVersion: '1.1', headers: [['Location', 'https://app.oauth-lens.test/home'], ['Content-Length', '0']], body: { size: 0, truncated: false, text: '' } },
      oauth: { kind: 'other', findings: [] },
    }),
    makeExchange({
      id: 'home', seq: 2, timings: at(2),
      request: { method: 'GET', url: 'https://app.oauth-lens.test/home', httpVersion: '1.1', headers: [['Host', 'app.oauth-lens.test']], body: { size: 0, truncated: false } },
      // Content-Length as on the wire, which redaction may have made stale: readers must cope.
      response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [['Content-Type', 'text/html; charset=utf-8'], ['Content-Length', String(html.length)]], body: { size: html.length, truncated: false, mimeType: 'text/html', text: html } },
      oauth: { kind: 'other', findings: [] },
    }),
    makeExchange({
      id: 'session', seq: 3, timings: at(3),
      request: { method: 'GET', url: 'https://app.oauth-lens.test/api/session', httpVersion: '1.1', headers: [['Host', 'app.oauth-lens.test']], body: { size: 0, truncated: false } },
      response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [['Content-Type', 'application/json'], ['Content-Length', '20']], body: { size: 20, truncated: false, mimeType: 'application/json', text: session } },
      oauth: { kind: 'other', findings: [] },
    }),
  ]);
  const file = join(work, `export-${Date.now()}.har`);
  writeFileSync(file, JSON.stringify(har));
  return file;
}

describe('exported HAR in Playwright routeFromHAR (Chromium)', () => {
  it('serves recorded responses and aborts what the file does not hold', async () => {
    const context = await browser.newContext();
    try {
      await context.routeFromHAR(exported(), { notFound: 'abort' });
      const page = await context.newPage();
      const response = await page.goto('https://app.oauth-lens.test/home');
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('Signed in');
      expect(await page.textContent('#who')).toBe('demo-user');
      const json = await page.evaluate(async () => (await fetch('/api/session')).json());
      expect(json).toMatchObject({ user: 'demo-user' });
      expect(String((json as { accessToken: string }).accessToken)).toMatch(/^\[REDACTED accessToken len=43 fp=[0-9a-f]{12}\]$/);
      // Not in the file → aborted, so the browser never reaches the network.
      const missing = await page.evaluate(async () => fetch('/not-recorded').then(() => 'served', () => 'aborted'));
      expect(missing).toBe('aborted');
    } finally {
      await context.close();
    }
  });

  it('follows the recorded 302 from the callback URL', async () => {
    const context = await browser.newContext();
    try {
      const file = exported();
      await context.routeFromHAR(file, { notFound: 'abort' });
      const page = await context.newPage();
      const har = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')) as { log: { entries: Array<{ request: { url: string } }> } };
      await page.goto(har.log.entries[0]!.request.url);
      expect(page.url()).toBe('https://app.oauth-lens.test/home');
      expect(await page.title()).toBe('Signed in');
    } finally {
      await context.close();
    }
  });
});

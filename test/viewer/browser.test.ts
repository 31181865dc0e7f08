import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildViewer } from '../../scripts/build-viewer.mjs';
import { startAdminServer, type AdminServer } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { makeExchange, makeFinding, SECRET_MARKER } from '../server/support.js';
import { seedLoginStory } from './scenario.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

// page.evaluate callbacks run in Chromium, not Node: the DOM globals they use, declared for this file only
// (the test program has no DOM lib, so Node code cannot use them by mistake).
declare const document: { readonly body: object };
declare function getComputedStyle(element: object): { readonly backgroundColor: string };


describe('browser viewer in Chromium', () => {
  const store = new ExchangeStore();
  const viewerDir = mkdtempSync(join(tmpdir(), 'oal-viewer-'));
  let admin: AdminServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    await buildViewer(viewerDir);
    seedLoginStory(store);
    admin = await startAdminServer({ store, port: 0, token: 'viewer-token-1', viewerDir, exports: { exchangeToCurl: () => "curl -X POST 'https://login.example-idp.com/oauth2/token' -d client_secret=\"$CLIENT_SECRET\"" } });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
  });
  afterAll(async () => {
    await browser?.close();
    await admin?.close();
    rmSync(viewerDir, { recursive: true, force: true });
  });

  it('loads with the token, then drops the token from the address bar', async () => {
    await page.goto(admin.viewerUrl);
    expect(page.url()).toBe(`${admin.url}/`);
    await page.locator('#conn.conn-live').waitFor();
    await page.locator('.row[data-id="token-1"]').waitFor();
    expect(await page.locator('.row').count()).toBe(7);
    expect(await page.locator('.flow-header').count()).toBe(1);
    expect(await page.locator('.row[data-id="token-1"] .sev-error').textContent()).toBe('redirect_uri.trailing_slash');
  });

  it('shows a live exchange as it arrives, with its finding and fix in the detail pane', async () => {
    store.upsert(makeExchange({ id: 'live-token', kind: 'token', url: 'https://login.example-idp.com/oauth2/token', status: 400,
      findings: [makeFinding({ code: 'code.reused', title: 'The authorization code was already redeemed', fix: 'Do not retry the code exchange; start a new login to get a fresh code.' })] }, store));
    const row = page.locator('.row[data-id="live-token"]');
    await row.waitFor();
    await row.click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.locator('.finding-title').first().textContent()).toBe('The authorization code was already redeemed');
    expect(await detail.locator('.finding-fix').first().textContent()).toContain('start a new login to get a fresh code');
    // Decoded, redacted form body as a table.
    const formRows = await detail.locator('table.form tr').allTextContents();
    expect(formRows).toContain(`client_secret${SECRET_MARKER}`);
    expect(formRows).toContain('grant_typeauthorization_code');
  });

  it('shows the flow timeline, decoded JWT and pretty JSON for a flow exchange', async () => {
    await page.locator('.row[data-id="token-1"]').click();
    const detail = page.locator('#detail');
    await expect.poll(() => detail.locator('.timeline li').count()).toBe(3);
    expect(await detail.locator('.jwt').textContent()).toContain('"kid": "key-2024-07"');
    expect(await detail.locator('pre.code').allTextContents()).toContainEqual(expect.stringContaining('"error": "invalid_grant"'));
    expect(await detail.locator('.finding').count()).toBe(2);
    await page.screenshot({ path: artifact('viewer.png') });
  });

  it('narrows the list with filters and moves with the keyboard', async () => {
    await page.locator('#f-findings').check();
    await expect.poll(() => page.locator('.row').count()).toBe(2);
    await page.locator('#f-findings').uncheck();
    await page.locator('#f-oauth').check();
    await expect.poll(() => page.locator('.row').count()).toBe(6);
    await page.locator('#f-oauth').uncheck();
    await page.locator('#f-host').fill('github');
    await expect.poll(() => page.locator('.row').count()).toBe(1);
    await page.locator('#f-host').fill('');
    await page.locator('#f-text').fill('pkce.verifier');
    await expect.poll(() => page.locator('.row').count()).toBe(1);
    await page.locator('#f-text').fill('');
    await expect.poll(() => page.locator('.row').count()).toBe(8);

    await page.locator('.row[data-id="disc-1"]').click();
    await page.keyboard.press('j');
    await expect.poll(() => page.locator('.row.selected').getAttribute('data-id')).toBe('api-1');
    await page.keyboard.press('k');
    await expect.poll(() => page.locator('.row.selected').getAttribute('data-id')).toBe('disc-1');
  });

  it('pauses and resumes the live list', async () => {
    await page.keyboard.press('p');
    store.upsert(makeExchange({ id: 'while-paused', kind: 'userinfo', method: 'GET', url: 'https://login.example-idp.com/userinfo', status: 200 }, store));
    await expect.poll(() => page.locator('#pause').textContent()).toBe('Resume (1 new)');
    expect(await page.locator('.row[data-id="while-paused"]').count()).toBe(0);
    await page.locator('#pause').click();
    await page.locator('.row[data-id="while-paused"]').waitFor();
  });

  it('copies as curl and links Export HAR to the API', async () => {
    await page.locator('.row[data-id="token-1"]').click();
    await page.locator('#copy-curl').click();
    await expect.poll(() => page.locator('#toast').textContent()).toMatch(/curl command copied|command shown above/);
    expect(await page.locator('#export-har').getAttribute('href')).toBe('/api/har');
  });

  it('shows the alert banner on a burst of 5xx', async () => {
    for (let i = 0; i < 6; i++) store.upsert(makeExchange({ kind: 'token', status: 503, url: 'https://login.example-idp.com/oauth2/token', responseText: 'upstream unavailable', responseJson: {} }, store));
    const banner = page.locator('#alert');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/OAuth exchanges .* failed with a 5xx/);
    await page.screenshot({ path: artifact('viewer-alert.png') });
  });

  it('is readable in dark mode and ran without CSP or script errors', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('.row[data-id="token-1"]').click();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(21, 21, 27)');
    await page.screenshot({ path: artifact('viewer-dark.png') });
    expect(consoleErrors).toEqual([]);
  });

  it('reconnects after a proxy restart, and says so when the token changed', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    const port = admin.port;
    await admin.close();
    await page.locator('#conn.conn-reconnecting').waitFor();
    const fresh = new ExchangeStore();
    admin = await startAdminServer({ store: fresh, port, token: 'viewer-token-1', viewerDir });
    fresh.upsert(makeExchange({ id: 'after-restart', kind: 'discovery', method: 'GET', url: 'https://login.example-idp.com/.well-known/openid-configuration', status: 200 }, fresh));
    await page.locator('#conn.conn-live').waitFor({ timeout: 10_000 });
    await page.locator('.row[data-id="after-restart"]').waitFor();
    expect(await page.locator('.row').count()).toBe(1); // the snapshot replaced the old state

    await admin.close();
    admin = await startAdminServer({ store: fresh, port, token: 'a-different-token', viewerDir });
    await page.locator('#conn.conn-unauthorized').waitFor({ timeout: 10_000 });
    expect(await page.locator('#conn').textContent()).toMatch(/reopen the URL/);
  });
});

function artifact(name: string): string {
  const dir = join(process.cwd(), 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/**
 * End to end: a real curl request through the real proxy and OAuth engine arrives on the feed as
 * an `exchange` message, redacted, and the REST API serves the same exchange.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { promisify } from 'node:util';
import pino from 'pino';
import { buildViewer } from '../../scripts/build-viewer.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLens, type Lens } from '../../src/app.js';
import { OAuthEngine } from '../../src/oauth/engine.js';
import { startAdminServer, type AdminServer, type WireExchange } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Upstream } from '../proxy/support/upstream.js';
import { FeedRecorder } from './support.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

const run = promisify(execFile);
const CLIENT_SECRET = 'e2e-client-secret-Zq8u1Pq';
const CODE = 'e2e-auth-code-Hh3kLx0aVv';

describe('proxy → engine → store → feed', () => {
  let upstream: Upstream;
  let lens: Lens;
  let admin: AdminServer;
  const store = new ExchangeStore();
  const viewerDir = mkdtempSync(join(tmpdir(), 'oal-e2e-viewer-'));

  beforeAll(async () => {
    const upstreamCa = await createTestCa();
    upstream = await startHttpsUpstream({ ca: upstreamCa }, (_req, _body, res) => {
      const payload = JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid authorization code' });
      res.writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(payload);
    });
    const engine = new OAuthEngine({ fingerprintKey: randomBytes(32) });
    lens = await startLens({
      port: 0,
      certsDir: tmpDir('e2e-certs'),
      upstreamCaFiles: [upstreamCa.paths.cert],
      store,
      logger: pino({ level: 'silent' }),
      logExchanges: false,
      analyzer: (captured) => {
        const result = engine.ingest(captured, store.nextSeq());
        return [result.exchange, ...result.updated];
      },
    });
    await buildViewer(viewerDir);
    admin = await startAdminServer({ store, port: 0, token: 'e2e-token', viewerDir });
    lens.proxy.refusePort(admin.port);
  }, 60_000);
  afterAll(async () => {
    await admin?.close();
    await lens?.close();
    await upstream?.close();
    rmSync(viewerDir, { recursive: true, force: true });
  });

  it('a curl token request through the proxy shows up on the feed, redacted', async () => {
    const feed = new FeedRecorder(`${admin.url.replace('http:', 'ws:')}/api/feed?token=e2e-token`);
    await feed.opened();
    await feed.waitFor((m) => m.type === 'snapshot');

    const body = `grant_type=authorization_code&code=${CODE}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%2F&client_id=web-app&client_secret=${CLIENT_SECRET}`;
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxyUrl, '--cacert', lens.caPath, `${upstream.url}/oauth/token`, '-d', body]);
    expect(stdout).toContain('invalid_grant');

    const message = await feed.waitFor<{ exchange: WireExchange }>((m) => m.type === 'exchange', 10_000);
    const exchange = message.exchange;
    expect(exchange.request.method).toBe('POST');
    expect(exchange.request.url).toBe(`${upstream.url}/oauth/token`);
    expect(exchange.response?.status).toBe(400);
    expect(exchange.summary).toMatchObject({ kind: 'token', status: 400, path: '/oauth/token' });

    // The raw secrets never reach the feed or the API.
    const everything = JSON.stringify(feed.messages);
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(everything).not.toContain(CODE);
    const rest = await fetch(`${admin.url}/api/exchanges/${exchange.id}`, { headers: { Authorization: 'Bearer e2e-token' } });
    const restText = await rest.text();
    expect(JSON.parse(restText)).toMatchObject({ id: exchange.id, summary: { kind: 'token' } });
    expect(restText).not.toContain(CLIENT_SECRET);
    feed.close();
  }, 30_000);

  it('the same request appears live in the browser viewer with its redacted body', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
      await page.goto(admin.viewerUrl);
      await page.locator('#conn.conn-live').waitFor();
      const before = await page.locator('.row').count();
      const body = `grant_type=refresh_token&refresh_token=${CODE}-refresh&client_id=web-app&client_secret=${CLIENT_SECRET}`;
      await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxyUrl, '--cacert', lens.caPath, `${upstream.url}/oauth/token`, '-d', body]);
      await expect.poll(() => page.locator('.row').count(), { timeout: 10_000 }).toBe(before + 1);
      await page.locator('.row').last().click();
      const detail = page.locator('#detail');
      await detail.locator('table.form').waitFor();
      const form = await detail.locator('table.form').textContent();
      expect(form).toContain('grant_typerefresh_token');
      expect(form).toContain('client_secret[REDACTED client_secret');
      expect(await page.content()).not.toContain(CLIENT_SECRET);
      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/viewer-e2e.png' });
    } finally {
      await browser.close();
    }
  }, 30_000);
});

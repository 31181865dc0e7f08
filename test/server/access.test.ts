import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { makeExchange, makeFinding, rawGet, SECRET_MARKER, upgradeRefusal } from './support.js';

const TOKEN = 'test-token-0123456789';

describe('admin API access control', () => {
  let admin: AdminServer;
  const store = new ExchangeStore();

  beforeAll(async () => {
    admin = await startAdminServer({ store, port: 0, token: TOKEN });
    store.upsert(makeExchange({ id: 'ex-a', status: 400, findings: [makeFinding()] }, store));
  });
  afterAll(() => admin.close());

  it('serves health without a token', async () => {
    const res = await rawGet(admin.url, '/api/health');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ ok: true, version: expect.any(String) });
  });

  it('answers 401 without a token and with a wrong one', async () => {
    expect((await rawGet(admin.url, '/api/exchanges')).status).toBe(401);
    expect((await rawGet(admin.url, '/api/exchanges', { Authorization: 'Bearer nope' })).status).toBe(401);
    expect((await rawGet(admin.url, '/api/exchanges?token=nope')).status).toBe(401);
    const page = await rawGet(admin.url, '/');
    expect(page.status).toBe(401);
    expect(page.body).toContain('?token=');
  });

  it('accepts the bearer token and the query token', async () => {
    const bearer = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(200);
    const body = JSON.parse(bearer.body) as { exchanges: Array<{ id: string; findings: Array<{ code: string }> }> };
    expect(body.exchanges[0]).toMatchObject({ id: 'ex-a', findings: [{ code: 'redirect_uri.trailing_slash' }] });
    expect((await rawGet(admin.url, `/api/exchanges?token=${TOKEN}`)).status).toBe(200);
  });

  it('trades ?token= for an HttpOnly SameSite=Strict cookie and strips it from the URL', async () => {
    const res = await rawGet(admin.url, `/?token=${TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(TOKEN);
    const pair = cookie.split(';')[0]!;
    const api = await rawGet(admin.url, '/api/exchanges/ex-a', { Cookie: pair });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({ id: 'ex-a', summary: { kind: 'token', status: 400 } });
    expect((await rawGet(admin.url, '/api/exchanges', { Cookie: `${pair}x` })).status).toBe(401);
  });

  it('refuses a foreign Origin with 403 even with the token', async () => {
    const res = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}`, Origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const same = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}`, Origin: admin.url });
    expect(same.status).toBe(200);
    const crossSite = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}`, 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(403);
  });

  it('refuses a rebinding Host with 403', async () => {
    const res = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}`, Host: `attacker.example:${admin.port}` });
    expect(res.status).toBe(403);
    expect((await rawGet(admin.url, '/api/health', { Host: 'attacker.example' })).status).toBe(403);
    const localhost = await rawGet(admin.url, '/api/exchanges', { Authorization: `Bearer ${TOKEN}`, Host: `localhost:${admin.port}` });
    expect(localhost.status).toBe(200);
  });

  it('puts security headers on the HTML and no CORS headers anywhere', async () => {
    const login = await rawGet(admin.url, `/?token=${TOKEN}`);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const page = await rawGet(admin.url, '/', { Cookie: cookie });
    expect([200, 503]).toContain(page.status);
    if (page.status === 200) {
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses the WebSocket upgrade from a foreign Origin and without a token', async () => {
    const ws = admin.url.replace('http:', 'ws:') + '/api/feed';
    expect(await upgradeRefusal(`${ws}?token=${TOKEN}`, { origin: 'https://evil.example' })).toMatch(/403/);
    expect(await upgradeRefusal(ws, { origin: admin.url })).toMatch(/401/);
    expect(await upgradeRefusal(`${ws}?token=${TOKEN}`, { headers: { Host: 'rebind.example:1' } })).toMatch(/403/);
    expect(await upgradeRefusal(`${ws}?token=${TOKEN}`, { origin: admin.url })).toBe('opened');
    expect(await upgradeRefusal(ws, { headers: { Authorization: `Bearer ${TOKEN}` } })).toBe('opened');
  });

  it('rejects non-GET methods', async () => {
    const res = await fetch(`${admin.url}/api/exchanges`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(405);
  });

  it('generates a random token when none is given', async () => {
    const a = await startAdminServer({ store, port: 0 });
    const b = await startAdminServer({ store, port: 0 });
    try {
      expect(a.token).not.toBe(b.token);
      expect(a.token.length).toBeGreaterThanOrEqual(24);
      expect(a.viewerUrl).toBe(`${a.url}/?token=${encodeURIComponent(a.token)}`);
      expect((await rawGet(a.url, '/api/exchanges', { Authorization: `Bearer ${b.token}` })).status).toBe(401);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('admin server start-up', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('rejects a port in use with OAL_ERR_PORT_IN_USE and a clear message', async () => {
    const started = startAdminServer({ store: new ExchangeStore(), port });
    await expect(started).rejects.toMatchObject({ code: 'OAL_ERR_PORT_IN_USE', message: expect.stringContaining(String(port)) });
    await expect(started).rejects.toThrow(/--ui-port/);
  });
});

describe('HAR and curl routes', () => {
  let admin: AdminServer;
  const store = new ExchangeStore();
  const auth = { Authorization: `Bearer ${TOKEN}` };
  beforeAll(async () => {
    admin = await startAdminServer({ store, port: 0, token: TOKEN });
    store.upsert(makeExchange({ id: 'har-1', flowId: 'flow-h', status: 400, findings: [makeFinding()] }, store));
    store.upsert(makeExchange({ id: 'har-2', kind: 'other', method: 'GET', url: 'https://api.example.com/items', status: 200 }, store));
  });
  afterAll(() => admin.close());

  it('exports a redacted HAR 1.2 download, filtered by query', async () => {
    expect((await rawGet(admin.url, '/api/har')).status).toBe(401);
    const res = await rawGet(admin.url, '/api/har', auth);
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="oauth-lens-.*\.har"/);
    const har = JSON.parse(res.body) as { log: { version: string; entries: Array<{ request: { url: string }; _oauthLens: { kind: string; findings: Array<{ code: string }> } }> } };
    expect(har.log.version).toBe('1.2');
    expect(har.log.entries).toHaveLength(2);
    expect(har.log.entries[0]!._oauthLens).toMatchObject({ kind: 'token', findings: [{ code: 'redirect_uri.trailing_slash' }] });
    const oauthOnly = JSON.parse((await rawGet(admin.url, '/api/har?oauth=1', auth)).body) as { log: { entries: unknown[] } };
    expect(oauthOnly.log.entries).toHaveLength(1);
  });

  it('returns copy-as-curl text with secrets as placeholders', async () => {
    const res = await rawGet(admin.url, '/api/exchanges/har-1/curl', auth);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(/^#|curl /m);
    expect(res.body).toContain('https://idp.example.com/oauth/token');
    expect(res.body).not.toContain(SECRET_MARKER);
    expect(res.body).toMatch(/\$[A-Z_]*CLIENT_SECRET/);
    expect((await rawGet(admin.url, '/api/exchanges/missing/curl', auth)).status).toBe(404);
  });

  it('answers 422 with a plain message, without the request data, when a value cannot be a curl argument', async () => {
    const nul = makeExchange({ id: 'nul-1', requestForm: [['grant_type', 'client_credentials'], ['audience', 'api-secretive-audience\u0000tail']] }, store);
    store.upsert(nul);
    const res = await rawGet(admin.url, '/api/exchanges/nul-1/curl', auth);
    expect(res.status).toBe(422);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('curl_unrepresentable');
    expect(body.error.message).toMatch(/cannot be written as a curl command/);
    expect(res.body).not.toContain('secretive');
    expect(res.body).not.toContain('client_credentials');
  });
});

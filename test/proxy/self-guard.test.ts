/**
 * Requests aimed at oauth-lens itself are refused (a page must not reach the admin API by tunnelling
 * through the proxy, and a direct request must not loop), by name, by resolved address and for WebSockets.
 */
import dns from 'node:dns';
import http from 'node:http';
import os from 'node:os';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { parseAuthority, SelfGuard } from '../../src/proxy/self-guard.js';
import { curl, startTestLens, type TestLens } from './support/lens.js';

let admin: http.Server;
let adminPort: number;
let adminHits = 0;
let lens: TestLens;

beforeAll(async () => {
  admin = http.createServer((_req, res) => {
    adminHits++;
    res.end('admin secrets');
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  adminPort = (admin.address() as net.AddressInfo).port;
  lens = await startTestLens({ refusedPorts: [adminPort] });
});

afterAll(async () => {
  await lens?.close();
  await new Promise<void>((r) => admin.close(() => r()));
});

async function rawConnect(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(lens.proxy.port, '127.0.0.1', () => sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    let got = '';
    sock.on('data', (d) => { got += d.toString(); });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

describe('refusing oauth-lens itself', () => {
  it('CONNECT to the admin port is refused with 403 and recorded', async () => {
    for (const target of [`127.0.0.1:${adminPort}`, `localhost:${adminPort}`, `127.1.2.3:${adminPort}`, `[::1]:${adminPort}`]) {
      expect(await rawConnect(target)).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    }
    const cap = await lens.waitFor((c) => c.request.method === 'CONNECT' && c.connectTarget === `127.0.0.1:${adminPort}`);
    expect(cap.error?.code).toBe('proxy_loop');
    expect(adminHits).toBe(0);
  });

  it('CONNECT to the proxy port itself is refused', async () => {
    expect(await rawConnect(`127.0.0.1:${lens.proxy.port}`)).toMatch(/^HTTP\/1\.1 403/);
  });

  it('plain-HTTP absolute-form to the admin port is refused 403 (curl)', async () => {
    const res = await curl(lens, `http://127.0.0.1:${adminPort}/api/exchanges`);
    expect(res.status).toBe(403);
    expect(res.body.toString()).toContain('oauth-lens itself');
    expect(adminHits).toBe(0);
  });

  it('a direct (non-proxy) request to the proxy port does not loop', async () => {
    const res = await request(`http://127.0.0.1:${lens.proxy.port}/`);
    expect(res.statusCode).toBe(403);
    await res.body.text();
  });

  it('a name resolving to loopback is refused after DNS resolution', async (t) => {
    // The machine's own hostname is not in the name list; only the resolved-address check can catch it.
    const name = os.hostname();
    const addresses = await dns.promises.lookup(name, { all: true }).catch(() => []);
    if (!addresses.some((a) => a.address.startsWith('127.') || a.address === '::1')) t.skip();
    const res = await curl(lens, `http://${name}:${adminPort}/`);
    expect(res.status).toBe(403);
    expect(adminHits).toBe(0);
  });

  it('the guarded lookup fails for loopback results on refused ports only', async () => {
    const guard = new SelfGuard('127.0.0.1', [adminPort]);
    expect(guard.lookupFor(adminPort + 1)).toBeUndefined();
    const lookup = guard.lookupFor(adminPort)!;
    const err = await new Promise<unknown>((resolve) => {
      (lookup as unknown as (h: string, o: object, cb: (e: unknown) => void) => void)('localhost', { all: true }, resolve);
    });
    expect(err).toMatchObject({ code: 'OAL_ERR_PROXY_LOOP' });
  });

  it('other loopback ports are still proxied (local test servers stay visible)', async () => {
    const other = http.createServer((_req, res) => res.end('local ok'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const port = (other.address() as net.AddressInfo).port;
      const res = await curl(lens, `http://127.0.0.1:${port}/`);
      expect(res.body.toString()).toBe('local ok');
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});

describe('SelfGuard and authority parsing', () => {
  it('parses host:port and bracketed IPv6, rejects junk', () => {
    expect(parseAuthority('Example.COM:443')).toEqual({ host: 'example.com', port: 443 });
    expect(parseAuthority('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    for (const bad of ['', '[::1', 'host:99999', 'a b:1', 'host:', '/path']) expect(parseAuthority(bad)).toBeNull();
  });

  it('knows loopback, unspecified and localhost names as local', () => {
    const guard = new SelfGuard('127.0.0.1', [9999]);
    for (const host of ['127.0.0.1', '127.9.9.9', 'localhost', 'api.localhost', '::1', '0.0.0.0', '::ffff:127.0.0.1']) {
      expect(guard.isSelf(host, 9999)).toBe(true);
    }
    expect(guard.isSelf('127.0.0.1', 9998)).toBe(false);
    expect(guard.isSelf('example.com', 9999)).toBe(false);
  });
});

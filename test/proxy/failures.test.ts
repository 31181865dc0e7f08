/**
 * Upstream failures become 502/504 with a short cause (never the library's `${kind}: ${err}` text), are
 * recorded on the exchange, and leave the proxy serving. Also the crash traps of http-mitm-proxy 1.1.0.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { curl, startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, startHttpsUpstream, startHttpUpstream, tmpDir, type Upstream } from './support/upstream.js';
import type { CertificateAuthority } from '../../src/proxy/ca.js';

let testCa: CertificateAuthority;
let upstreamCaFile: string;
let healthy: Upstream;
let lens: TestLens;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  testCa = await createTestCa();
  upstreamCaFile = path.join(tmpDir('upca'), 'ca.pem');
  fs.writeFileSync(upstreamCaFile, testCa.certPem);
  healthy = await startHttpsUpstream({ ca: testCa });
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile], upstreamTimeoutMs: 600 });
});

afterAll(async () => {
  await lens?.close();
  await healthy?.close();
  for (const close of closers) await close();
});

async function stillServing(): Promise<void> {
  const res = await curl(lens, `${healthy.url}/alive`, ['--data-binary', 'ping=1']);
  expect(res.status).toBe(200);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('upstream failures', () => {
  it('refused connection → 502 naming the cause, recorded as refused', async () => {
    const port = await freePort();
    const res = await curl(lens, `https://127.0.0.1:${port}/token`, ['-d', 'a=1']);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toMatch(/^oauth-lens: upstream 127\.0\.0\.1:\d+ refused the connection\n$/);
    expect(res.body.toString()).not.toMatch(/PROXY_TO_SERVER_REQUEST_ERROR|Error:/);
    const cap = await lens.waitFor((c) => c.request.url === `https://127.0.0.1:${port}/token`);
    expect(cap.error).toMatchObject({ code: 'refused', nodeCode: 'ECONNREFUSED' });
    expect(cap.response).toBeUndefined();
    await stillServing();
  });

  it('silent upstream → 504 after the upstream timeout, recorded as timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = tls.createServer(
      (() => { const l = testCa.issueLeaf('127.0.0.1'); return { key: l.keyPem, cert: l.certPem }; })(),
      (s) => { sockets.push(s); s.on('error', () => {}); },
    );
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => { sockets.forEach((s) => s.destroy()); silent.close(() => r()); }));
    const { port } = silent.address() as net.AddressInfo;
    const res = await curl(lens, `https://127.0.0.1:${port}/slow`);
    expect(res.status).toBe(504);
    expect(res.body.toString()).toContain('did not answer in time');
    const cap = await lens.waitFor((c) => c.request.url.endsWith(`${port}/slow`));
    expect(cap.error?.code).toBe('timeout');
    await stillServing();
  });

  it('a response arriving after the 504 is dropped without crashing (ERR_HTTP_HEADERS_SENT trap)', async () => {
    const late = await startHttpsUpstream({ ca: testCa }, (_req, _body, res) => {
      setTimeout(() => { try { res.end('too late'); } catch { /* client gone */ } }, 900);
    });
    closers.push(() => late.close());
    const res = await curl(lens, `${late.url}/late`);
    expect(res.status).toBe(504);
    await new Promise((r) => setTimeout(r, 500)); // let the late response land
    await stillServing();
  });

  it('certificate for another name → 502 tls_hostname', async () => {
    const wrong = await startHttpsUpstream({ ca: testCa, certFor: 'not-this-host.test' });
    closers.push(() => wrong.close());
    const res = await curl(lens, `${wrong.url}/token`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('certificate for another name (DNS:not-this-host.test)');
    const cap = await lens.waitFor((c) => c.request.url === `${wrong.url}/token`);
    expect(cap.error).toMatchObject({ code: 'tls_hostname', nodeCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await stillServing();
  });

  it('expired certificate → 502 tls_expired', async () => {
    const expired = await startHttpsUpstream({ ca: testCa, issuedAt: new Date(Date.now() - 200 * 86_400_000) });
    closers.push(() => expired.close());
    const res = await curl(lens, `${expired.url}/token`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('expired certificate');
    const cap = await lens.waitFor((c) => c.request.url === `${expired.url}/token`);
    expect(cap.error).toMatchObject({ code: 'tls_expired', nodeCode: 'CERT_HAS_EXPIRED' });
    await stillServing();
  });

  it('unknown CA → 502 tls_untrusted unless trusted with --upstream-ca', async () => {
    const otherCa = await createTestCa();
    const foreign = await startHttpsUpstream({ ca: otherCa });
    closers.push(() => foreign.close());
    const res = await curl(lens, `${foreign.url}/token`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('untrusted CA');
    const cap = await lens.waitFor((c) => c.request.url === `${foreign.url}/token`);
    expect(cap.error?.code).toBe('tls_untrusted');

    const caFile = path.join(tmpDir('other-ca'), 'ca.pem');
    fs.writeFileSync(caFile, otherCa.certPem);
    const trusting = await startTestLens({ upstreamCaFiles: [caFile] });
    try {
      const ok = await curl(trusting, `${foreign.url}/token`);
      expect(ok.status).toBe(200);
    } finally {
      await trusting.close();
    }
  });

  it('NODE_EXTRA_CA_CERTS is part of upstream trust; --insecure-upstream is an explicit opt-in', async () => {
    const otherCa = await createTestCa();
    const foreign = await startHttpsUpstream({ ca: otherCa });
    closers.push(() => foreign.close());
    const caFile = path.join(tmpDir('extra-ca'), 'ca.pem');
    fs.writeFileSync(caFile, otherCa.certPem);
    const viaEnv = await startTestLens({ env: { NODE_EXTRA_CA_CERTS: caFile } });
    const insecure = await startTestLens({ insecureUpstream: true });
    try {
      expect((await curl(viaEnv, `${foreign.url}/env`)).status).toBe(200);
      expect((await curl(insecure, `${foreign.url}/insecure`)).status).toBe(200);
      expect((await curl(lens, `${foreign.url}/default`)).status).toBe(502);
    } finally {
      await viaEnv.close();
      await insecure.close();
    }
  });

  it('upstream reset mid-response cuts the client connection and records reset', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const { port } = server.address() as net.AddressInfo;
    await expect(curl(lens, `http://127.0.0.1:${port}/reset`)).rejects.toThrow();
    const cap = await lens.waitFor((c) => c.request.url.endsWith(`${port}/reset`));
    expect(cap.response?.status).toBe(200);
    expect(cap.error?.code).toMatch(/reset|client_aborted/);
    await stillServing();
  });
});

describe('crash traps of http-mitm-proxy 1.1.0', () => {
  it('a stray Trailer header with content-length does not crash (ERR_HTTP_TRAILER_INVALID)', async () => {
    // Raw bytes: Node's own server refuses to send this combination.
    const raw = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: x-checksum\r\n\r\nok'));
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => raw.close(() => r())));
    const up = { url: `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}` };
    const res = await curl(lens, `${up.url}/trailer`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
    await stillServing();
  });

  it('real chunked trailers are forwarded (the library dropped them)', async () => {
    const up = await startHttpUpstream((_req, _body, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked', trailer: 'x-checksum' });
      res.write('data');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    });
    closers.push(() => up.close());
    const trailers = await new Promise<NodeJS.Dict<string>>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: lens.proxy.port, path: `${up.url}/t`, headers: { host: `127.0.0.1:${up.port}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.trailers));
      });
      req.on('error', reject);
      req.end();
    });
    expect(trailers['x-checksum']).toBe('abc123');
  });

  it('a throwing capture subscriber does not crash the proxy', async () => {
    const throwing = await startTestLens({ upstreamCaFiles: [upstreamCaFile], onCapture: () => { throw new Error('subscriber bug'); } });
    try {
      for (let i = 0; i < 3; i++) expect((await curl(throwing, `${healthy.url}/x${i}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(throwing.proxy.captureErrors).toBe(3);
    } finally {
      await throwing.close();
    }
  });

  it('malformed HTTP inside the TLS tunnel is answered 400 and closed, not left hanging', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(lens.proxy.port, '127.0.0.1', () => sock.write(`CONNECT 127.0.0.1:${healthy.port} HTTP/1.1\r\nHost: x\r\n\r\n`));
      sock.once('data', () => {
        const t = tls.connect({ socket: sock, ca: lens.ca.certPem, servername: 'localhost', checkServerIdentity: () => undefined }, () => {
          t.write('GARBAGE / NOTHTTP\r\n\r\n');
        });
        let got = '';
        t.on('data', (d) => { got += d.toString(); });
        t.on('close', () => resolve(got));
        t.on('error', () => resolve(got));
      });
      sock.on('error', reject);
      setTimeout(() => reject(new Error('tunnel left hanging')), 5000);
    });
    expect(answer).toContain('400 Bad Request');
    expect(Date.now() - started).toBeLessThan(5000);
    await stillServing();
  });

  it('a malformed CONNECT target is refused, not crashed on', async () => {
    const answer = await new Promise<string>((resolve) => {
      const sock = net.connect(lens.proxy.port, '127.0.0.1', () => sock.write('CONNECT [::1 HTTP/1.1\r\nHost: x\r\n\r\n'));
      let got = '';
      sock.on('data', (d) => { got += d.toString(); });
      sock.on('close', () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    await stillServing();
  });

  it('closing twice is harmless', async () => {
    const extra = await startTestLens();
    await extra.close();
    await expect(extra.proxy.close()).resolves.toBeUndefined();
  });
});

describe('undici sees the same statuses', () => {
  it('502 for a refused upstream over the undici ProxyAgent, then 200', async () => {
    const port = await freePort();
    const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: lens.agent() });
    expect(res.statusCode).toBe(502);
    expect(res.headers['x-oauth-lens-error']).toBe('refused');
    await res.body.text();
    const ok = await request(`${healthy.url}/after`, { dispatcher: lens.agent(), method: 'POST', body: 'a=1' });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });
});

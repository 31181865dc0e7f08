/**
 * Bytes and framing go through unchanged while the proxy observes them: sha256 on both sides, real
 * clients (curl, undici ProxyAgent, Python requests), HTTPS via CONNECT and plain HTTP absolute-form.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { curl, run, startTestLens, type TestLens } from './support/lens.js';
import {
  createTestCa, echoHandler, sha256, startHttpUpstream, startHttpsUpstream, tmpDir, type Upstream,
} from './support/upstream.js';
import type { CertificateAuthority } from '../../src/proxy/ca.js';

const FORM = 'grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_secret=p%40ss+w%2Ford%26%3D%25';
const BIG = crypto.randomBytes(5 * 1024 * 1024);
const GZ_TEXT = JSON.stringify({ access_token: 'x'.repeat(2000), token_type: 'Bearer', expires_in: 3600 });
const GZ = zlib.gzipSync(GZ_TEXT);

let testCa: CertificateAuthority;
let upstreamCaFile: string;
let https1: Upstream;
let http1: Upstream;
let lens: TestLens;

beforeAll(async () => {
  testCa = await createTestCa();
  upstreamCaFile = path.join(tmpDir('upca'), 'ca.pem');
  fs.writeFileSync(upstreamCaFile, testCa.certPem);
  const handler = (req: import('node:http').IncomingMessage, body: Buffer, res: import('node:http').ServerResponse): void => {
    if (req.url === '/gzip') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': GZ.length });
      return void res.end(GZ);
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
      return void res.end(BIG);
    }
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
      return void setTimeout(() => res.end('part two'), 10);
    }
    echoHandler(req, body, res);
  };
  https1 = await startHttpsUpstream({ ca: testCa }, handler);
  http1 = await startHttpUpstream(handler);
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile] });
});

afterAll(async () => {
  await lens?.close();
  await https1?.close();
  await http1?.close();
});

describe('request bodies arrive byte-identical', () => {
  it('curl form POST with content-length over HTTPS', async () => {
    const res = await curl(lens, `${https1.url}/token?client_id=abc`, ['--data-binary', FORM, '-H', 'Content-Type: application/x-www-form-urlencoded']);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).sha256).toBe(sha256(FORM));
    const got = https1.received.find((r) => r.url === '/token?client_id=abc')!;
    expect(got.body.toString()).toBe(FORM);
    expect(got.rawHeaders.map((h) => h.toLowerCase())).toContain('content-length');
    const cap = await lens.waitFor((c) => c.request.url === `${https1.url}/token?client_id=abc`);
    expect(cap.request.body.bytes.toString()).toBe(FORM);
    expect(cap.request.body.truncated).toBe(false);
    expect(cap.connectTarget).toBe(`127.0.0.1:${https1.port}`);
    expect(cap.response?.status).toBe(200);
    expect(cap.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(cap.tls?.peerCertificate?.subject).toContain('CN=127.0.0.1');
    expect(cap.timings.end).toBeGreaterThanOrEqual(cap.timings.start);
  });

  it('curl chunked upload over HTTPS keeps transfer-encoding and bytes', async () => {
    const res = await curl(lens, `${https1.url}/chunked-upload`, ['--data-binary', FORM, '-H', 'Transfer-Encoding: chunked']);
    expect(res.status).toBe(200);
    const got = https1.received.find((r) => r.url === '/chunked-upload')!;
    expect(sha256(got.body)).toBe(sha256(FORM));
    expect(got.rawHeaders.map((h) => h.toLowerCase())).toContain('transfer-encoding');
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/chunked-upload'));
    expect(cap.request.body.bytes.toString()).toBe(FORM);
  });

  it('undici ProxyAgent with a streamed (chunked) body over HTTPS', async () => {
    const body = crypto.randomBytes(200_000);
    const res = await request(`${https1.url}/stream-upload`, {
      method: 'POST', dispatcher: lens.agent(),
      body: Readable.from((async function* () { for (let i = 0; i < body.length; i += 16_384) yield body.subarray(i, i + 16_384); })()),
    });
    const json = (await res.body.json()) as { sha256: string; length: number };
    expect(res.statusCode).toBe(200);
    expect(json).toMatchObject({ sha256: sha256(body), length: body.length });
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/stream-upload'));
    expect(sha256(cap.request.body.bytes)).toBe(sha256(body));
  });

  it('plain HTTP absolute-form through the proxy (curl)', async () => {
    const res = await curl(lens, `${http1.url}/plain-token`, ['--data-binary', FORM]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).sha256).toBe(sha256(FORM));
    const cap = await lens.waitFor((c) => c.request.url === `${http1.url}/plain-token`);
    expect(cap.connectTarget).toBeUndefined();
    expect(cap.request.body.bytes.toString()).toBe(FORM);
  });

  it('Python requests form POST via HTTPS_PROXY and a CA bundle', async () => {
    const script = [
      'import os, requests, hashlib, json',
      's = requests.Session()',
      `r = s.post("${https1.url}/py", data={"grant_type": "client_credentials", "client_secret": "p@ss w/ord&=%"}, timeout=10)`,
      'print(json.dumps({"status": r.status_code, "body": r.json()}))',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script], {
      env: { ...process.env, HTTPS_PROXY: lens.proxy.url, REQUESTS_CA_BUNDLE: path.join(lens.ca.paths.dir, 'ca.pem'), NO_PROXY: '' },
    });
    const out = JSON.parse(stdout) as { status: number; body: { sha256: string } };
    expect(out.status).toBe(200);
    const sent = 'grant_type=client_credentials&client_secret=p%40ss+w%2Ford%26%3D%25';
    expect(out.body.sha256).toBe(sha256(sent));
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/py'));
    expect(cap.request.body.bytes.toString()).toBe(sent);
  });
});

describe('responses arrive unchanged', () => {
  it('gzip is forwarded compressed (same bytes, same framing) and captured decoded', async () => {
    const res = await request(`${https1.url}/gzip`, { dispatcher: lens.agent(), headers: { 'accept-encoding': 'gzip' } });
    const raw = Buffer.from(await res.body.arrayBuffer());
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['content-length']).toBe(String(GZ.length));
    expect(res.headers['transfer-encoding']).toBeUndefined();
    expect(sha256(raw)).toBe(sha256(GZ));
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/gzip'));
    expect(sha256(cap.response!.body.bytes)).toBe(sha256(GZ));
    expect(cap.response!.body.decoded?.toString()).toBe(GZ_TEXT);
    // Accept-Encoding went upstream as the client sent it (no gunzip module rewriting it).
    const up = https1.received.find((r) => r.url === '/gzip')!;
    const ae = up.rawHeaders.findIndex((h) => h.toLowerCase() === 'accept-encoding');
    expect(up.rawHeaders[ae + 1]).toBe('gzip');
  });

  it('chunked responses stay chunked and complete', async () => {
    const res = await curl(lens, `${https1.url}/chunked`);
    expect(res.body.toString()).toBe('part one;part two');
    expect(res.headers.toLowerCase()).toContain('transfer-encoding: chunked');
  });

  it('a 5 MiB body is forwarded intact and captured truncated at 1 MiB with its full size', async () => {
    const res = await curl(lens, `${https1.url}/big`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(BIG));
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/big'));
    expect(cap.response!.body.size).toBe(BIG.length);
    expect(cap.response!.body.truncated).toBe(true);
    expect(cap.response!.body.bytes.length).toBe(1024 * 1024);
    expect(cap.response!.body.bytes.equals(BIG.subarray(0, 1024 * 1024))).toBe(true);
  });

  it('a 5 MiB upload is forwarded intact and captured truncated', async () => {
    const res = await request(`${https1.url}/big-upload`, { method: 'POST', body: BIG, dispatcher: lens.agent() });
    expect(((await res.body.json()) as { sha256: string }).sha256).toBe(sha256(BIG));
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/big-upload'));
    expect(cap.request.body).toMatchObject({ size: BIG.length, truncated: true });
  });
});

describe('protocol edges', () => {
  it('a client offering HTTP/2 is served HTTP/1.1 via ALPN (no HTTP/2 in the MITM)', async () => {
    const ca = path.join(lens.ca.paths.dir, 'ca.pem');
    const { stdout, stderr } = await run('curl', ['-sv', '--http2', '--max-time', '10', '-x', lens.proxy.url, '--cacert', ca, `${https1.url}/h2`], { encoding: 'utf8' });
    expect(stderr).toMatch(/ALPN: server accepted http\/1\.1|ALPN, server accepted to use http\/1\.1/);
    expect(JSON.parse(stdout).url).toBe('/h2');
  });

  it('an IPv6 literal CONNECT target works (the library parsed it as "[")', async (t) => {
    let v6: Upstream;
    try {
      v6 = await startHttpsUpstream({ ca: testCa, host: '::1' });
    } catch {
      return t.skip(); // no IPv6 loopback on this machine
    }
    try {
      const res = await curl(lens, `https://[::1]:${v6.port}/v6`, ['--data-binary', FORM]);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString()).sha256).toBe(sha256(FORM));
      const cap = await lens.waitFor((c) => c.request.url === `https://[::1]:${v6.port}/v6`);
      expect(cap.connectTarget).toBe(`[::1]:${v6.port}`);
    } finally {
      await v6.close();
    }
  });

  it('plain HTTP inside a CONNECT tunnel is forwarded to the CONNECT target and captured', async () => {
    const net = await import('node:net');
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(lens.proxy.port, '127.0.0.1', () => sock.write(`CONNECT 127.0.0.1:${http1.port} HTTP/1.1\r\nHost: 127.0.0.1:${http1.port}\r\n\r\n`));
      let stage = 0;
      let got = '';
      sock.on('data', (d) => {
        if (stage++ === 0) {
          sock.write(`POST /in-tunnel HTTP/1.1\r\nHost: 127.0.0.1:${http1.port}\r\nContent-Length: ${FORM.length}\r\nConnection: close\r\n\r\n${FORM}`);
          return;
        }
        got += d.toString();
      });
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toContain(sha256(FORM));
    const cap = await lens.waitFor((c) => c.request.url === `http://127.0.0.1:${http1.port}/in-tunnel`);
    expect(cap.connectTarget).toBe(`127.0.0.1:${http1.port}`);
  });

  it('the upstream is the CONNECT target, not a different inner Host header', async () => {
    const ca = path.join(lens.ca.paths.dir, 'ca.pem');
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxy.url, '--cacert', ca, '-H', 'Host: 127.0.0.3:1',
      `${https1.url}/host-header`], { encoding: 'utf8' });
    expect(JSON.parse(stdout).url).toBe('/host-header');
    const cap = await lens.waitFor((c) => c.request.url.endsWith('/host-header'));
    expect(cap.request.headers).toContainEqual(['Host', '127.0.0.3:1']);
  });
});

describe('keep-alive on both sides', () => {
  it('20 sequential requests reuse their tunnel and its one upstream connection', async () => {
    const up = await startHttpsUpstream({ ca: testCa });
    try {
      const agent = lens.agent();
      const tunnelsBefore = lens.proxy.tunnelsAccepted;
      for (let i = 0; i < 20; i++) {
        const res = await request(`${up.url}/ka${i}`, { method: 'POST', body: FORM, dispatcher: agent });
        expect(res.statusCode).toBe(200);
        await res.body.json();
      }
      expect(up.received).toHaveLength(20);
      // undici opens a second tunnel for its second request (seen without oauth-lens too), then reuses it.
      const tunnels = lens.proxy.tunnelsAccepted - tunnelsBefore;
      expect(tunnels).toBeLessThanOrEqual(2);
      // Each tunnel has one upstream connection of its own, as a direct client would have had.
      expect(up.connections).toBe(tunnels);
    } finally {
      await up.close();
    }
  });

  it('curl --next reuses the same CONNECT tunnel', async () => {
    const up = await startHttpsUpstream({ ca: testCa });
    try {
      const ca = path.join(lens.ca.paths.dir, 'ca.pem');
      const before = lens.proxy.tunnelsAccepted;
      const { stderr } = await run('curl', ['-sv', '--max-time', '10', '-x', lens.proxy.url, '--cacert', ca, `${up.url}/a`,
        '--next', '-x', lens.proxy.url, '--cacert', ca, `${up.url}/b`], { encoding: 'utf8' });
      expect(stderr).toContain('Re-using existing connection');
      expect(lens.proxy.tunnelsAccepted - before).toBe(1);
      expect(up.connections).toBe(1);
    } finally {
      await up.close();
    }
  });
});

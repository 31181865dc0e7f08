/**
 * The tunnel relay from the outside: raw TLS clients through a CONNECT tunnel, against scripted raw TLS
 * upstreams, so every byte each side sends and receives can be compared. What a user sees: bytes both ways
 * are exactly what the peers sent, pipelined exchanges are captured in order, and upstream failures become
 * a 502/504 naming the cause at a message boundary, or a cut connection mid-response.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, startHttpsUpstream, tmpDir } from './support/upstream.js';
import type { CertificateAuthority } from '../../src/proxy/ca.js';

let testCa: CertificateAuthority;
let lens: TestLens;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  testCa = await createTestCa();
  const upstreamCaFile = path.join(tmpDir('upca'), 'ca.pem');
  fs.writeFileSync(upstreamCaFile, testCa.certPem);
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile], upstreamTimeoutMs: 800 });
});

afterAll(async () => {
  await lens?.close();
  for (const close of closers) await close();
});

/** A TLS upstream on 127.0.0.1 whose connections `onSocket` scripts by hand. */
async function scriptedUpstream(onSocket: (socket: tls.TLSSocket) => void): Promise<number> {
  const leaf = testCa.issueLeaf('127.0.0.1');
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.on('error', () => {}); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }));
  return (server.address() as net.AddressInfo).port;
}

/** CONNECT to 127.0.0.1:`port` through the proxy, then TLS with the proxy's leaf (no SNI: an IP target). */
async function tunnel(port: number): Promise<tls.TLSSocket> {
  const raw = net.connect(lens.proxy.port, '127.0.0.1');
  raw.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    raw.once('data', (chunk: Buffer) => (chunk.toString('latin1').startsWith('HTTP/1.1 200') ? resolve() : reject(new Error('CONNECT refused'))));
    raw.once('error', reject);
  });
  const secure = tls.connect({ socket: raw, ca: lens.ca.certPem, checkServerIdentity: () => undefined });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  return secure;
}

/** Everything `socket` receives until it closes (or `until` holds), and how it ended. */
function collect(socket: tls.TLSSocket, until?: (got: Buffer) => boolean): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const done = (closed: boolean): void => resolve({ bytes: Buffer.concat(parts), closed });
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      if (until?.(Buffer.concat(parts))) done(false);
    });
    socket.once('close', () => done(true));
    socket.once('error', () => done(true));
  });
}

describe('tunnel relay', () => {
  it('forwards pipelined requests and their responses byte for byte, and captures them in order', async () => {
    const body = Buffer.from('grant_type=authorization_code&code=abc');
    const sent = Buffer.concat([
      Buffer.from(`POST /token HTTP/1.1\r\nhost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\ncontent-length:   ${body.length}\r\nX-Odd:  spaced \r\n\r\n`), body,
      Buffer.from('HEAD /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      Buffer.from('GET /userinfo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    ]);
    const script = Buffer.from([
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 18\r\n\r\n{"token_type":"x"}',
      'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n', // HEAD: a length, no body
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n0\r\nX-Trailer: t\r\n\r\n',
    ].join(''));
    let received = Buffer.alloc(0);
    const port = await scriptedUpstream((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length === sent.length) socket.write(script);
      });
    });
    const client = await tunnel(port);
    const got = collect(client, (bytes) => bytes.length >= script.length);
    client.write(sent);
    const { bytes } = await got;
    client.destroy();
    expect(bytes.equals(script)).toBe(true);
    expect(received.equals(sent)).toBe(true);

    const base = `https://127.0.0.1:${port}`;
    const token = await lens.waitFor((c) => c.request.url === `${base}/token`);
    const head = await lens.waitFor((c) => c.request.url === `${base}/jwks`);
    const info = await lens.waitFor((c) => c.request.url === `${base}/userinfo?x=1`);
    expect(token.request.method).toBe('POST');
    expect(token.request.headers).toContainEqual(['X-Odd', 'spaced']);
    expect(token.request.body.bytes.equals(body)).toBe(true);
    expect(token.response?.body.bytes.toString()).toBe('{"token_type":"x"}');
    expect(head.request.method).toBe('HEAD');
    expect(head.response?.status).toBe(200);
    expect(head.response?.body.size).toBe(0);
    expect(info.response?.body.bytes.toString()).toBe('abcd');
    for (const cap of [token, head, info]) {
      expect(cap.error).toBeUndefined();
      expect(cap.connectTarget).toBe(`127.0.0.1:${port}`);
      expect(cap.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(cap.tls?.peerCertificate?.subject).toContain('127.0.0.1');
      const t = cap.timings;
      expect(t.start).toBeLessThanOrEqual(t.requestSent!);
      expect(t.requestSent!).toBeLessThanOrEqual(t.responseHeaders!);
      expect(t.responseHeaders!).toBeLessThanOrEqual(t.end!);
    }
    expect(token.timings.end!).toBeLessThanOrEqual(head.timings.end!);
  });

  it('an upstream that closes before answering gets the client a 502 naming the cause, after the answered ones', async () => {
    const port = await scriptedUpstream((socket) => {
      let requests = 0;
      socket.on('data', () => {
        requests++;
        if (requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
    });
    const client = await tunnel(port);
    const first = collect(client, (b) => b.toString().endsWith('ok'));
    client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    expect((await first).bytes.toString()).toMatch(/^HTTP\/1\.1 200 OK/);
    client.removeAllListeners('data');
    const second = collect(client);
    client.write('POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 14\r\n\r\ncode=SECRET123');
    const { bytes, closed } = await second;
    const text = bytes.toString();
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(text).toContain('X-OAuth-Lens-Error: reset');
    expect(text).toMatch(/\r\n\r\noauth-lens: upstream 127\.0\.0\.1:\d+ closed the connection\n$/);
    expect(text).not.toContain('SECRET123');
    const cap = await lens.waitFor((c) => c.request.url === `https://127.0.0.1:${port}/token`);
    expect(cap.error).toMatchObject({ code: 'reset' });
    expect(cap.response).toBeUndefined();
    expect((await lens.waitFor((c) => c.request.url.endsWith(`${port}/first`))).error).toBeUndefined();
  });

  it('an upstream cut mid-response cuts the client connection (no error text inside a body) and records it', async () => {
    const port = await scriptedUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial');
        setTimeout(() => socket.destroy(), 50);
      });
    });
    const client = await tunnel(port);
    const got = collect(client);
    client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    const { bytes, closed } = await got;
    expect(closed).toBe(true);
    expect(bytes.toString()).toBe('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial');
    const cap = await lens.waitFor((c) => c.request.url.endsWith(`${port}/big`));
    expect(cap.response?.status).toBe(200);
    expect(cap.response?.body.bytes.toString()).toBe('partial');
    expect(cap.error?.code).toBe('reset');
  });

  it('an upstream that never answers gets the client a 504 once the upstream timeout passes', async () => {
    let requests = 0;
    const port = await scriptedUpstream((socket) => socket.on('data', () => { requests++; }));
    const client = await tunnel(port);
    const got = collect(client);
    client.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n');
    const { bytes, closed } = await got;
    expect(requests).toBe(1);
    expect(closed).toBe(true);
    expect(bytes.toString()).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n[^]*did not answer in time\n$/);
    expect((await lens.waitFor((c) => c.request.url.endsWith(`${port}/slow`))).error?.code).toBe('timeout');
  });

  it('an idle keep-alive close by the upstream reaches the client as a close, with nothing recorded as failed', async () => {
    const port = await scriptedUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        setTimeout(() => socket.end(), 100);
      });
    });
    const client = await tunnel(port);
    const got = collect(client);
    client.write('GET /once HTTP/1.1\r\nHost: a\r\n\r\n');
    const { bytes, closed } = await got;
    expect(closed).toBe(true);
    expect(bytes.toString()).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect((await lens.waitFor((c) => c.request.url.endsWith(`${port}/once`))).error).toBeUndefined();
  });

  it('a response to Expect: 100-continue is captured as its final status, with the body sent after the 100', async () => {
    const up = await startHttpsUpstream({ ca: testCa });
    closers.push(() => up.close());
    const client = await tunnel(up.port);
    const interim = collect(client, (b) => b.toString().includes('100 Continue\r\n\r\n'));
    client.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n');
    expect((await interim).bytes.toString()).toMatch(/^HTTP\/1\.1 100 Continue/);
    client.removeAllListeners('data');
    const final = collect(client, (b) => b.toString().endsWith('"url":"/token"}'));
    client.write('a=b&c=d&e');
    const echoed = (await final).bytes.toString();
    expect(echoed).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(echoed).toContain('"length":9');
    client.destroy();
    const cap = await lens.waitFor((c) => c.request.url === `${up.url}/token`);
    expect(cap.response?.status).toBe(200);
    expect(cap.request.body.bytes.toString()).toBe('a=b&c=d&e');
  });

  it('malformed HTTP on a relayed tunnel is answered 400 and never reaches the upstream', async () => {
    let received = 0;
    let connected = 0;
    const port = await scriptedUpstream((socket) => {
      connected++;
      socket.on('data', (chunk: Buffer) => { received += chunk.length; });
    });
    const client = await tunnel(port);
    const got = collect(client);
    client.write('GARBAGE / NOTHTTP\r\n\r\n');
    const { bytes, closed } = await got;
    expect(closed).toBe(true);
    expect(bytes.toString()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(connected).toBe(1); // the tunnel's own connection was open
    expect(received).toBe(0);
  });

  it('a request that arrives before the upstream handshake fails is answered by the request relay', async () => {
    // Accepts TCP, never speaks TLS, resets after 300 ms: the client's request is already waiting by then.
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      setTimeout(() => s.resetAndDestroy(), 300);
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => { sockets.forEach((s) => s.destroy()); mute.close(() => r()); }));
    const { port } = mute.address() as net.AddressInfo;
    const client = await tunnel(port);
    const got = collect(client, (b) => b.includes('\n', b.indexOf('\r\n\r\n') + 4));
    client.write('GET /early HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = (await got).bytes.toString();
    client.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).toMatch(/oauth-lens: .*127\.0\.0\.1:\d+/);
    const cap = await lens.waitFor((c) => c.request.url.endsWith(`${port}/early`));
    expect(cap.error?.code).toMatch(/reset|tls_other|other/);
  });

  it('an unparseable upstream response still reaches the client unchanged; the capture says why it stops', async () => {
    const garbage = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nBad Header Line\r\n\r\nbody');
    const port = await scriptedUpstream((socket) => socket.once('data', () => socket.end(garbage)));
    const client = await tunnel(port);
    const got = collect(client);
    client.write('GET /weird HTTP/1.1\r\nHost: a\r\n\r\n');
    const { bytes } = await got;
    expect(bytes.equals(garbage)).toBe(true);
    const cap = await lens.waitFor((c) => c.request.url.endsWith(`${port}/weird`));
    expect(cap.error?.code).toBe('other');
    expect(cap.error?.message).toMatch(/could not parse the upstream response \(HPE_[A-Z_]+\); bytes were forwarded unchanged/);
  });

  it('a server that speaks first (not HTTP) is piped both ways untouched', async () => {
    let heard = '';
    const port = await scriptedUpstream((socket) => {
      socket.write('220 mail.test ESMTP ready\r\n');
      socket.on('data', (chunk: Buffer) => {
        heard += chunk.toString();
        if (heard.endsWith('QUIT\r\n')) socket.end('221 bye\r\n');
      });
    });
    const client = await tunnel(port);
    const greeting = collect(client, (b) => b.toString().endsWith('ready\r\n'));
    expect((await greeting).bytes.toString()).toBe('220 mail.test ESMTP ready\r\n');
    client.removeAllListeners('data');
    const rest = collect(client);
    client.write('EHLO me\r\nQUIT\r\n');
    const { bytes, closed } = await rest;
    expect(closed).toBe(true);
    expect(bytes.toString()).toBe('221 bye\r\n');
    expect(heard).toBe('EHLO me\r\nQUIT\r\n');
  });
});

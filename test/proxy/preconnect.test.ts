/**
 * The upstream connection is opened when a tunnel is accepted (mitmproxy's eager strategy), so its TLS
 * handshake overlaps the client's handshake with the proxy. What a user can observe: the upstream sees the
 * connection before any request, the first request travels on it (one connection in all), and a tunnel
 * that turns out to carry plain HTTP does not leave the early TLS connection behind.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, startHttpUpstream, startHttpsUpstream, tmpDir, type Upstream } from './support/upstream.js';
import type { CertificateAuthority } from '../../src/proxy/ca.js';

let testCa: CertificateAuthority;
let lens: TestLens;

beforeAll(async () => {
  testCa = await createTestCa();
  const upstreamCaFile = path.join(tmpDir('upca'), 'ca.pem');
  fs.writeFileSync(upstreamCaFile, testCa.certPem);
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile] });
});

afterAll(async () => {
  await lens?.close();
});

/** Open a CONNECT tunnel to `target` and wait for the proxy's 200. */
async function openTunnel(target: string): Promise<net.Socket> {
  const socket = net.connect(lens.proxy.port, '127.0.0.1');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (seen.startsWith('HTTP/1.1 200')) resolve();
      else reject(new Error(seen.split('\r\n')[0]));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return socket;
}

/** Send one HTTP/1.1 request on `stream` and resolve with the raw response once it is complete. */
function exchange(stream: net.Socket | tls.TLSSocket, host: string, pathName: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    stream.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1');
      const [head, body = ''] = raw.split('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(head ?? '');
      if (length && body.length >= Number(length[1])) resolve(raw);
    });
    stream.once('error', reject);
    stream.write(`GET ${pathName} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}

describe('the upstream connection is opened with the tunnel', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startHttpsUpstream({ ca: testCa, host: '127.0.0.7' });
  });
  afterAll(async () => {
    await up?.close();
  });

  it('before any request, and the first request travels on it', async () => {
    const tunnel = await openTunnel(`${up.host}:${up.port}`);
    try {
      // Nothing has been sent inside the tunnel yet, and the upstream already has its connection.
      await expect.poll(() => up.connections).toBe(1);
      const secure = tls.connect({ socket: tunnel, host: up.host, ca: lens.ca.certPem });
      await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
      const response = await exchange(secure, `${up.host}:${up.port}`, '/first');
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      expect(up.received.map((r) => r.url)).toEqual(['/first']);
      expect(up.connections).toBe(1);
      const cap = await lens.waitFor((c) => c.request.url.endsWith('/first'));
      // The capture still has the upstream's TLS facts, though the handshake began before the request.
      expect(cap.tls?.peerCertificate?.subject).toContain(`CN=${up.host}`);
      secure.destroy();
    } finally {
      tunnel.destroy();
    }
  });
});

describe('a tunnel that carries plain HTTP', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startHttpUpstream(undefined, '127.0.0.8');
  });
  afterAll(async () => {
    await up?.close();
  });

  it('gets its request through, and the TLS connection opened ahead is closed', async () => {
    const tunnel = await openTunnel(`${up.host}:${up.port}`);
    try {
      const response = await exchange(tunnel, `${up.host}:${up.port}`, '/plain');
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      expect(up.received.map((r) => r.url)).toEqual(['/plain']);
      // The early TLS connection was opened, then dropped once the first byte showed plain HTTP: only the
      // keep-alive connection carrying the request stays open.
      await expect.poll(() => up.connections).toBe(2);
      await expect.poll(() => up.openConnections()).toBe(1);
    } finally {
      tunnel.destroy();
    }
  });
});

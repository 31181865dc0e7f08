/**
 * Backpressure in both directions: a client that stops reading holds the upstream's response back, and an
 * upstream that stops reading holds the client's upload back. The proxy pauses the sending side instead of
 * buffering the whole body in memory (the library's relay alone ignores backpressure).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestLens, type TestLens } from './support/lens.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Upstream } from './support/upstream.js';

const BODY_BYTES = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let lens: TestLens;
let up: Upstream;
let written = 0;
/** The upstream request that must not be read yet (upload test). */
let stalledUpload: import('node:http').IncomingMessage | undefined;

beforeAll(async () => {
  const testCa = await createTestCa();
  const upstreamCaFile = path.join(tmpDir('upca'), 'ca.pem');
  fs.writeFileSync(upstreamCaFile, testCa.certPem);
  // Writes as fast as its socket accepts, honouring backpressure, and counts what left it.
  up = await startHttpsUpstream({ ca: testCa }, (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY_BYTES });
    const pump = (): void => {
      while (written < BODY_BYTES) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  // The shared upstream helper reads every body; uploads go to a server that reads nothing until told.
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile] });
  slowReader = await startSlowReader(testCa);
});

let slowReader: { host: string; port: number; close(): Promise<void> };

async function startSlowReader(ca: import('../../src/proxy/ca.js').CertificateAuthority): Promise<typeof slowReader> {
  const https = await import('node:https');
  const leaf = ca.issueLeaf('127.0.0.1');
  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req) => {
    req.pause();
    stalledUpload = req;
    req.on('end', () => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

afterAll(async () => {
  await lens?.close();
  await up?.close();
  await slowReader?.close();
});

/** A TLS stream to `target` through a CONNECT tunnel of the proxy. */
async function tunnelTo(host: string, port: number): Promise<tls.TLSSocket> {
  const socket = net.connect(lens.proxy.port, '127.0.0.1');
  socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  await new Promise((resolve) => socket.once('data', resolve));
  const secure = tls.connect({ socket, host, ca: lens.ca.certPem });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return secure;
}

it('an upstream is held back while the client does not read', async () => {
  const target = `${up.host}:${up.port}`;
  const secure = await tunnelTo(up.host, up.port);
  try {
    secure.write(`GET /huge HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    // Read the response head, then stop reading.
    await new Promise((resolve) => secure.once('data', resolve));
    secure.pause();
    // Let the relay run into the stalled client, then check how far the upstream got.
    await expect.poll(() => written, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stalledAt = written;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Socket buffers on three hops hold a few MiB at most; without backpressure the proxy reads the whole
    // 256 MiB into memory.
    expect(written).toBe(stalledAt);
    expect(written).toBeLessThan(64 * 1024 * 1024);
    // Reading again lets it flow.
    secure.resume();
    await expect.poll(() => written, { timeout: 10_000 }).toBeGreaterThan(stalledAt);
  } finally {
    secure.destroy();
  }
});

it('a client upload is held back while the upstream does not read', async () => {
  const secure = await tunnelTo(slowReader.host, slowReader.port);
  let sent = 0;
  let blocked = false;
  try {
    secure.write(`POST /upload HTTP/1.1\r\nHost: ${slowReader.host}:${slowReader.port}\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`);
    const pump = (): void => {
      while (sent < BODY_BYTES) {
        sent += CHUNK.length;
        if (!secure.write(CHUNK)) {
          blocked = true;
          return void secure.once('drain', pump);
        }
      }
    };
    pump();
    await expect.poll(() => stalledUpload !== undefined, { timeout: 5000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stalledAt = sent;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Without backpressure the proxy would have taken (and buffered) all 256 MiB by now.
    expect(blocked).toBe(true);
    expect(sent).toBe(stalledAt);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    stalledUpload!.resume();
    await expect.poll(() => sent, { timeout: 10_000 }).toBeGreaterThan(stalledAt);
  } finally {
    secure.destroy();
  }
});

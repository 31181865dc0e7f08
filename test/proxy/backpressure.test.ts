/**
 * A client that stops reading holds the upstream back: the proxy pauses the upstream response instead of
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
  lens = await startTestLens({ upstreamCaFiles: [upstreamCaFile] });
});

afterAll(async () => {
  await lens?.close();
  await up?.close();
});

it('an upstream is held back while the client does not read', async () => {
  const target = `${up.host}:${up.port}`;
  const socket = net.connect(lens.proxy.port, '127.0.0.1');
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  await new Promise((resolve) => socket.once('data', resolve));
  const secure = tls.connect({ socket, host: up.host, ca: lens.ca.certPem });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
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

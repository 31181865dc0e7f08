/**
 * startLens composition: raw captures reach `onCapture` but never the store without an analyzer; with one,
 * its redacted output is upserted. Plus the process-level isolation of http-mitm-proxy (console, crashes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Proxy as MitmProxy } from 'http-mitm-proxy';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request, ProxyAgent } from 'undici';
import { startLens, type Lens } from '../../src/app.js';
import type { CapturedExchange } from '../../src/capture/types.js';
import type { Exchange, Redacted } from '../../src/model.js';
import { createLogger } from '../../src/log.js';
import { isolateLibraryConsole, isKnownLibraryCrash } from '../../src/proxy/isolation.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Upstream } from './support/upstream.js';

let upstream: Upstream;
let caFile: string;
const silent = createLogger({ destination: { write: () => {} }, pretty: false });

beforeAll(async () => {
  const ca = await createTestCa();
  caFile = path.join(tmpDir('app-upca'), 'ca.pem');
  fs.writeFileSync(caFile, ca.certPem);
  upstream = await startHttpsUpstream({ ca });
});

afterAll(async () => {
  await upstream?.close();
});

async function through(lens: Lens, url: string): Promise<number> {
  const agent = new ProxyAgent({ uri: lens.proxyUrl, requestTls: { ca: fs.readFileSync(lens.caPath, 'utf8') } });
  try {
    const res = await request(url, { dispatcher: agent, method: 'POST', body: 'client_secret=s' });
    await res.body.text();
    return res.statusCode;
  } finally {
    await agent.close();
  }
}

describe('startLens', () => {
  it('without an analyzer: onCapture sees the raw exchange, the store stays empty', async () => {
    const captured: CapturedExchange[] = [];
    const lens = await startLens({ port: 0, certsDir: tmpDir('app-certs'), upstreamCaFiles: [caFile], logger: silent, onCapture: (c) => captured.push(c) });
    try {
      expect(lens.proxyUrl).toBe(`http://127.0.0.1:${lens.port}`);
      expect(fs.existsSync(lens.caBundlePath)).toBe(true);
      expect(await through(lens, `${upstream.url}/token`)).toBe(200);
      await vi.waitFor(() => expect(captured).toHaveLength(1));
      expect(captured[0]!.request.body.bytes.toString()).toBe('client_secret=s');
      expect(lens.store.size).toBe(0);
    } finally {
      await lens.close();
    }
  });

  it('with an analyzer: its (redacted) exchanges are stored', async () => {
    const analyzer = (c: CapturedExchange): Redacted<Exchange>[] => [{
      id: c.id, seq: 1, timings: c.timings,
      request: { method: c.request.method, url: c.request.url, httpVersion: '1.1', headers: [], body: { size: c.request.body.size, truncated: false } },
      oauth: { kind: 'token', findings: [] },
    } as unknown as Redacted<Exchange>];
    const lens = await startLens({ port: 0, certsDir: tmpDir('app-certs2'), upstreamCaFiles: [caFile], logger: silent, analyzer });
    try {
      expect(await through(lens, `${upstream.url}/token2`)).toBe(200);
      await vi.waitFor(() => expect(lens.store.size).toBe(1));
      expect(lens.store.list()[0]!.request.url).toBe(`${upstream.url}/token2`);
    } finally {
      await lens.close();
    }
  });

  it('a throwing analyzer costs neither the log line nor the traffic', async () => {
    const out: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void out.push(line) }, pretty: false });
    const lens = await startLens({
      port: 0, certsDir: tmpDir('app-certs4'), upstreamCaFiles: [caFile], logger,
      analyzer: () => { throw new Error('engine bug with secret=abc'); },
    });
    try {
      expect(await through(lens, `${upstream.url}/boom?code=xyz`)).toBe(200);
      expect(await through(lens, `${upstream.url}/boom2`)).toBe(200);
      await vi.waitFor(() => expect(out.filter((l) => l.includes('"path":"/boom')).length).toBe(2));
      const text = out.join('');
      expect(text).toContain('analyzer failed');
      expect(text).not.toContain('secret=abc');
      expect(text).not.toContain('code=xyz');
      expect(lens.store.size).toBe(0);
    } finally {
      await lens.close();
    }
  });

  it('refuses the extra (viewer) port', async () => {
    const lens = await startLens({ port: 0, certsDir: tmpDir('app-certs3'), logger: silent, extraRefusedPorts: [upstream.port] });
    try {
      // undici reports the refused CONNECT as an error carrying the 403.
      await expect(through(lens, `${upstream.url}/admin`)).rejects.toThrow(/Proxy response \(403\)/);
      expect(upstream.received.some((r) => r.url === '/admin')).toBe(false);
    } finally {
      await lens.close();
    }
  });
});

describe('isolation of http-mitm-proxy', () => {
  it("routes the library's own console output to a sink, and restores the console after", () => {
    const noise: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write');
    const undo = isolateLibraryConsole((_level, text) => noise.push(text));
    try {
      // The library's unpatched _onError prints `kind` and the error with console.error.
      (new MitmProxy() as unknown as { _onError(k: string, c: null, e: Error): void })._onError('TEST_KIND', null, new Error('token=abc'));
    } finally {
      undo();
    }
    expect(noise.join(' ')).toContain('TEST_KIND');
    expect(spy.mock.calls.flat().join('')).not.toContain('TEST_KIND');
    spy.mockRestore();
  });

  it('knows which uncaught errors come from the library', () => {
    const headersSent = Object.assign(new Error('Cannot set headers'), { code: 'ERR_HTTP_HEADERS_SENT' });
    headersSent.stack = 'Error\n    at /x/node_modules/http-mitm-proxy/dist/lib/proxy.js:829:5';
    expect(isKnownLibraryCrash(headersSent)).toBe(true);
    expect(isKnownLibraryCrash(Object.assign(new Error('mine'), { code: 'ERR_HTTP_HEADERS_SENT' }))).toBe(false);
    expect(isKnownLibraryCrash(new TypeError('bug'))).toBe(false);
  });
});

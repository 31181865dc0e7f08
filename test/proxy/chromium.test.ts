/**
 * Issue 2's last strict client: Debian Chromium validates our leaf certificates for real. The CA goes into
 * an NSS database under a throwaway $HOME (where Chromium on Linux looks for trusted CAs) — no
 * ignoreHTTPSErrors, no --ignore-certificate-errors. A second browser whose NSS db trusts some other CA
 * must refuse the same page with ERR_CERT_AUTHORITY_INVALID, so the positive case can fail.
 */
import { execFile } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLens, type Lens } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import type { CapturedExchange } from '../../src/capture/types.js';
import type { CertificateAuthority } from '../../src/proxy/ca.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Handler, type Upstream } from './support/upstream.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';

/**
 * Chromium still makes a few background calls (update.googleapis.com, accounts.google.com) through the proxy.
 * While this suite runs, the proxy (in this process) may resolve only loopback names, so nothing leaves the
 * machine: other names fail at once with ENOTFOUND and never reach a DNS server.
 */
function loopbackOnlyDns(): () => void {
  const original = dns.lookup;
  const guarded = ((hostname: string, ...rest: unknown[]) => {
    const callback = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null) => void;
    if (hostname === 'localhost' || /^127\./.test(hostname)) return (original as (...a: unknown[]) => void)(hostname, ...rest);
    const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    process.nextTick(callback, err);
  }) as typeof dns.lookup;
  dns.lookup = guarded;
  return () => { dns.lookup = original; };
}

/** Chromium and NSS's certutil are the real parts under test; without them this suite cannot say anything. */
function missingTools(): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (Debian package chromium)`);
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, 'certutil')));
  if (!onPath) missing.push('certutil (Debian package libnss3-tools)');
  return missing;
}
const missing = missingTools();
const suiteName = missing.length === 0
  ? 'Chromium trusts oauth-lens leaf certificates through its NSS database'
  : `Chromium trust — SKIPPED, not installed: ${missing.join(', ')}`;

/** A fresh $HOME whose NSS db trusts exactly one CA (as a TLS server issuer: trust flags "C,,"). */
async function homeTrusting(caPemFile: string, nickname: string): Promise<string> {
  const home = tmpDir('chromium-home');
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  await run('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
  await run('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', nickname, '-i', caPemFile]);
  return home;
}

/** The page each upstream serves: names its own host, so a mix-up between hosts shows. */
function pageFor(host: string): Handler {
  return (_req, _body, res) => {
    const html = `<!doctype html><title>lens ${host}</title><p id="who">served by ${host}</p>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html) });
    res.end(html);
  };
}

describe.skipIf(missing.length > 0)(suiteName, () => {
  let upstreamCa: CertificateAuthority;
  let lens: Lens;
  const upstreams = new Map<string, Upstream>();
  const captured: CapturedExchange[] = [];
  const clientTlsErrors: string[] = [];
  const browsers: Browser[] = [];
  const homes: string[] = [];
  let trusting: Browser;
  let distrusting: Browser;

  async function launch(home: string): Promise<Browser> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, `--proxy-server=${lens.proxyUrl}`, '--proxy-bypass-list=<-loopback>'],
      env: { ...process.env, HOME: home },
    });
    browsers.push(browser);
    return browser;
  }

  function upstreamUrl(host: string, pathname: string): string {
    const u = upstreams.get(host)!;
    return `https://${host}:${u.port}${pathname}`;
  }

  /** Captures and TLS-error callbacks run after setImmediate: poll briefly instead of racing them. */
  async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = probe();
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  let restoreDns: () => void = () => {};
  beforeAll(async () => {
    restoreDns = loopbackOnlyDns();
    upstreamCa = await createTestCa();
    // 127.0.0.1 and 127.0.0.2: IP SANs on distinct hosts; localhost: a DNS-name SAN. Chromium hands the name
    // to the proxy in CONNECT (its --host-resolver-rules do not apply through a proxy), so the DNS name must
    // be one the proxy itself can resolve — localhost is the one every machine has.
    for (const [host, listenOn] of [['127.0.0.1', '127.0.0.1'], ['127.0.0.2', '127.0.0.2'], ['localhost', '127.0.0.1']] as const) {
      upstreams.set(host, await startHttpsUpstream({ ca: upstreamCa, host: listenOn, certFor: host }, pageFor(host)));
    }
    lens = await startLens({
      port: 0,
      certsDir: tmpDir('chromium-lens-certs'),
      upstreamCaFiles: [upstreamCa.paths.cert],
      logger: createLogger({ level: 'silent' }),
      onCapture: (c) => captured.push(c),
      onClientTlsError: (target, code) => clientTlsErrors.push(`${target} ${code}`),
    });
    const goodHome = await homeTrusting(lens.caPath, 'oauth-lens');
    // The control trusts a real CA too — just not ours (the upstreams' test CA).
    const otherHome = await homeTrusting(upstreamCa.paths.cert, 'some-other-ca');
    homes.push(goodHome, otherHome);
    [trusting, distrusting] = await Promise.all([launch(goodHome), launch(otherHome)]);
  });

  afterAll(async () => {
    restoreDns();
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    await lens?.close();
    await Promise.all([...upstreams.values()].map((u) => u.close()));
    for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
  });

  it.each(['127.0.0.1', '127.0.0.2', 'localhost'])('loads https://%s through the proxy on a leaf Chromium verifies', async (host) => {
    const url = upstreamUrl(host, `/page?via=chromium`);
    const context = await trusting.newContext();
    try {
      const page = await context.newPage();
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe(`lens ${host}`);
      expect(await page.textContent('#who')).toBe(`served by ${host}`);
      // The certificate Chromium accepted is our leaf for this host, not the upstream's own.
      const tls = await response!.securityDetails();
      expect(tls?.subjectName).toBe(host);
      expect(tls?.issuer).toMatch(/^oauth-lens local CA /);
    } finally {
      await context.close();
    }
    const exchange = await eventually(`a capture of ${url}`, () => captured.find((c) => c.request.url === url));
    expect(exchange.request.method).toBe('GET');
    expect(exchange.response?.status).toBe(200);
    expect(exchange.error).toBeUndefined();
    expect(upstreams.get(host)!.received.some((r) => r.url === '/page?via=chromium')).toBe(true);
  });

  it.each(['127.0.0.2', 'localhost'])('a Chromium whose NSS db lacks our CA refuses https://%s (ERR_CERT_AUTHORITY_INVALID)', async (host) => {
    const url = upstreamUrl(host, '/refused');
    const context = await distrusting.newContext();
    try {
      const page = await context.newPage();
      await expect(page.goto(url)).rejects.toThrow(/net::ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await context.close();
    }
    // Refused at the handshake with the proxy: nothing reached the upstream, no exchange was recorded.
    expect(upstreams.get(host)!.received.some((r) => r.url === '/refused')).toBe(false);
    expect(captured.some((c) => c.request.url === url)).toBe(false);
    // What the user sees on the proxy side: the client aborted the handshake for this CONNECT target.
    const target = `${host}:${upstreams.get(host)!.port}`;
    const report = await eventually(`a client TLS error for ${target}`, () => clientTlsErrors.find((e) => e.startsWith(`${target} `)));
    expect(report).toMatch(/CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE/);
  });
});

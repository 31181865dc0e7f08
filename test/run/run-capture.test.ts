/**
 * `oauth-lens run -- <command>` captures what real programs send: Node (ESM and CommonJS; global
 * fetch, https.request, openid-client), Python requests and curl, with TLS verified against the
 * lens CA and NO_PROXY honoured. The IdP is the shared oidc-provider over HTTPS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startIdp, pkcePair, type StartedIdp } from '../support/idp.js';
import { startSession, type Session } from '../../src/session.js';
import { writeStateFile } from '../../src/server/state-file.js';
import { createLogger } from '../../src/log.js';
import { Writable } from 'node:stream';
import { assertBuilt, cleanEnv, FIXTURES, resultOf, runCli } from './helpers.js';

let idp: StartedIdp;
let work: string;
let certsDir: string;
let idpCaFile: string;
let stateDir: string;
let session: Session;
let bypass: Server;
let bypassHits: string[] = [];

const silent = createLogger({ pretty: false, level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'oauth-lens-run-'));
  certsDir = path.join(work, 'certs');
  stateDir = path.join(work, 'state');
  idp = await startIdp();
  idpCaFile = path.join(work, 'idp-ca.pem');
  writeFileSync(idpCaFile, idp.caPem);
  // A lens the attach tests share (the CA is created here once and reused by every run below).
  session = await startSession({
    port: 0, uiPort: 0, certsDir, upstreamCaFiles: [idpCaFile], logger: silent, logExchanges: false,
  });
  writeStateFile({ uiUrl: session.admin!.url, token: session.admin!.token, proxyUrl: session.lens.proxyUrl, pid: process.pid }, stateDir);
  bypass = createServer((req, res) => {
    bypassHits.push(req.url ?? '');
    res.end('direct');
  });
  await new Promise<void>((resolve) => bypass.listen(0, '127.0.0.2', resolve));
});

afterAll(async () => {
  await session?.close();
  await idp?.close();
  await new Promise<void>((resolve) => (bypass ? bypass.close(() => resolve()) : resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

function idpEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    OAUTH_LENS_STATE_DIR: stateDir,
    IDP_ISSUER: idp.issuer,
    CLIENT_ID: idp.clients.confidential.clientId,
    CLIENT_SECRET: idp.clients.confidential.clientSecret!,
    MACHINE_ID: idp.clients.machine.clientId,
    MACHINE_SECRET: idp.clients.machine.clientSecret!,
    ...extra,
  });
}

const ownLens = () => ['run', '--port', '0', '--ui-port', '0', '--certs', certsDir, '--upstream-ca', idpCaFile];

describe('oauth-lens run', () => {
  it('captures global fetch, https.request and openid-client of an ES module program; NO_PROXY hosts go direct', async () => {
    const redirectUri = idp.clients.confidential.redirectUris[0]!;
    const { verifier, challenge } = pkcePair();
    const { code } = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge, state: 'run-esm' });
    const before = session.lens.store.size;
    bypassHits = [];
    const bypassUrl = `http://127.0.0.2:${(bypass.address() as { port: number }).port}`;

    const result = await runCli(['run', '--attach', '--certs', certsDir, '--', process.execPath, path.join(FIXTURES, 'node-client.mjs')],
      idpEnv({ CODE: code, VERIFIER: verifier, REDIRECT_URI: redirectUri, REUSE_CODE: '1', BYPASS_URL: bypassUrl, NO_PROXY: '127.0.0.2' }));

    expect(result.stderr).not.toMatch(/preload:/);
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout)).toEqual({
      fetchDiscovery: 200, httpsToken: 200, httpsTokenAgain: 400, openidClient: 'bearer', bypassFetch: 200, bypassHttp: 200,
    });
    // The NO_PROXY host was reached directly by both fetch and http.get …
    expect(bypassHits.sort()).toEqual(['/fetch', '/http']);
    await waitFor(() => session.lens.store.size >= before + 5);
    const captured = session.lens.store.list().slice(before);
    // … and never went through the proxy.
    expect(captured.some((e) => e.request.url.includes('127.0.0.2'))).toBe(false);
    const seen = captured.map((e) => `${e.oauth.kind} ${e.request.method} ${new URL(e.request.url).pathname} ${e.response?.status}`);
    expect(seen).toEqual([
      'discovery GET /.well-known/openid-configuration 200', // global fetch
      'token POST /token 200', // https.request
      'token POST /token 400', // https.request, same code again
      'discovery GET /.well-known/openid-configuration 200', // openid-client (fetch)
      'token POST /token 200', // openid-client client_credentials
    ]);
    const reused = captured[2]!;
    expect(reused.oauth.findings.map((f) => f.code)).toContain('code.reused');
    // Redaction boundary: no secret of the run reached the store.
    const stored = JSON.stringify(captured);
    for (const secret of [code, verifier, idp.clients.confidential.clientSecret!, idp.clients.machine.clientSecret!]) {
      expect(stored).not.toContain(secret);
    }
    // run --attach printed the summary it read from the admin API.
    expect(result.stderr).toMatch(/5 exchanges captured \(5 OAuth/);
    expect(result.stderr).toContain('code.reused');
  });

  it('captures plain-HTTP requests of http.get and fetch too (tunnelled through the proxy)', async () => {
    const plain = createServer((req, res) => res.end(`plain ${req.url}`));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
    const before = session.lens.store.size;
    try {
      const script = `const http = require('http');
        http.get('${base}/http-get', (r) => { r.resume(); r.on('end', async () => {
          const f = await fetch('${base}/fetch');
          console.log('RESULT ' + JSON.stringify({ httpGet: r.statusCode, fetch: f.status }));
        }); });`;
      const result = await runCli(['run', '--attach', '--certs', certsDir, '--no-summary', '--', process.execPath, '-e', script], idpEnv());
      expect(resultOf(result.stdout)).toEqual({ httpGet: 200, fetch: 200 });
      await waitFor(() => session.lens.store.size >= before + 2);
      const urls = session.lens.store.list().slice(before).map((e) => e.request.url);
      expect(urls).toEqual([`${base}/http-get`, `${base}/fetch`]);
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it('captures a CommonJS program with its own lens and prints a summary of flows and findings', async () => {
    const result = await runCli([...ownLens(), '--', process.execPath, path.join(FIXTURES, 'node-client.cjs')], idpEnv());
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout)).toEqual({ fetchDiscovery: 200, httpsToken: 200, openidClient: 'bearer' });
    expect(result.stderr).toMatch(/oauth-lens: viewer http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    expect(result.stderr).toMatch(/4 exchanges captured \(4 OAuth/);
    // Lens logs and summary go to stderr: the program's stdout is its own.
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('keeps the CA the user already trusts for hosts reached directly (NO_PROXY) while trusting the lens CA', async () => {
    const port = new URL(idp.issuer).port;
    const script = `(async () => {
      const direct = await fetch('https://localhost:${port}/.well-known/openid-configuration');
      const proxied = await fetch('https://127.0.0.1:${port}/.well-known/openid-configuration');
      console.log('RESULT ' + JSON.stringify({ direct: direct.status, proxied: proxied.status }));
    })().catch((e) => { console.log('FAILED ' + (e.cause?.code ?? e.message)); process.exit(1); });`;
    const result = await runCli([...ownLens(), '--', process.execPath, '-e', script],
      idpEnv({ NO_PROXY: 'localhost', NODE_EXTRA_CA_CERTS: idpCaFile }));
    expect(result.stdout).not.toContain('FAILED');
    expect(resultOf(result.stdout)).toEqual({ direct: 200, proxied: 200 });
    expect(result.stderr).toContain(`added the oauth-lens CA: NODE_EXTRA_CA_CERTS (${idpCaFile})`);
    expect(result.stderr).toMatch(/1 exchange captured \(1 OAuth/); // only the proxied one
  });

  it('captures `npm start` of an unmodified Node 20 backend (npm, sh, then node: the preload follows)', async () => {
    const result = await runCli([...ownLens(), '--quiet', '--', 'npm', 'start', '--silent'],
      idpEnv({ NPM_CONFIG_UPDATE_NOTIFIER: 'false', NPM_CONFIG_FUND: 'false' }), path.join(FIXTURES, 'npm-app'));
    expect(result.code).toBe(0);
    expect(resultOf(result.stdout)).toEqual({ token: 200 });
    expect(result.stderr).toMatch(/1 exchange captured \(1 OAuth/);
  });

  it('captures Python requests with TLS verified against the combined CA bundle', async () => {
    const result = await runCli([...ownLens(), '--quiet', '--', 'python3', path.join(FIXTURES, 'requests-client.py')], idpEnv());
    expect(result.stderr).not.toMatch(/SSLError|CERTIFICATE_VERIFY_FAILED/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('RESULT 200 Bearer');
    expect(result.stderr).toMatch(/2 exchanges captured \(2 OAuth/);
  });

  it('captures curl with TLS verified (no -k) and shows the failure finding of a wrong secret', async () => {
    const result = await runCli([...ownLens(), '--quiet', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
      '-u', `${idp.clients.machine.clientId}:wrong-secret`, '-d', 'grant_type=client_credentials', idp.endpoints.token], idpEnv());
    expect(result.stderr).not.toMatch(/SSL certificate problem/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('401');
    expect(result.stderr).toMatch(/1 exchange captured \(1 OAuth/);
    expect(result.stderr).toContain('client.authentication_failed');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

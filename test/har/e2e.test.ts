/**
 * "Done when": a failing flow captured by the real proxy is exported (`oauth-lens export`),
 * re-analysed (`oauth-lens analyze`) and replayed (`oauth-lens curl` + real curl), each step through
 * the built CLI against a running instance (real proxy, engine, store and admin server) and the real IdP.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import validator from 'har-validator';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLens, type Lens } from '../../src/app.js';
import { OAuthEngine } from '../../src/oauth/engine.js';
import { startAdminServer, writeStateFile, type AdminServer } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/index.js';
import { pkcePair, startIdp, type StartedIdp } from '../support/idp.js';
import { leakedIn } from './leak.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'lens-har-e2e-'));
let idp: StartedIdp;
let lens: Lens;
let admin: AdminServer;
let store: ExchangeStore;
const secrets: string[] = [];
let failedResponse = '';

function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: work, OAUTH_LENS_STATE_DIR: join(work, 'state'), ...env }, maxBuffer: 16 << 20 });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this suite');
  idp = await startIdp();
  const idpCa = join(work, 'idp-ca.pem');
  writeFileSync(idpCa, idp.caPem);
  store = new ExchangeStore();
  const engine = new OAuthEngine({ fingerprintKey: randomBytes(32) });
  lens = await startLens({
    port: 0, certsDir: join(work, 'certs'), upstreamCaFiles: [idpCa], store, logExchanges: false,
    analyzer: (captured) => {
      const { exchange, updated } = engine.ingest(captured, store.nextSeq());
      return [exchange, ...updated];
    },
  });
  admin = await startAdminServer({ store, port: 0 });

  // The failing flow, through the proxy: authorize, token with a trailing-slash redirect_uri, fixed, then the same code again.
  const lensCa = readFileSync(lens.caPath, 'utf8');
  const client = idp.clients.confidential;
  const { verifier, challenge } = pkcePair();
  const { code } = await idp.authorizeAndGetCode({ redirectUri: client.redirectUris[0]!, codeChallenge: challenge, state: 'e2e-state-1234567', proxy: { url: lens.proxyUrl, caPem: lensCa } });
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  const dispatcher = new ProxyAgent({ uri: lens.proxyUrl, requestTls: { ca: lensCa } });
  const token = async (redirectUri: string) => {
    const res = await request(idp.endpoints.token, {
      method: 'POST', dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}`, accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
    });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const failed = await token(`${client.redirectUris[0]}/`);
  expect(failed.status).toBe(400);
  failedResponse = failed.body;
  const ok = await token(client.redirectUris[0]!);
  expect(ok.status).toBe(200);
  // The app's callback handler runs twice (double-mounted effect): the same code once more.
  expect((await token(client.redirectUris[0]!)).status).toBe(400);
  const tokens = JSON.parse(ok.body) as Record<string, string>;
  await dispatcher.close();
  secrets.push(code, verifier, client.clientSecret!, basic, tokens.access_token!, tokens.id_token!, tokens.refresh_token!);
  // Analysis runs after the response; wait until the three token exchanges are in the store.
  for (let i = 0; i < 100 && store.list().filter((e) => e.oauth.kind === 'token').length < 3; i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  await admin?.close();
  await lens?.close();
  await idp?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('export → analyze → curl replay, through the CLI', () => {
  it('exports a redacted, valid HAR of the running instance with the findings attached', async () => {
    const file = join(work, 'capture.har');
    const { stderr } = await cli(['export', '--out', file, '--url', admin.url, '--token', admin.token]);
    expect(stderr).toMatch(/^wrote \d+ entries to /);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    const har = JSON.parse(text);
    await expect(validator.har(har)).resolves.toBeTruthy();
    const codes = har.log.entries.flatMap((e: { _oauthLens: { findings: Array<{ code: string }> } }) => e._oauthLens.findings.map((f) => f.code));
    expect(codes).toEqual(expect.arrayContaining(['redirect_uri.trailing_slash', 'code.reused']));
    expect(leakedIn(text, secrets)).toEqual([]);
    // Only the flow, by id; and without a token the instance refuses.
    const flowId = har.log.entries.find((e: { _oauthLens: { kind: string } }) => e._oauthLens.kind === 'token')._oauthLens.flowId as string;
    const flowFile = join(work, 'flow.har');
    await cli(['export', '--out', flowFile, '--flow', flowId, '--url', admin.url, '--token', admin.token]);
    const flowHar = JSON.parse(readFileSync(flowFile, 'utf8'));
    expect(flowHar.log.entries.length).toBeGreaterThan(0);
    expect(flowHar.log.entries.every((e: { _oauthLens: { flowId?: string } }) => e._oauthLens.flowId === flowId)).toBe(true);
    await expect(cli(['export', '--out', join(work, 'x.har'), '--url', admin.url, '--token', 'wrong'])).rejects.toMatchObject({ stderr: expect.stringMatching(/refused the admin token/) });
    // Two exports of the same store cannot be joined: no fingerprint in common.
    const fps = (t: string) => new Set([...t.matchAll(/fp=([0-9a-f]{12})/g)].map((m) => m[1]));
    const stdoutExport = (await cli(['export', '--out', '-', '--url', admin.url, '--token', admin.token])).stdout;
    expect(leakedIn(stdoutExport, secrets)).toEqual([]);
    const again = fps(stdoutExport);
    expect([...fps(text)].filter((fp) => again.has(fp))).toEqual([]);
  });

  it('re-analyses the exported file and finds the same failures', async () => {
    const file = join(work, 'capture.har');
    const out = join(work, 'capture.reanalysed.har');
    const { stdout } = await cli(['analyze', file, '--json', '--out', out]);
    const report = JSON.parse(stdout);
    expect(report.findings.map((f: { code: string }) => f.code)).toEqual(expect.arrayContaining(['redirect_uri.trailing_slash', 'code.reused']));
    expect(report.redactedCopy).toBe(out);
    expect(report.redactedInput).toBe(true);
    await expect(validator.har(JSON.parse(readFileSync(out, 'utf8')))).resolves.toBeTruthy();
    expect(leakedIn(stdout + readFileSync(out, 'utf8'), secrets)).toEqual([]);
    const text = await cli(['analyze', file, '--out', '-']);
    expect(text.stdout).toContain('redirect_uri.trailing_slash');
    expect(text.stdout).toContain('code.reused');
  });

  it('prints a curl command for the failing token request that reproduces its response', async () => {
    const failing = store.list().find((e) => e.oauth.findings.some((f) => f.code === 'redirect_uri.trailing_slash'))!;
    expect(failing).toBeDefined();
    const { stdout: command } = await cli(['curl', failing.id, '--url', admin.url, '--token', admin.token]);
    expect(leakedIn(command, secrets)).toEqual([]);
    expect(command).toContain('"$AUTH_CODE"');
    expect(command).toContain('"$CODE_VERIFIER"');
    expect(command).toContain('"$CLIENT_SECRET"');
    const [code, verifier, secret] = secrets;
    const replay = spawn('bash', ['-s'], { env: { PATH: process.env.PATH ?? '', CURL_CA_BUNDLE: join(work, 'idp-ca.pem'), AUTH_CODE: code!, CODE_VERIFIER: verifier!, CLIENT_SECRET: secret! } });
    let out = '';
    replay.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    replay.stdin.end(`curl() { command curl --silent --show-error --max-time 15 --write-out '\\n%{http_code}' "$@"; }\n${command}`);
    await new Promise((r) => replay.on('close', r));
    expect(out).toBe(`${failedResponse}\n400`);
    await expect(cli(['curl', 'no-such-id', '--url', admin.url, '--token', admin.token])).rejects.toMatchObject({ stderr: expect.stringMatching(/HTTP 404/) });
    // Without flags, the instance is found through the state file `start` writes.
    await expect(cli(['curl', failing.id])).rejects.toMatchObject({ stderr: expect.stringMatching(/no running oauth-lens found/) });
    writeStateFile({ uiUrl: admin.url, token: admin.token, proxyUrl: lens.proxyUrl, pid: process.pid }, join(work, 'state'));
    expect((await cli(['curl', failing.id])).stdout).toBe(command);
  });
});

/**
 * The engine behind the real proxy with real traffic: oidc-provider over HTTPS (PKCE required),
 * undici through oauth-lens, the authorize leg through the proxy. Checks what a user sees in the
 * store: kinds, one flow per login, live findings, and no secret anywhere (store, logs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ProxyAgent, request } from 'undici';
import { startLens, type Lens } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { ExchangeStore } from '../../src/store/index.js';
import { OAuthEngine } from '../../src/oauth/engine.js';
import { loadFingerprintKey } from '../../src/oauth/fingerprint.js';
import { pkcePair, startIdp, type StartedIdp } from '../support/idp.js';

let idp: StartedIdp;
let lens: Lens;
let agent: ProxyAgent;
let engine: OAuthEngine;
const store = new ExchangeStore();
const logLines: string[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  idp = await startIdp();
  const dir = mkdtempSync(join(tmpdir(), 'oal-e2e-'));
  const upstreamCa = join(dir, 'idp-ca.pem');
  writeFileSync(upstreamCa, idp.caPem);
  engine = new OAuthEngine({
    fingerprintKey: loadFingerprintKey(join(dir, 'certs')),
    logger: { warn: (obj, msg) => void logLines.push(JSON.stringify(obj), msg) },
  });
  const destination = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
  lens = await startLens({
    port: 0, certsDir: join(dir, 'certs'), upstreamCaFiles: [upstreamCa], store,
    logger: createLogger({ destination, pretty: false, level: 'debug' }),
    analyzer: (captured) => {
      const { exchange, updated } = engine.ingest(captured, store.nextSeq());
      return [exchange, ...updated];
    },
  });
  agent = new ProxyAgent({ uri: lens.proxyUrl, requestTls: { ca: readFileSync(lens.caPath, 'utf8') } });
  secrets.push(idp.clients.confidential.clientSecret ?? '', idp.clients.machine.clientSecret ?? '');
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await lens?.close();
  await idp?.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function token(form: Record<string, string>, auth: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(idp.endpoints.token, {
    method: 'POST', dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth, accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch { /* HTML error page */ }
  for (const key of ['access_token', 'refresh_token', 'id_token']) if (typeof json[key] === 'string') secrets.push(json[key] as string);
  return { status: res.statusCode, json };
}

async function settled(count: number): Promise<void> {
  for (let i = 0; i < 100 && store.size < count; i++) await new Promise((r) => setTimeout(r, 50));
  expect(store.size).toBeGreaterThanOrEqual(count);
}

describe('engine behind the real proxy', () => {
  it('recognises, correlates, diagnoses and redacts a real code + PKCE login, a reused code and a 500', async () => {
    const conf = idp.clients.confidential;
    const auth = basic(conf.clientId, conf.clientSecret ?? '');
    const disc = await request(idp.endpoints.discovery, { dispatcher: agent });
    await disc.body.text();
    const { verifier, challenge } = pkcePair();
    const redirectUri = conf.redirectUris[0] ?? '';
    const { code } = await idp.authorizeAndGetCode({ redirectUri, codeChallenge: challenge, state: 'e2e-state-123456', scope: 'openid profile offline_access', proxy: { url: lens.proxyUrl, caPem: readFileSync(lens.caPath, 'utf8') } });
    secrets.push(code, verifier);
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, auth);
    expect(first.status).toBe(200);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token) }, auth);
    expect(refreshed.status).toBe(200);
    // Replaying the code after that (the AS also revokes the grant, RFC 6749 §4.1.2).
    const second = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, auth);
    expect(second.status).toBe(400);
    const machine = idp.clients.machine;
    idp.failNext({ status: 500 });
    const failed = await token({ grant_type: 'client_credentials', scope: 'api:read' }, basic(machine.clientId, machine.clientSecret ?? ''));
    expect(failed.status).toBe(500);

    await settled(8);
    const all = store.list();
    const kinds = all.map((e) => e.oauth.kind);
    expect(kinds).toContain('discovery');
    expect(kinds).toContain('authorize');
    expect(kinds).toContain('authorize_response');
    const tokens = all.filter((e) => e.oauth.kind === 'token');
    expect(tokens).toHaveLength(4);
    const authorize = all.find((e) => e.oauth.kind === 'authorize');
    // One flow: authorize → redirect → code exchange → refresh → code replay.
    expect(tokens.slice(0, 3).map((t) => t.oauth.flowId)).toEqual([authorize?.oauth.flowId, authorize?.oauth.flowId, authorize?.oauth.flowId]);
    expect(tokens[0]?.oauth.grantType).toBe('authorization_code');
    expect(tokens[0]?.oauth.clientId).toBe(conf.clientId);
    // The happy exchange has no error finding; the replay is diagnosed; the 500 is the provider's fault.
    expect(tokens[0]?.oauth.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(tokens[1]?.oauth.grantType).toBe('refresh_token');
    expect(tokens[2]?.oauth.findings.find((f) => f.primary)?.code).toBe('code.reused');
    expect(tokens[3]?.oauth.findings.find((f) => f.primary)?.code).toBe('provider.unavailable');
    expect(tokens[3]?.oauth.providerError).toMatchObject({ source: 'html' });

    if (process.env.E2E_DEBUG) for (const e of all) console.log(e.oauth.kind, e.request.method, e.request.url.slice(0, 90), e.response?.status, e.oauth.flowId, e.oauth.findings.map((f) => `${f.primary ? "*" : ""}${f.code}:${f.severity}`).join(" "));
    const text = JSON.stringify(all) + logLines.join('\n');
    for (const secret of secrets.filter((s) => s.length >= 8)) {
      for (const form of [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64url')]) {
        expect(text.includes(form), `secret leaked (${secret.length} chars)`).toBe(false);
      }
    }
    expect(engine.stats.ruleErrors).toBe(0);
  });
});

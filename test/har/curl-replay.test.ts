/**
 * Copy as curl, end to end: a real token request against the real local IdP (oidc-provider over
 * HTTPS), redacted by the real engine, turned into a curl command, and that command run by bash and
 * the real curl with the placeholders set — the response must be the one the original request got.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeToCurl } from '../../src/har/curl.js';
import type { Exchange, Redacted } from '../../src/model.js';
import { pkcePair, startIdp, type StartedIdp } from '../support/idp.js';
import type { CapturedExchange } from '../../src/capture/types.js';
import { OAuthEngine } from '../../src/oauth/engine.js';

let idp: StartedIdp;
let agent: Agent;
const engine = new OAuthEngine({ fingerprintKey: randomBytes(32) });
let replays = 0;
const work = mkdtempSync(join(tmpdir(), 'lens-replay-'));
const caFile = join(work, 'ca.pem');

beforeAll(async () => {
  idp = await startIdp();
  writeFileSync(caFile, idp.caPem);
  agent = new Agent({ connect: { ca: idp.caPem } });
});
afterAll(async () => {
  await agent?.close();
  await idp?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Sent {
  form: Array<[string, string]>;
  headers: Array<[string, string]>;
  status: number;
  body: string;
}

async function post(form: Array<[string, string]>, headers: Array<[string, string]>): Promise<Sent> {
  const body = new URLSearchParams(form).toString();
  const res = await request(idp.endpoints.token, { method: 'POST', dispatcher: agent, headers: Object.fromEntries(headers), body });
  return { form, headers, status: res.statusCode, body: await res.body.text() };
}

/** What the store holds for that request: the captured exchange through the real engine (redaction included). */
function redacted(sent: Sent): Redacted<Exchange> {
  const text = new URLSearchParams(sent.form).toString();
  const captured: CapturedExchange = {
    id: `replay-${++replays}`,
    timings: { start: Date.now() },
    request: {
      method: 'POST', url: idp.endpoints.token, httpVersion: '1.1',
      headers: [['Host', new URL(idp.endpoints.token).host], ...sent.headers, ['Content-Length', String(text.length)], ['Connection', 'keep-alive']],
      body: { bytes: Buffer.from(text), size: text.length, truncated: false },
    },
    response: {
      status: sent.status, statusText: '', httpVersion: '1.1', headers: [['Content-Type', 'application/json; charset=utf-8']],
      body: { bytes: Buffer.from(sent.body), size: sent.body.length, truncated: false },
    },
  };
  return engine.ingest(captured, replays).exchange;
}

/**
 * Runs the command with the real curl (status appended on the last line). Asynchronously: the IdP
 * lives in this process, so a synchronous spawn would stop it from answering.
 */
async function replay(command: string, env: Record<string, string>): Promise<{ status: number; body: string; stderr: string }> {
  const script = `curl() { command curl --silent --show-error --max-time 15 --write-out '\\n%{http_code}' "$@"; }\n${command}`;
  const child = spawn('bash', ['-s'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CURL_CA_BUNDLE: caFile, ...env } });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(script);
  await new Promise((resolve) => child.on('close', resolve));
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut), stderr };
}

describe('copy as curl against the real IdP', () => {
  it('replays a failing code exchange (trailing-slash redirect_uri) and gets the same response', async () => {
    const client = idp.clients.confidential;
    const { verifier, challenge } = pkcePair();
    const { code } = await idp.authorizeAndGetCode({ redirectUri: client.redirectUris[0]!, codeChallenge: challenge, state: 'replay-state' });
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const original = await post(
      [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', `${client.redirectUris[0]}/`], ['code_verifier', verifier]],
      [['Content-Type', 'application/x-www-form-urlencoded'], ['Accept', 'application/json'], ['Authorization', basic]],
    );
    expect(original.status).toBe(400);
    expect(original.body).toContain('invalid_grant');

    const command = exchangeToCurl(redacted(original));
    for (const secret of [code, verifier, client.clientSecret!, basic.slice(6)]) expect(command).not.toContain(secret);
    for (const name of ['AUTH_CODE', 'CODE_VERIFIER', 'CLIENT_SECRET']) expect(command).toContain(`export ${name}=`);
    expect(command).toContain(`-u '${client.clientId}:'"$CLIENT_SECRET"`);

    const again = await replay(command, { AUTH_CODE: code, CODE_VERIFIER: verifier, CLIENT_SECRET: client.clientSecret! });
    expect(again.stderr).toBe('');
    expect(again).toMatchObject({ status: original.status, body: original.body });

    // The placeholders matter: without the secret (empty Basic password) the server answers differently.
    const unset = await replay(command, { AUTH_CODE: code, CODE_VERIFIER: verifier });
    expect(unset.status).toBe(400);
    expect(unset.body).toContain('client_secret must be provided');
  });

  it('replays a successful client_credentials request and gets an equivalent token response', async () => {
    const client = idp.clients.machine;
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const original = await post([['grant_type', 'client_credentials'], ['scope', 'api:read']], [['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', basic]]);
    expect(original.status).toBe(200);
    const command = exchangeToCurl(redacted(original));
    expect(command).not.toContain(client.clientSecret!);
    const again = await replay(command, { CLIENT_SECRET: client.clientSecret! });
    expect(again.status).toBe(200);
    const [a, b] = [JSON.parse(original.body), JSON.parse(again.body)] as Array<Record<string, unknown>>;
    expect(Object.keys(b!).sort()).toEqual(Object.keys(a!).sort());
    expect(b).toMatchObject({ token_type: a!.token_type, scope: a!.scope, expires_in: a!.expires_in });
  });
});

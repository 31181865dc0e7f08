#!/usr/bin/env node
// Engine cost per exchange: ~1k realistic OAuth exchanges (authorize → redirect → callback → code
// exchange with PKCE, refreshes, client credentials, some failures) through OAuthEngine.ingest with
// every registered rule. Reports the median and p95 per token exchange (median over 5 measured passes after
// 2 warm-up passes). Needs `npm run build`.
// Target (issue 3): median ≤ 1 ms per token exchange.
import { randomBytes, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import { OAuthEngine } from '../dist/oauth/engine.js';
import { ALL_RULES } from '../dist/oauth/rules/index.js';

const IDP = 'https://idp.example.com';
const APP = 'https://app.example.com';
const CLIENT_ID = 'bench-client';
const SECRET = 'bench-client-secret-0123456789abcdef';
const b64url = (n) => randomBytes(n).toString('base64url');
const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${enc({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${enc(claims)}.${b64url(64)}`;
const form = (o) => new URLSearchParams(o).toString();
const body = (text, gzip = false) => {
  const plain = Buffer.from(text);
  if (!gzip) return { bytes: plain, size: plain.length, truncated: false };
  const z = gzipSync(plain);
  return { bytes: z, size: z.length, truncated: false, decoded: plain };
};

let id = 0;
let t = Date.UTC(2026, 0, 15, 9);
function ex(method, url, headers, reqText, status, resHeaders, resText, gzip = false) {
  t += 250;
  return {
    id: `b${++id}`,
    timings: { start: t, requestSent: t + 2, responseHeaders: t + 40, end: t + 45 },
    clientAddress: '127.0.0.1',
    request: { method, url, httpVersion: '1.1', headers: [['Host', new URL(url).host], ['User-Agent', 'bench/1'], ...headers], body: body(reqText) },
    response: { status, statusText: status < 400 ? 'OK' : 'Error', httpVersion: '1.1', headers: [...resHeaders, ...(gzip ? [['Content-Encoding', 'gzip']] : [])], body: body(resText, gzip) },
    tls: { sni: new URL(url).hostname, protocol: 'TLSv1.3' },
  };
}
const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`;
const tokenResponse = (rt) => JSON.stringify({
  access_token: b64url(32), token_type: 'Bearer', expires_in: 3600, scope: 'openid profile email',
  id_token: jwt({ iss: IDP, aud: CLIENT_ID, sub: 'user', exp: 2e9, iat: 1.7e9, nonce: 'n', email: 'a@b.c' }),
  ...(rt ? { refresh_token: rt } : {}),
});
const JSONH = [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']];

function loginFlow(i) {
  const verifier = b64url(32);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = b64url(12);
  const code = b64url(24);
  const rt = b64url(32);
  const redirect = i % 7 === 0 ? `${APP}/callback/` : `${APP}/callback`;
  const list = [
    ex('GET', `${IDP}/authorize?${form({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${APP}/callback`, scope: 'openid profile email', state, code_challenge: challenge, code_challenge_method: 'S256', nonce: 'n' })}`, [], '', 200, [['Content-Type', 'text/html']], '<html><head><title>Sign in</title></head><body>login</body></html>'),
    ex('POST', `${IDP}/login`, [['Content-Type', 'application/x-www-form-urlencoded']], form({ user: 'alice', password: 'pw-123456' }), 302, [['Location', `${APP}/callback?${form({ code, state, iss: IDP })}`]], ''),
    ex('GET', `${APP}/callback?${form({ code, state, iss: IDP })}`, [['Cookie', `sid=${b64url(16)}`]], '', 302, [['Location', '/']], ''),
  ];
  const tokenReq = form({ grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier });
  const failed = i % 7 === 0;
  list.push(ex('POST', `${IDP}/oauth/token`, [['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', basic]], tokenReq,
    failed ? 400 : 200, JSONH, failed ? JSON.stringify({ error: 'invalid_grant', error_description: 'redirect_uri mismatch' }) : tokenResponse(rt), i % 3 === 0));
  if (i % 5 === 1) list.push(ex('POST', `${IDP}/oauth/token`, [['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', basic]], tokenReq, 400, JSONH, JSON.stringify({ error: 'invalid_grant' })));
  if (!failed) list.push(ex('POST', `${IDP}/oauth/token`, [['Content-Type', 'application/x-www-form-urlencoded']], form({ grant_type: 'refresh_token', refresh_token: rt, client_id: CLIENT_ID, client_secret: SECRET }), 200, JSONH, tokenResponse(b64url(32))));
  return list;
}

function clientCredentials(i) {
  return ex('POST', `${IDP}/oauth/token`, [['Content-Type', 'application/x-www-form-urlencoded']], form({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: 'api.read' }),
    i % 11 === 0 ? 503 : 200, i % 11 === 0 ? [['Content-Type', 'text/html']] : JSONH, i % 11 === 0 ? '<html><title>Service Unavailable</title></html>' : JSON.stringify({ access_token: b64url(32), token_type: 'Bearer', expires_in: 3600 }));
}

const captured = [ex('GET', `${IDP}/.well-known/openid-configuration`, [], '', 200, JSONH, JSON.stringify({ issuer: IDP, authorization_endpoint: `${IDP}/authorize`, token_endpoint: `${IDP}/oauth/token`, jwks_uri: `${IDP}/jwks`, code_challenge_methods_supported: ['S256'] }))];
for (let i = 0; captured.length < 1000; i++) {
  captured.push(...loginFlow(i), clientCredentials(i));
  captured.push(ex('GET', `https://api.example.com/v1/items?page=${i}`, [['Authorization', `Bearer ${b64url(32)}`]], '', 200, JSONH, JSON.stringify({ items: [1, 2, 3] })));
}

function run(rules) {
  const engine = new OAuthEngine({ fingerprintKey: randomBytes(32), rules });
  const token = [];
  const tokenCpu = [];
  const all = [];
  captured.forEach((c, i) => {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const { exchange } = engine.ingest(c, i + 1);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpu);
    all.push(ms);
    if (exchange.oauth.kind === 'token') {
      token.push(ms);
      tokenCpu.push((used.user + used.system) / 1000);
    }
  });
  return { token, tokenCpu, all, stats: engine.stats };
}
const pct = (list, p) => {
  const s = [...list].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
};

// Two warm-up passes (JIT), then several measured passes: on 2 shared cores one pass's median swings by ±30 %
// with background load, so each figure is the median over passes of that pass's statistic.
run(ALL_RULES);
run(ALL_RULES);
const PASSES = 5;
const passes = (rules, n) => Array.from({ length: n }, () => {
  globalThis.gc?.();
  return run(rules);
});
const withRulesPasses = passes(ALL_RULES, PASSES);
const noRulesPasses = passes([], 3);
const overPasses = (list, pick) => pct(list.map(pick), 0.5);
const withRules = withRulesPasses[0];
const fmt = (x) => x.toFixed(3);
// Large bodies at the proxy's 1 MiB capture cap: a ~1 MB HTML page, and a ~1 MB JSON holding 10k session tokens.
function bigBodyMs(text, contentType) {
  const engine = new OAuthEngine({ fingerprintKey: randomBytes(32), rules: ALL_RULES });
  const c = ex('GET', `${APP}/big`, [['Cookie', `sid=${b64url(16)}`]], '', 200, [['Content-Type', contentType]], text);
  const start = process.hrtime.bigint();
  engine.ingest(c, 1);
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const bigHtml = `<html><head><title>x</title></head><body>${'<div class="row"><a href="/item/123">Lorem ipsum dolor sit amet</a></div>\n'.repeat(13000)}</body></html>`;
const bigJson = JSON.stringify({ items: Array.from({ length: 10000 }, (_, i) => ({ id: i, session_token: `${b64url(18)}${i}` })) });
const result = {
  bench: 'engine',
  exchanges: captured.length,
  tokenExchanges: withRules.token.length,
  rules: ALL_RULES.length,
  passes: PASSES,
  tokenMedianMs: Number(fmt(overPasses(withRulesPasses, (r) => pct(r.token, 0.5)))),
  tokenP95Ms: Number(fmt(overPasses(withRulesPasses, (r) => pct(r.token, 0.95)))),
  allMedianMs: Number(fmt(overPasses(withRulesPasses, (r) => pct(r.all, 0.5)))),
  tokenMedianNoRulesMs: Number(fmt(overPasses(noRulesPasses, (r) => pct(r.token, 0.5)))),
  // CPU time of the ingesting thread's process: robust when the 2 shared cores are busy with other work.
  tokenCpuMedianMs: Number(fmt(overPasses(withRulesPasses, (r) => pct(r.tokenCpu, 0.5)))),
  // The quietest pass (least disturbed by other processes), for comparison with a quiet machine.
  tokenMedianBestPassMs: Number(fmt(Math.min(...withRulesPasses.map((r) => pct(r.token, 0.5))))),
  loadAverage1m: Number(os.loadavg()[0].toFixed(2)),
  ruleErrors: withRules.stats.ruleErrors,
  html1MbMs: Number(bigBodyMs(bigHtml, 'text/html').toFixed(1)),
  json10kTokensMs: Number(bigBodyMs(bigJson, 'application/json').toFixed(1)),
  targetMs: 1,
};
console.log(`engine: ${result.exchanges} exchanges (${result.tokenExchanges} token), ${result.rules} rules: token median ${result.tokenMedianMs} ms, p95 ${result.tokenP95Ms} ms; all-kinds median ${result.allMedianMs} ms; token median without rules ${result.tokenMedianNoRulesMs} ms; token CPU-time median ${result.tokenCpuMedianMs} ms; best pass ${result.tokenMedianBestPassMs} ms; 1 MB HTML ${result.html1MbMs} ms; JSON with 10k tokens ${result.json10kTokensMs} ms; load ${result.loadAverage1m} (target ≤ ${result.targetMs} ms)`);
console.log(JSON.stringify(result));
if (result.tokenMedianMs > result.targetMs) process.exitCode = 1;

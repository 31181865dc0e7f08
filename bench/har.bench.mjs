#!/usr/bin/env node
// HAR export and copy-as-curl cost: exchangesToHar over 1k and 10k redacted token exchanges (the
// store's default limit is 10k), JSON size, exchangeToCurl per exchange, and analyzeHar over a
// foreign HAR (dominated by the engine). Medians of 5 runs. Needs `npm run build`.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { exchangesToHar } from '../dist/har/har.js';
import { exchangeToCurl } from '../dist/har/curl.js';
import { analyzeHar } from '../dist/har/analyze.js';

const marker = (name, len, i) => `[REDACTED ${name} len=${len} fp=${(i * 7919).toString(16).padStart(12, '0').slice(-12)}]`;
function tokenExchange(i) {
  const start = Date.UTC(2026, 0, 15, 9) + i * 250;
  const form = [['grant_type', 'authorization_code'], ['code', marker('code', 43, i)], ['redirect_uri', 'https://app.example.com/callback'], ['code_verifier', marker('code_verifier', 43, i + 1)]];
  const json = { access_token: marker('access_token', 43, i + 2), token_type: 'Bearer', expires_in: 3600, refresh_token: marker('refresh_token', 43, i + 3), id_token: marker('id_token', 600, i + 4) };
  return {
    id: `ex-${i}`, seq: i, timings: { start, upstreamConnected: start + 3, requestSent: start + 4, responseHeaders: start + 40, end: start + 41 },
    request: {
      method: 'POST', url: 'https://idp.example.com/oauth/token', httpVersion: '1.1',
      headers: [['Host', 'idp.example.com'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', `Basic [client_id=bench]:${marker('client_secret', 36, 1)}`], ['Accept', 'application/json'], ['User-Agent', 'node']],
      body: { size: 200, truncated: false, text: form.map(([n, v]) => `${n}=${v}`).join('&'), form },
    },
    response: { status: 200, statusText: 'OK', httpVersion: '1.1', headers: [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']], body: { size: 900, truncated: false, text: JSON.stringify(json), json } },
    oauth: {
      kind: 'token', grantType: 'authorization_code', flowId: `flow-${i >> 2}`, clientId: 'bench',
      findings: i % 10 ? [] : [{ code: 'code.reused', severity: 'error', title: 't', detail: `code ${marker('code', 43, i)} reused`, evidence: { codeFp: `${(i * 7919).toString(16).padStart(32, '0')}` }, confidence: 'high', exchangeIds: [`ex-${i - 1}`, `ex-${i}`], primary: true }],
    },
  };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn, runs = 5) {
  const ms = [];
  let out;
  for (let r = 0; r < runs; r++) {
    globalThis.gc?.();
    const t = performance.now();
    out = fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), out };
}

console.log(`node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const n of [1_000, 10_000]) {
  const xs = Array.from({ length: n }, (_, i) => tokenExchange(i));
  const build = time(() => exchangesToHar(xs));
  const json = time(() => JSON.stringify(build.out));
  console.log(`exchangesToHar ${n}: ${build.ms.toFixed(0)} ms build + ${json.ms.toFixed(0)} ms stringify, ${(json.out.length / 1e6).toFixed(1)} MB`);
}
const xs = Array.from({ length: 1_000 }, (_, i) => tokenExchange(i));
const curl = time(() => xs.map(exchangeToCurl));
console.log(`exchangeToCurl: ${(curl.ms / xs.length * 1000).toFixed(0)} µs per exchange`);
// 25 copies of a real 8-entry flow, an hour apart, each with its own secrets (same length), so no
// code is shared between copies. They still share client, redirect_uri and state, so the engine
// correlates them into one flow: a heavy case for correlation, not a typical capture.
const fixtureText = readFileSync(new URL('../test/fixtures/har/mitmproxy-backend.har', import.meta.url), 'utf8');
const fixtureSecrets = JSON.parse(readFileSync(new URL('../test/fixtures/har/secrets.json', import.meta.url), 'utf8'))['mitmproxy-backend.har'];
const copies = Array.from({ length: 25 }, (_, k) => {
  let text = fixtureText;
  for (const secret of fixtureSecrets) text = text.split(secret).join(`${secret.slice(0, -3)}${String(k).padStart(3, '0')}`);
  return JSON.parse(text).log.entries.map((e) => ({ ...e, startedDateTime: new Date(Date.parse(e.startedDateTime) + k * 3_600_000).toISOString() }));
});
const big = { log: { ...JSON.parse(fixtureText).log, entries: copies.flat() } };
const analysis = time(() => analyzeHar(big), 3);
console.log(`analyzeHar ${big.log.entries.length} entries: ${analysis.ms.toFixed(0)} ms (${(analysis.ms / big.log.entries.length).toFixed(1)} ms per entry), ${analysis.out.findings.length} findings`);

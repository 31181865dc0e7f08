// Proxy benchmark: direct vs through oauth-lens on loopback, same run, same client (undici). Two scenarios
// also run through two references: a raw TLS pipe (bench/tls-pipe-child.mjs), the floor of any intercepting
// proxy here, and a bare node:https relay (bench/bare-relay-child.mjs), what parsing and re-sending each
// request with node:http costs.
// Scenarios: keep-alive POST /token at c=1 and c=32, a new CONNECT per request, the first request to
// 50 new hosts (127.0.0.2…51, distinct certs) vs a repeat, GET 1 MiB throughput, and proxy peak RSS.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, ProxyAgent, request } from 'undici';

const here = path.dirname(fileURLToPath(import.meta.url));
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const NEW_HOSTS = 50;
const ROUNDS = 5;
const MIB_LENGTH = 1024 * 1024;
const TOKEN_BODY = 'grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oal-bench-'));
const upstreamChild = fork(path.join(here, 'upstream-child.mjs'), [path.join(tmp, 'upstream-ca'), String(NEW_HOSTS)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const upstreams = await new Promise((resolve) => upstreamChild.once('message', resolve));
const upstreamCa = { certPem: upstreams.caPem };
const upstreamCaFile = path.join(tmp, 'upstream-ca.pem');
fs.writeFileSync(upstreamCaFile, upstreamCa.certPem);
const main = upstreams.hosts[0];
const extra = upstreams.hosts.slice(1);

// The proxy in a child process.
// The proxy runs with the flags `npm start` gives it (package.json), unless BENCH_PROXY_NODE_FLAGS says otherwise
// (BENCH_PROXY_NODE_FLAGS='' measures plain node).
const START_FLAGS = '--max-semi-space-size=2';
const proxyFlags = (process.env.BENCH_PROXY_NODE_FLAGS ?? START_FLAGS).split(' ').filter(Boolean);
const child = fork(path.join(here, 'proxy-child.mjs'), [path.join(tmp, 'lens-certs'), upstreamCaFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: proxyFlags });
const ready = await new Promise((resolve) => child.once('message', resolve));
const lensCa = fs.readFileSync(ready.caPath, 'utf8');
const ask = (msg) => new Promise((resolve) => { child.once('message', resolve); child.send(msg); });
// The reference floor: a bare node:https relay (bench/bare-relay-child.mjs), same flags, same client.
const floorChild = fork(path.join(here, 'bare-relay-child.mjs'), [path.join(tmp, 'floor-certs'), upstreamCaFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: proxyFlags });
const floorReady = await new Promise((resolve) => floorChild.once('message', resolve));
const floorCa = fs.readFileSync(floorReady.caPath, 'utf8');
const pipeChild = fork(path.join(here, 'tls-pipe-child.mjs'), [path.join(tmp, 'pipe-certs'), upstreamCaFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: proxyFlags });
const pipeReady = await new Promise((resolve) => pipeChild.once('message', resolve));
const pipeCa = fs.readFileSync(pipeReady.caPath, 'utf8');

const directAgent = () => new Agent({ connect: { ca: upstreamCa.certPem }, keepAliveTimeout: 60_000 });
const proxiedAgent = () => new ProxyAgent({ uri: ready.url, requestTls: { ca: lensCa }, keepAliveTimeout: 60_000 });
const floorAgent = () => new ProxyAgent({ uri: floorReady.url, requestTls: { ca: floorCa }, keepAliveTimeout: 60_000 });
const pipeAgent = () => new ProxyAgent({ uri: pipeReady.url, requestTls: { ca: pipeCa }, keepAliveTimeout: 60_000 });

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function post(url, dispatcher) {
  const res = await request(url, { method: 'POST', body: TOKEN_BODY, headers: { 'content-type': 'application/x-www-form-urlencoded' }, dispatcher });
  await res.body.arrayBuffer();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
}

/** Keep-alive loop: `concurrency` workers for DURATION_MS; returns req/s and latency percentiles. */
async function keepAlive(dispatcher, concurrency, acc = { latencies: [], elapsed: 0 }, duration = DURATION_MS) {
  await Promise.all(Array.from({ length: concurrency }, () => post(`${main.url}/token`, dispatcher))); // warm-up
  const end = performance.now() + duration;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) acc.latencies.push(await timed(() => post(`${main.url}/token`, dispatcher)));
  }));
  acc.elapsed += performance.now() - started;
  return acc;
}

function summarize(acc) {
  const sorted = [...acc.latencies].sort((a, b) => a - b);
  return { rps: sorted.length / (acc.elapsed / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Alternate the kinds' rounds (direct, proxied, and the floor relay where asked) so load from other processes hits all alike. */
async function interleaved(runRound, kinds = ['direct', 'proxied']) {
  const accs = Object.fromEntries(kinds.map((kind) => [kind, { latencies: [], elapsed: 0, bytes: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of kinds) await runRound(kind, accs[kind]);
  }
  return accs;
}

/** Every request on a brand-new connection (and, proxied, a new CONNECT + two TLS handshakes). */
async function newConnection(makeAgent, n, acc) {
  for (let i = 0; i < n; i++) {
    const agent = makeAgent();
    acc.latencies.push(await timed(() => post(`${main.url}/token`, agent)));
    await agent.close();
  }
  return acc;
}

/** First request to each of 50 new hosts (new certificate in the proxy), then a repeat on a new connection. */
async function newHosts() {
  const out = { direct: { first: [], repeat: [] }, proxied: { first: [], repeat: [] } };
  for (const host of extra) {
    for (const [kind, makeAgent] of [['direct', directAgent], ['proxied', proxiedAgent]]) {
      for (const phase of ['first', 'repeat']) {
        const agent = makeAgent();
        out[kind][phase].push(await timed(() => post(`${host.url}/token`, agent)));
        await agent.close();
      }
    }
  }
  const stat = (list) => { const s = [...list].sort((a, b) => a - b); return { p50: percentile(s, 50), p99: percentile(s, 99) }; };
  return {
    direct: { first: stat(out.direct.first).p50, firstP99: stat(out.direct.first).p99, repeat: stat(out.direct.repeat).p50 },
    proxied: { first: stat(out.proxied.first).p50, firstP99: stat(out.proxied.first).p99, repeat: stat(out.proxied.repeat).p50 },
  };
}

async function throughput(dispatcher, acc, duration) {
  const get = async () => {
    const res = await request(`${main.url}/1mib`, { dispatcher });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (body.length !== MIB_LENGTH) throw new Error('short body');
  };
  await get();
  const end = performance.now() + duration;
  const started = performance.now();
  while (performance.now() < end) {
    await get();
    acc.bytes += MIB_LENGTH;
  }
  acc.elapsed += performance.now() - started;
  return acc;
}

const results = [];
const rssAfter = {};
const row = (name, direct, proxied, unit, ratio, target, pass) => results.push({ name, direct, proxied, unit, ratio, target, pass });
const fmt = (n, d) => (typeof n === 'number' ? n.toFixed(d ?? (Math.abs(n) < 10 ? 2 : 1)) : String(n));

for (const concurrency of [1, 32]) {
  const agents = { direct: directAgent(), proxied: proxiedAgent(), floor: floorAgent(), pipe: pipeAgent() };
  const kinds = concurrency === 1 ? ['direct', 'proxied', 'pipe', 'floor'] : ['direct', 'proxied'];
  const runs = await interleaved((kind, acc) => keepAlive(agents[kind], concurrency, acc, DURATION_MS / ROUNDS), kinds);
  const direct = summarize(runs.direct);
  const proxied = summarize(runs.proxied);
  const label = `keep-alive POST /token c=${concurrency}`;
  const ratio = proxied.p50 / direct.p50;
  row(`${label}: p50 latency`, direct.p50, proxied.p50, 'ms', ratio, concurrency === 1 ? '≤ 2.5×' : '', concurrency === 1 ? ratio <= 2.5 : null);
  if (runs.pipe) {
    const pipe = summarize(runs.pipe);
    row(`${label}: p50, raw TLS pipe (floor)`, direct.p50, pipe.p50, 'ms', pipe.p50 / direct.p50, '', null);
  }
  if (runs.floor) {
    const floor = summarize(runs.floor);
    row(`${label}: p50, bare node:https relay`, direct.p50, floor.p50, 'ms', floor.p50 / direct.p50, '', null);
  }
  row(`${label}: p99 latency`, direct.p99, proxied.p99, 'ms', proxied.p99 / direct.p99, '', null);
  row(`${label}: throughput`, direct.rps, proxied.rps, 'req/s', proxied.rps / direct.rps, '', null);
  await Promise.all(Object.values(agents).map((a) => a.close()));
  rssAfter[label] = (await ask('stats')).peakRss;
}
{
  const runs = await interleaved((kind, acc) => newConnection(kind === 'direct' ? directAgent : proxiedAgent, 20, acc));
  const direct = summarize(runs.direct);
  const proxied = summarize(runs.proxied);
  row('new connection (CONNECT) per request: p50', direct.p50, proxied.p50, 'ms', proxied.p50 / direct.p50, '', null);
  row('new connection (CONNECT) per request: p99', direct.p99, proxied.p99, 'ms', proxied.p99 / direct.p99, '', null);
}
{
  const { direct, proxied } = await newHosts();
  const ratio = proxied.first / direct.first;
  row(`first request to ${NEW_HOSTS} new hosts: p50`, direct.first, proxied.first, 'ms', ratio, '≤ 2×', ratio <= 2);
  row(`first request to ${NEW_HOSTS} new hosts: p99`, direct.firstP99, proxied.firstP99, 'ms', proxied.firstP99 / direct.firstP99, '', null);
  row('repeat request (new connection): p50', direct.repeat, proxied.repeat, 'ms', proxied.repeat / direct.repeat, '', null);
  rssAfter['new connections + new hosts'] = (await ask('stats')).peakRss;
}
{
  const agents = { direct: directAgent(), proxied: proxiedAgent(), floor: floorAgent(), pipe: pipeAgent() };
  const runs = await interleaved((kind, acc) => throughput(agents[kind], acc, DURATION_MS / ROUNDS), ['direct', 'proxied', 'pipe', 'floor']);
  const mibps = (acc) => acc.bytes / 1024 / 1024 / (acc.elapsed / 1000);
  const direct = mibps(runs.direct);
  const proxied = mibps(runs.proxied);
  const ratio = proxied / direct;
  row('GET 1 MiB keep-alive throughput', direct, proxied, 'MiB/s', ratio, '≥ 0.5×', ratio >= 0.5);
  row('GET 1 MiB throughput, raw TLS pipe (floor)', direct, mibps(runs.pipe), 'MiB/s', mibps(runs.pipe) / direct, '', null);
  row('GET 1 MiB throughput, bare node:https relay', direct, mibps(runs.floor), 'MiB/s', mibps(runs.floor) / direct, '', null);
  await Promise.all(Object.values(agents).map((a) => a.close()));
}
rssAfter['1 MiB'] = (await ask('stats')).peakRss;
const stats = await ask('stats');
const rssMiB = stats.peakRss / 1024 / 1024;
row('proxy RSS after start (child process)', '', ready.baselineRss / 1024 / 1024, 'MiB', '', '', null);
row('proxy peak RSS (child process)', '', rssMiB, 'MiB', '', '≤ 120 MiB', rssMiB <= 120);

console.log(`proxy peak RSS after each phase (MiB): ${Object.entries(rssAfter).map(([k, v]) => `${k}: ${(v / 1048576).toFixed(0)}`).join('; ')}`);
console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other processes share the CPUs)`);
console.log(`proxy node flags: ${proxyFlags.join(' ') || '(none)'}`);
console.log(`node ${process.version}, ${os.cpus().length} CPU(s) ${os.cpus()[0]?.model ?? ''}; ${DURATION_MS} ms per timed scenario; leaves signed: ${stats.leaves}; exchanges captured: ${stats.captured}`);
const header = ['scenario', 'direct', 'oauth-lens', 'unit', 'ratio', 'target', ''];
const lines = results.map((r) => [r.name, fmt(r.direct), fmt(r.proxied), r.unit, r.ratio === '' ? '' : `${fmt(r.ratio, 2)}×`, r.target, r.pass === null ? '' : r.pass ? 'ok' : 'MISS']);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
const show = (cols) => `| ${cols.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(show(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const l of lines) console.log(show(l));

// 'stop' gets no reply: the children exit, which is what we wait for.
const exited = (proc) => new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve)));
child.send('stop');
await Promise.race([exited(child), new Promise((r) => setTimeout(r, 3000))]);
child.kill();
floorChild.kill();
pipeChild.kill();
upstreamChild.send('stop');
await Promise.race([exited(upstreamChild), new Promise((r) => setTimeout(r, 3000))]);
upstreamChild.kill();
fs.rmSync(tmp, { recursive: true, force: true });

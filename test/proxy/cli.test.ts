/**
 * The CLI as a user runs it (needs dist/: `npm test` builds first): `start` prints its real port and exports,
 * logs one JSON line per exchange without query or body, listens on 127.0.0.1 only, keeps the library's
 * console noise out of stdout, stops on SIGTERM/SIGINT; a busy port exits 1 with a clear message; `env`, `ca`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './support/lens.js';
import { createTestCa, startHttpsUpstream, tmpDir, type Upstream } from './support/upstream.js';

const MAIN = path.resolve('dist/cli/main.js');

interface Started {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function startCli(args: string[]): Promise<Started> {
  // Never a fixed viewer port, and never the user's own state file.
  const withUi = args.includes('--ui-port') ? args : [...args, '--ui-port', '0'];
  const env = { ...process.env, OAUTH_LENS_STATE_DIR: tmpDir('cli-state') };
  const child = spawn(process.execPath, [MAIN, 'start', ...withUi], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d.toString(); });
  child.stderr!.on('data', (d) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`start printed no URL: ${out} ${err}`)), 15_000);
    const check = (): void => {
      const m = /proxy listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`start exited ${code}: ${err}`)));
  });
  return { child, port, stdout: () => out, stderr: () => err, exited };
}

/** Listening TCP sockets owned by `pid`, as "address:port" (from /proc, no extra tools). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      const [hex, portHex] = cols[1]!.split(':') as [string, string];
      const address = hex.length === 8
        ? Buffer.from(hex, 'hex').reverse().join('.')
        : hex; // IPv6 kept raw: any IPv6 listener is a failure here anyway
      found.push(`${address}:${parseInt(portHex, 16)}`);
    }
  }
  return found;
}

let certs: string;
let upstream: Upstream;
let upstreamCa: string;

beforeAll(async () => {
  certs = tmpDir('cli-certs');
  const ca = await createTestCa();
  upstreamCa = path.join(tmpDir('cli-upca'), 'ca.pem');
  fs.writeFileSync(upstreamCa, ca.certPem);
  upstream = await startHttpsUpstream({ ca });
});

afterAll(async () => {
  await upstream?.close();
});

describe('oauth-lens start', () => {
  it('serves, logs one clean line per exchange, binds 127.0.0.1 only, stops on SIGTERM', async () => {
    const s = await startCli(['--port', '0', '--ui-port', '0', '--certs', certs, '--upstream-ca', upstreamCa]);
    try {
      expect(s.stdout()).toContain(`CA certificate: ${path.join(certs, 'ca.pem')}`);
      expect(s.stdout()).toContain(`export HTTPS_PROXY='http://127.0.0.1:${s.port}'`);
      expect(s.stdout()).toContain(`export CURL_CA_BUNDLE='${path.join(certs, 'ca-bundle.pem')}'`);
      expect(fs.statSync(path.join(certs, 'ca-key.pem')).mode & 0o777).toBe(0o600);

      const secretQuery = 'code=SECRET_CODE_123&state=xyz';
      const { stdout: status } = await run('curl', ['-sS', '--max-time', '10', '-x', `http://127.0.0.1:${s.port}`, '--cacert', path.join(certs, 'ca.pem'),
        '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer SECRET_BEARER', '-d', 'client_secret=SECRET_FORM',
        `${upstream.url}/token?${secretQuery}`], { encoding: 'utf8' });
      expect(status).toBe('200');
      // Two failing ones too, so error paths would have a chance to print library noise.
      await run('curl', ['-sS', '--max-time', '5', '-x', `http://127.0.0.1:${s.port}`, `http://127.0.0.1:1/refused`]).catch(() => undefined);
      await run('curl', ['-sS', '--max-time', '5', '-x', `http://127.0.0.1:${s.port}`, `${upstream.url}/no-trust`]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));

      const uiPort = Number(/Admin API: +http:\/\/127\.0\.0\.1:(\d+)/.exec(s.stdout())?.[1]);
      expect(uiPort).toBeGreaterThan(0);
      const listening = listeningSockets(s.child.pid!);
      expect(listening.sort()).toEqual([`127.0.0.1:${s.port}`, `127.0.0.1:${uiPort}`].sort());

      // After the banner, stdout carries only JSON log lines (no library console output).
      const all = s.stdout().split('\n');
      const lines = all.slice(all.findIndex((l) => l.startsWith('  export CURL_CA_BUNDLE')) + 1).filter((l) => l.trim());
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(() => JSON.parse(line), `not JSON: ${line}`).not.toThrow();
      const token = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.path === '/token');
      expect(token).toMatchObject({ method: 'POST', host: `127.0.0.1:${upstream.port}`, path: '/token', status: 200 });
      expect(typeof token!.durationMs).toBe('number');
      const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.path === '/refused');
      expect(refused).toMatchObject({ error: 'refused' });
      // The client without our CA gets a hint, not silence.
      expect(lines.some((l) => l.includes('does the client trust'))).toBe(true);
      const everything = s.stdout() + s.stderr();
      for (const secret of ['SECRET_CODE_123', 'SECRET_BEARER', 'SECRET_FORM', 'state=xyz']) expect(everything).not.toContain(secret);
      expect(everything).not.toMatch(/PROXY_TO_SERVER_REQUEST_ERROR|starting server for|Connection error/);
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  it('stops on SIGINT too', async () => {
    const s = await startCli(['--port', '0', '--certs', certs]);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(0);
  });

  it('a port in use exits 1 with a clear message', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await run(process.execPath, [MAIN, 'start', '--port', String(port), '--certs', certs], { encoding: 'utf8', timeout: 15_000 })
        .then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});

describe('oauth-lens env and ca', () => {
  it('env prints every export for sh, fish and powershell', async () => {
    const dir = tmpDir('cli-env');
    const { stdout } = await run(process.execPath, [MAIN, 'env', '--certs', dir, '--port', '9090', '--ui-port', '9091'], { encoding: 'utf8' });
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) expect(stdout).toContain(`export ${name}='http://127.0.0.1:9090'`);
    expect(stdout).toContain(`export NO_PROXY='127.0.0.1:9091,localhost:9091'`);
    expect(stdout).toContain(`export NODE_EXTRA_CA_CERTS='${path.join(dir, 'ca.pem')}'`);
    for (const name of ['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) expect(stdout).toContain(`export ${name}='${path.join(dir, 'ca-bundle.pem')}'`);
    const bundle = fs.readFileSync(path.join(dir, 'ca-bundle.pem'), 'utf8');
    expect(bundle).toContain(fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8').trim());
    expect(bundle.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(50);
    const fish = await run(process.execPath, [MAIN, 'env', '--certs', dir, '--shell', 'fish'], { encoding: 'utf8' });
    expect(fish.stdout).toContain(`set -gx HTTPS_PROXY 'http://127.0.0.1:8080'`);
    const ps = await run(process.execPath, [MAIN, 'env', '--certs', dir, '--shell', 'powershell'], { encoding: 'utf8' });
    expect(ps.stdout).toContain(`$env:HTTPS_PROXY = 'http://127.0.0.1:8080'`);
    // sh output really sets the variables
    const { stdout: echoed } = await run('sh', ['-c', `eval "$(${process.execPath} ${MAIN} env --certs ${dir})"; printf %s "$SSL_CERT_FILE"`], { encoding: 'utf8' });
    expect(echoed).toBe(path.join(dir, 'ca-bundle.pem'));
  });

  it('env without location flags describes the running instance from the state file', async () => {
    const stateDir = tmpDir('cli-state');
    fs.writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({
      uiUrl: 'http://127.0.0.1:45678', token: 't', proxyUrl: 'http://127.0.0.1:45677', pid: process.pid,
      caPath: '/x/ca.pem', caBundlePath: '/x/ca-bundle.pem',
    }));
    const env = { ...process.env, OAUTH_LENS_STATE_DIR: stateDir };
    const { stdout } = await run(process.execPath, [MAIN, 'env'], { encoding: 'utf8', env });
    expect(stdout).toContain(`export HTTPS_PROXY='http://127.0.0.1:45677'`);
    expect(stdout).toContain(`export NO_PROXY='127.0.0.1:45678,localhost:45678'`);
    expect(stdout).toContain(`export SSL_CERT_FILE='/x/ca-bundle.pem'`);
    const dir = tmpDir('cli-env2');
    const flagged = await run(process.execPath, [MAIN, 'env', '--certs', dir], { encoding: 'utf8', env });
    expect(flagged.stdout).toContain(`export HTTPS_PROXY='http://127.0.0.1:8080'`);
  });

  it('ca prints the path and the SHA-256 fingerprint; --regenerate changes it', async () => {
    const dir = tmpDir('cli-ca');
    const first = await run(process.execPath, [MAIN, 'ca', '--certs', dir], { encoding: 'utf8' });
    const fp = /SHA-256 ([0-9A-F:]{95})/.exec(first.stdout)![1]!;
    const { stdout: opensslFp } = await run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(dir, 'ca.pem')], { encoding: 'utf8' });
    expect(opensslFp.trim()).toBe(`sha256 Fingerprint=${fp}`);
    expect(first.stdout.split('\n')[0]).toBe(path.join(dir, 'ca.pem'));
    const again = await run(process.execPath, [MAIN, 'ca', '--certs', dir], { encoding: 'utf8' });
    expect(again.stdout).toContain(fp);
    const regen = await run(process.execPath, [MAIN, 'ca', '--certs', dir, '--regenerate'], { encoding: 'utf8' });
    expect(regen.stdout).not.toContain(fp);
    expect(regen.stdout).toContain('trust it again');
  });
});

/**
 * docker-compose.yml and the Dockerfile. There is no Docker engine in CI, so:
 *  - `docker-compose config` validates the file and its resolved model (skipped, with the reason, when the
 *    binary is absent);
 *  - the containers' own commands (IdP-only mode, backend with HTTPS_PROXY + preload and no `run`) are run
 *    here as plain processes against an in-process lens: the same code paths the containers execute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startSession, type Session } from '../../src/session.js';
import { createLogger } from '../../src/log.js';
import { assertBuilt, cleanEnv, ROOT, startProcess, type CliProcess } from './helpers.js';

const COMPOSE = path.join(ROOT, 'docker-compose.yml');
const composeBinary = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
const yamlToJson = spawnSync('/usr/bin/python3', ['-c', 'import yaml, json'], { encoding: 'utf8' }).status === 0;

interface ComposeService {
  build?: { context: string; dockerfile?: string };
  command: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', () => {
  const title = 'is valid for docker-compose and publishes nothing beyond 127.0.0.1';
  it.skipIf(!composeBinary)(composeBinary ? title : `${title} — SKIPPED: the docker-compose binary is not installed`, () => {
    const resolved = execFileSync('docker-compose', ['-f', COMPOSE, 'config'], { cwd: ROOT, encoding: 'utf8', env: cleanEnv({ OAUTH_LENS_TOKEN: 'compose-test' }) });
    expect(execFileSync('docker-compose', ['-f', COMPOSE, 'config', '--services'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').sort())
      .toEqual(['backend', 'idp', 'oauth-lens']);
    // Every published port, as docker-compose resolved it, is bound to the host's loopback.
    const published = [...resolved.matchAll(/^\s+- (\S+:\d+:\d+\/tcp)$/gm)].map((m) => m[1]);
    expect(published.sort()).toEqual(['127.0.0.1:3000:3000/tcp', '127.0.0.1:8080:8080/tcp', '127.0.0.1:8081:8081/tcp']);
    if (!yamlToJson) return;
    const model = JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: resolved, encoding: 'utf8' })) as {
      services: Record<string, ComposeService>;
      volumes: Record<string, unknown>;
    };
    const { idp, backend } = model.services as Record<'idp' | 'backend', ComposeService>;
    const lens = model.services['oauth-lens']!;
    for (const service of [idp, lens, backend]) expect(service.build?.context).toBe(ROOT); // all from the repo's Dockerfile
    expect(backend.environment?.['HTTPS_PROXY']).toBe('http://oauth-lens:8080');
    expect(backend.environment?.['NODE_EXTRA_CA_CERTS']).toBe('/certs/ca.pem');
    expect(backend.environment?.['NODE_OPTIONS']).toBe('--require /app/dist/run/preload.cjs');
    expect(lens.command).toEqual(expect.arrayContaining(['--host', '0.0.0.0', '--upstream-ca', '/shared/idp-ca.pem']));
    expect(lens.environment?.['OAUTH_LENS_TOKEN']).toBe('compose-test');
    // The CA is shared through a volume: written by the proxy, read-only for the backend.
    expect(lens.volumes).toContain('certs:/certs:rw');
    expect(backend.volumes).toContain('certs:/certs:ro');
    expect(Object.keys(model.volumes).sort()).toEqual(['certs', 'shared']);
    expect(backend.depends_on?.['oauth-lens']?.condition).toBe('service_healthy');
    expect(lens.depends_on?.['idp']?.condition).toBe('service_healthy');
  });

  it('names only files the image really contains', () => {
    assertBuilt();
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    for (const [, source] of dockerfile.matchAll(/^COPY (\S+)/gm)) {
      for (const file of source!.split(' ')) expect(existsSync(path.join(ROOT, file)), `${file} copied by the Dockerfile`).toBe(true);
    }
    expect(dockerfile).toMatch(/^USER node$/m);
    const compose = readFileSync(COMPOSE, 'utf8');
    for (const file of ['dist/demo/main.js', 'dist/demo/backend.js', 'dist/cli/main.js', 'dist/run/preload.cjs', 'demo/oauth-lens.demo.json']) {
      expect(compose).toContain(file.replace(/^dist\/run/, '/app/dist/run'));
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
  });
});

describe('the containers\' commands, run as plain processes', () => {
  let work: string;
  let idpProcess: CliProcess | undefined;
  let backendProcess: CliProcess | undefined;
  let session: Session | undefined;

  beforeAll(() => {
    assertBuilt();
    work = mkdtempSync(path.join(tmpdir(), 'oauth-lens-compose-'));
  });
  afterAll(async () => {
    for (const p of [backendProcess, idpProcess]) if (p && p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all([backendProcess?.done, idpProcess?.done]);
    await session?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('idp-only mode + a lens + the backend with HTTPS_PROXY and the preload produce the demo findings', async () => {
    const shared = path.join(work, 'shared');
    idpProcess = startProcess(process.execPath, [path.join(ROOT, 'dist', 'demo', 'main.js'), 'idp',
      '--host', '127.0.0.1', '--port', '0', '--public-host', 'localhost', '--out', shared], cleanEnv());
    await idpProcess.waitFor('wrote');
    const info = JSON.parse(readFileSync(path.join(shared, 'idp.json'), 'utf8')) as { issuer: string };
    expect(info.issuer).toMatch(/^https:\/\/localhost:\d+$/);

    const silent = createLogger({ pretty: false, level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    session = await startSession({
      port: 0, uiPort: false, certsDir: path.join(work, 'certs'), upstreamCaFiles: [path.join(shared, 'idp-ca.pem')],
      configFile: path.join(ROOT, 'demo', 'oauth-lens.demo.json'), logger: silent, logExchanges: false,
    });
    // Exactly the backend service's environment from docker-compose.yml, with loopback addresses.
    backendProcess = startProcess(process.execPath, [path.join(ROOT, 'dist', 'demo', 'backend.js')], cleanEnv({
      HTTPS_PROXY: session.lens.proxyUrl, HTTP_PROXY: session.lens.proxyUrl,
      NODE_EXTRA_CA_CERTS: session.lens.caPath, NODE_OPTIONS: `--require ${path.join(ROOT, 'dist', 'run', 'preload.cjs')}`,
      NODE_USE_ENV_PROXY: '1', DEMO_IDP_INFO: path.join(shared, 'idp.json'), BACKEND_HOST: '127.0.0.1', BACKEND_PORT: '0',
    }));
    await backendProcess.waitFor('all scenarios done', 45_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const codes = new Set(session.lens.store.list().flatMap((e) => e.oauth.findings.filter((f) => f.primary && f.severity === 'error').map((f) => f.code)));
    expect([...codes].sort()).toEqual(['client.authentication_failed', 'code.reused', 'provider.unavailable', 'redirect_uri.trailing_slash', 'request.wrong_content_type']);
    expect(backendProcess.output()).toContain('Correct login (code + PKCE, userinfo, refresh): token 200, userinfo 200, refresh 200');
  }, 60_000);
});

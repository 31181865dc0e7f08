import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, writeStateFile, type AdminServer, type WireSummary } from '../../src/server/index.js';
import { ExchangeStore } from '../../src/store/store.js';
import { formatExchange, shouldUseColor } from '../../src/viewer/terminal/format.js';
import { makeExchange, makeFinding } from '../server/support.js';

const CLI = join(process.cwd(), 'dist/cli/main.js');
const TOKEN = 'watch-token-1234567890';

function ensureBuilt(): void {
  if (!existsSync(join(process.cwd(), 'dist/cli/watch.js')) || !existsSync(join(process.cwd(), 'dist/viewer/terminal/printer.js'))) {
    // tsc still emits when other parts have type errors; the exit code is not ours to judge here.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'ignore' });
  }
}

async function until<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('terminal formatting', () => {
  const summary: WireSummary = {
    id: 'x', seq: 1, kind: 'token', method: 'POST', url: 'https://idp.example.com/oauth/token', host: 'idp.example.com', path: '/oauth/token',
    startedAt: new Date(2026, 0, 1, 9, 5, 7, 42).getTime(), durationMs: 143, status: 400, worst: 'error',
    findings: [{ code: 'redirect_uri.trailing_slash', severity: 'error', title: 'redirect_uri differs by a trailing slash', detail: '', confidence: 'high', primary: true }],
  };

  it('prints time, kind, method, host+path, status, duration and findings beneath', () => {
    const [line, finding] = formatExchange(summary, { color: false, columns: 100 });
    expect(line).toMatch(/^09:05:07\.042 token\s+POST\s+idp\.example\.com\/oauth\/token\s+400\s+143ms$/);
    expect(finding).toBe('    ✖ error   redirect_uri.trailing_slash  redirect_uri differs by a trailing slash');
    expect(line).not.toContain('\x1b[');
  });

  it('colours only for a TTY without NO_COLOR', () => {
    expect(formatExchange(summary, { color: true, columns: 100 })[0]).toContain('\x1b[');
    expect(shouldUseColor({ isTTY: true }, {})).toBe(true);
    expect(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldUseColor({ isTTY: false }, {})).toBe(false);
  });
});

describe('oauth-lens watch', () => {
  let admin: AdminServer;
  let store = new ExchangeStore();
  const session = `oal-watch-${process.pid}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'oal-watch-state-'));
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    admin = await startAdminServer({ store, port: 0, token: TOKEN });
  }, 120_000);
  afterAll(async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    for (const child of children) child.kill('SIGTERM');
    await admin?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const pane = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });

  it('shows lines live under tmux and reconnects when the proxy restarts', async () => {
    store.upsert(makeExchange({ id: 'early', kind: 'discovery', method: 'GET', url: 'https://idp.example.com/.well-known/openid-configuration', status: 200 }, store));
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50',
      `node ${CLI} watch --url ${admin.url} --token ${TOKEN}`]);
    await until(() => (pane().includes('.well-known/openid-configuration') ? true : undefined));

    store.upsert(makeExchange({ id: 'live', url: 'https://idp.example.com/oauth/token', status: 400, findings: [makeFinding()] }, store));
    const screen = await until(() => { const text = pane(); return text.includes('redirect_uri.trailing_slash') ? text : undefined; });
    expect(screen).toMatch(/token\s+POST\s+idp\.example\.com\/oauth\/token\s+400\s+42ms/);
    expect(screen).toMatch(/✖ error\s+redirect_uri\.trailing_slash\s+redirect_uri differs from the registered one/);

    // Restart the proxy on the same port with fresh state: watch reconnects and keeps printing.
    const port = admin.port;
    await admin.close();
    await until(() => (pane().includes('disconnected') ? true : undefined));
    store = new ExchangeStore();
    admin = await startAdminServer({ store, port, token: TOKEN });
    store.upsert(makeExchange({ id: 'after-restart', kind: 'userinfo', method: 'GET', url: 'https://idp.example.com/userinfo', status: 200 }, store));
    await until(() => (pane().includes('idp.example.com/userinfo') ? true : undefined), 15_000);
  }, 40_000);

  it('--json prints one parseable exchange per line, finding the instance through the state file', async () => {
    writeStateFile({ uiUrl: admin.url, token: TOKEN, proxyUrl: 'http://127.0.0.1:0', pid: process.pid }, stateDir);
    const child = spawn('node', [CLI, 'watch', '--json', '--findings-only'], {
      env: { ...process.env, OAUTH_LENS_STATE_DIR: stateDir, OAUTH_LENS_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    await until(() => (stderr.includes('watching') ? true : undefined));

    store.upsert(makeExchange({ id: 'json-plain', kind: 'jwks', method: 'GET', url: 'https://idp.example.com/jwks', status: 200 }, store));
    store.upsert(makeExchange({ id: 'json-finding', status: 400, findings: [makeFinding()] }, store));
    const lines = await until(() => { const all = stdout.split('\n').filter(Boolean); return all.some((l) => l.includes('json-finding')) ? all : undefined; });
    const parsed = lines.map((line) => JSON.parse(line) as WireSummary);
    expect(parsed.map((p) => p.id)).toEqual(['json-finding']); // --findings-only skipped the jwks call
    expect(parsed[0]).toMatchObject({ kind: 'token', status: 400, findings: [{ code: 'redirect_uri.trailing_slash', fix: expect.stringContaining('trailing slash') }] });
    child.kill('SIGTERM');
  }, 30_000);
});

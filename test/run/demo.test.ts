/**
 * `npm run demo` (node dist/demo/main.js): starts oauth-lens, the demo IdP and the demo backend,
 * shows the expected findings in the terminal and through the viewer's API, and stops cleanly on Ctrl-C.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { assertBuilt, cleanEnv, CLI, ROOT, startProcess, type CliProcess } from './helpers.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

const EXPECTED = [
  'redirect_uri.trailing_slash',
  'code.reused',
  'request.wrong_content_type',
  'client.authentication_failed',
  'provider.unavailable',
];

let work: string;
let demo: CliProcess | undefined;

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'oauth-lens-demo-test-'));
});
afterAll(() => {
  if (demo && demo.child.exitCode === null) demo.child.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

function startDemo(): CliProcess {
  const env = cleanEnv({ OAUTH_LENS_STATE_DIR: path.join(work, 'state') });
  return startProcess(process.execPath, [path.join(ROOT, 'dist', 'demo', 'main.js'),
    '--port', '0', '--ui-port', '0', '--backend-port', '0', '--certs', path.join(work, 'certs')], env);
}

describe('npm run demo', () => {
  it('shows every expected finding in the terminal and the viewer API, then stops cleanly on SIGINT', async () => {
    demo = startDemo();
    await demo.waitFor('all scenarios done', 45_000);
    for (const code of EXPECTED) await demo.waitFor(new RegExp(`^finding +✖ ${code.replace('.', '\\.')} `, 'm'), 5_000);
    const out = demo.output();
    expect(out).toContain('Correct login (code + PKCE, userinfo, refresh): token 200, userinfo 200, refresh 200');
    // The correct login produces no error finding: every ✖ line is one of the broken scenarios.
    const errorCodes = [...out.matchAll(/^finding +✖ (\S+)/gm)].map((m) => m[1]);
    expect(new Set(errorCodes)).toEqual(new Set(EXPECTED));

    // The browser viewer reads the same API: the findings are there, with the token from the printed URL.
    const viewer = new URL(/viewer: +(http:\/\/\S+)/.exec(out)![1]!);
    const token = viewer.searchParams.get('token')!;
    const api = await fetch(new URL('/api/exchanges', viewer), { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const { exchanges } = (await api.json()) as { exchanges: Array<{ kind: string; findings: Array<{ code: string }> }> };
    const apiCodes = new Set(exchanges.flatMap((e) => e.findings.map((f) => f.code)));
    for (const code of EXPECTED) expect(apiCodes).toContain(code);
    expect(exchanges.some((e) => e.kind === 'authorize')).toBe(true);
    // `oauth-lens watch` finds the demo through the state file.
    const state = JSON.parse(readFileSync(path.join(work, 'state', 'state.json'), 'utf8')) as { uiUrl: string };
    expect(state.uiUrl).toBe(viewer.origin);

    // The terminal viewer, with no flags: it finds the demo through the state file.
    const watch = startProcess(process.execPath, [CLI, 'watch', '--findings-only'], cleanEnv({ OAUTH_LENS_STATE_DIR: path.join(work, 'state') }));
    try {
      for (const code of EXPECTED) await watch.waitFor(code, 15_000);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.done;
    }

    // The browser viewer in real Chromium shows the findings too.
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(viewer.toString());
      await page.getByText('code.reused').first().waitFor({ timeout: 15_000 });
      await page.getByText('redirect_uri.trailing_slash').first().waitFor({ timeout: 5_000 });
      mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'demo-viewer.png') });
    } finally {
      await browser.close();
    }

    const backendPort = Number(/demo backend │ listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1]);
    demo.child.kill('SIGINT');
    const result = await demo.done;
    expect(result.stdout).toContain('oauth-lens demo stopped');
    expect(result.code).toBe(0);
    expect(await portOpen(backendPort)).toBe(false);
    expect(await portOpen(Number(viewer.port))).toBe(false);
    expect(() => readFileSync(path.join(work, 'state', 'state.json'))).toThrow();
  }, 90_000);
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}


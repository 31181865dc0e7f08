/** `oauth-lens run` as a process wrapper: exit codes, signal forwarding, spawn failures, warnings, env. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assertBuilt, cleanEnv, runCli, startCli } from './helpers.js';

let work: string;
let env: NodeJS.ProcessEnv;
const lens = () => ['run', '--port', '0', '--ui-port', '0', '--certs', path.join(work, 'certs'), '--quiet'];

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'oauth-lens-run-proc-'));
  env = cleanEnv({ OAUTH_LENS_STATE_DIR: path.join(work, 'state') });
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// The child announces readiness, then reports which signal reached it and exits with a telling code.
const trapScript = (exitCode: number) =>
  `for (const s of ['SIGINT','SIGTERM']) process.on(s, () => { console.log('child got ' + s); process.exit(${exitCode}); });` +
  `console.log('child ready'); setInterval(() => {}, 1000);`;

describe('oauth-lens run as a process wrapper', () => {
  it('returns the exit code of the command', async () => {
    const result = await runCli([...lens(), '--no-summary', '--', process.execPath, '-e', 'process.exit(7)'], env);
    expect(result.code).toBe(7);
    const ok = await runCli([...lens(), '--no-summary', '--', process.execPath, '-e', 'console.log("fine")'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('fine\n');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('forwards %s to the command and exits with its code', async (signal) => {
    const cli = startCli([...lens(), '--', process.execPath, '-e', trapScript(3)], env);
    await cli.waitFor('child ready');
    cli.child.kill(signal);
    const result = await cli.done;
    expect(result.stdout).toContain(`child got ${signal}`);
    expect(result.code).toBe(3);
    // The summary still prints after a forwarded signal.
    expect(result.stderr).toMatch(/0 exchanges captured/);
  });

  it('exits with 128 + signal number when the signal kills the command', async () => {
    const cli = startCli([...lens(), '--no-summary', '--', process.execPath, '-e', 'console.log("child ready"); setInterval(() => {}, 1000)'], env);
    await cli.waitFor('child ready');
    cli.child.kill('SIGTERM');
    expect((await cli.done).code).toBe(143);
  });

  it('reports a command that does not exist with 127', async () => {
    const result = await runCli([...lens(), '--no-summary', '--', 'oauth-lens-no-such-command-xyz'], env);
    expect(result.code).toBe(127);
    expect(result.stderr).toContain('command not found: oauth-lens-no-such-command-xyz');
  });

  it('warns when the environment disables TLS verification and hands the child every variable', async () => {
    const print = 'for (const n of ["HTTPS_PROXY","https_proxy","HTTP_PROXY","NO_PROXY","NODE_EXTRA_CA_CERTS","REQUESTS_CA_BUNDLE","SSL_CERT_FILE","CURL_CA_BUNDLE","NODE_OPTIONS","NODE_USE_ENV_PROXY","JAVA_TOOL_OPTIONS"]) console.log(n + "=" + process.env[n])';
    const result = await runCli([...lens(), '--no-summary', '--', process.execPath, '-e', print],
      { ...env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NO_PROXY: 'internal.example', NODE_OPTIONS: '--max-old-space-size=256' });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: NODE_TLS_REJECT_UNAUTHORIZED=0 is set/);
    const vars = Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));
    expect(vars['HTTPS_PROXY']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(vars['https_proxy']).toBe(vars['HTTPS_PROXY']);
    expect(vars['HTTP_PROXY']).toBe(vars['HTTPS_PROXY']);
    expect(vars['NO_PROXY']).toContain('internal.example');
    expect(vars['NODE_EXTRA_CA_CERTS']).toBe(path.join(work, 'certs', 'ca.pem'));
    for (const name of ['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) expect(vars[name]).toBe(path.join(work, 'certs', 'ca-bundle.pem'));
    expect(vars['NODE_OPTIONS']).toMatch(/^--max-old-space-size=256 --require \S+\/dist\/run\/preload\.cjs$/);
    expect(vars['NODE_USE_ENV_PROXY']).toBe('1');
    const port = new URL(vars['HTTPS_PROXY']!).port;
    expect(vars['JAVA_TOOL_OPTIONS']).toContain(`-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=${port}`);
    expect(vars['JAVA_TOOL_OPTIONS']).toContain('-Dhttp.nonProxyHosts=internal.example|*.internal.example');
  });

  it('refuses --attach clearly when no oauth-lens is running', async () => {
    const result = await runCli(['run', '--attach', '--', process.execPath, '-e', '0'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no running oauth-lens found/);
  });
});

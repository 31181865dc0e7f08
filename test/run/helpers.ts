/** Spawning the built CLI (`node dist/cli/main.js …`) and collecting what a user would see. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const FIXTURES = path.join(ROOT, 'test', 'run', 'fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves when stdout contains `text` (stderr echoes the command line, so it is not searched). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
  /** stdout so far. */
  output(): string;
}

export function assertBuilt(): void {
  if (!existsSync(CLI) || !existsSync(path.join(ROOT, 'dist', 'run', 'preload.cjs'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before test/run');
  }
}

/** Environment without proxy/CA variables of the machine running the tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(https?_proxy|no_proxy|node_options|node_extra_ca_certs|requests_ca_bundle|ssl_cert_file|curl_ca_bundle|node_tls_reject_unauthorized)$/i.test(name)) {
      delete env[name];
    }
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): CliProcess {
  return startProcess(process.execPath, [CLI, ...args], env, cwd);
}

export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): CliProcess {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ test: (s: string) => boolean; resolve: () => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.test(stdout)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); check(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); check(); });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    output: () => stdout,
    waitFor: (text, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
        if (test(stdout)) return resolve();
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(text)}; stdout=${stdout} stderr=${stderr}`)), timeoutMs);
        waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
      }),
  };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}

/** The JSON a fixture prints after `RESULT `. */
export function resultOf(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in: ${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
}

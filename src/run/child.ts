/**
 * Runs the wrapped command with inherited stdio, forwards termination signals to it and reports
 * how it ended as a shell would: its exit code, or 128 + signal number when a signal killed it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export interface ChildResult {
  /** The code run should exit with. */
  exitCode: number;
  signal?: NodeJS.Signals;
  /** Set when the command could not be started at all. */
  spawnError?: { code: string; message: string };
}

export interface RunChildOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called once the child runs (tests use it to learn the pid). */
  onSpawn?: (pid: number) => void;
}

export function runChild(options: RunChildOptions): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(options.command, options.args, {
      stdio: 'inherit',
      env: options.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    // A terminal's Ctrl-C reaches the whole process group, the child included; forwarding matters
    // when only run is signalled (kill, systemd, docker stop, a test harness).
    const forward = (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const cleanup = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    };

    child.once('spawn', () => options.onSpawn?.(child.pid ?? 0));
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      const code = err.code ?? 'ERR_SPAWN';
      // 127 = command not found, 126 = found but not executable (shell conventions).
      const exitCode = code === 'ENOENT' ? 127 : code === 'EACCES' ? 126 : 1;
      resolve({ exitCode, spawnError: { code, message: spawnMessage(options.command, code) } });
    });
    child.once('exit', (code, signal) => {
      cleanup();
      if (signal) {
        const number = (constants.signals as Record<string, number>)[signal] ?? 0;
        resolve({ exitCode: 128 + number, signal });
      } else {
        resolve({ exitCode: code ?? 0 });
      }
    });
  });
}

function spawnMessage(command: string, code: string): string {
  if (code === 'ENOENT') return `command not found: ${command}`;
  if (code === 'EACCES') return `permission denied: ${command}`;
  return `cannot start ${command} (${code})`;
}

/**
 * The state file `start` writes so `watch`, `export` and `curl` find the running instance without
 * flags. It holds the admin token, so it is written atomically with mode 0600 in a 0700 directory.
 * Location: `$OAUTH_LENS_STATE_DIR/state.json`, else `~/.oauth-lens/state.json`.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AdminServerError } from './errors.js';

export interface LensState {
  uiUrl: string;
  token: string;
  proxyUrl: string;
  pid: number;
  /** The CA and combined bundle the instance serves, so `run --attach` trusts the right files. */
  caPath?: string;
  caBundlePath?: string;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OAUTH_LENS_STATE_DIR || join(homedir(), '.oauth-lens');
}

export function stateFilePath(dir: string = defaultStateDir()): string {
  return join(dir, 'state.json');
}

export function writeStateFile(state: LensState, dir: string = defaultStateDir()): string {
  const path = stateFilePath(dir);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600); // the umask cannot loosen it, and an old file keeps no wider mode
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new AdminServerError('OAL_ERR_STATE_FILE', `Cannot write the state file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}

/** The recorded instance, or undefined when there is none (or the file is unreadable). */
export function readStateFile(dir: string = defaultStateDir()): LensState | undefined {
  try {
    const parsed = JSON.parse(readFileSync(stateFilePath(dir), 'utf8')) as Partial<LensState>;
    if (typeof parsed.uiUrl !== 'string' || typeof parsed.token !== 'string') return undefined;
    return {
      uiUrl: parsed.uiUrl,
      token: parsed.token,
      proxyUrl: typeof parsed.proxyUrl === 'string' ? parsed.proxyUrl : '',
      pid: typeof parsed.pid === 'number' ? parsed.pid : 0,
      ...(typeof parsed.caPath === 'string' ? { caPath: parsed.caPath } : {}),
      ...(typeof parsed.caBundlePath === 'string' ? { caBundlePath: parsed.caBundlePath } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Remove the state file if it still belongs to `pid` (a newer instance may have replaced it). */
export function removeStateFile(pid: number = process.pid, dir: string = defaultStateDir()): void {
  const current = readStateFile(dir);
  if (current && current.pid === pid) rmSync(stateFilePath(dir), { force: true });
}

/** True when the state file names another oauth-lens process that is still alive (never overwrite it). */
export function stateFileOwnedByLiveProcess(dir: string = defaultStateDir()): boolean {
  const state = readStateFile(dir);
  if (!state?.pid || state.pid === process.pid) return false;
  try {
    process.kill(state.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

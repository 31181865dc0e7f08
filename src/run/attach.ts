/**
 * `run --attach`: use an oauth-lens that is already running (found through the state file that
 * `start` writes) instead of starting one. The CA comes from the state file when it records it,
 * else from the certs directory; the summary comes from the admin API.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultStateDir, readStateFile, stateFilePath, type LensState } from '../server/state-file.js';
import type { WireSummary } from '../server/wire.js';

export class AttachError extends Error {
  readonly code = 'OAL_ERR_ATTACH';
}

export interface AttachedLens {
  proxyUrl: string;
  uiUrl: string;
  uiPort?: number;
  token: string;
  caPath: string;
  bundlePath: string;
  /** Summaries of the exchanges that started at or after `since` (epoch ms). */
  listSummaries(since: number): Promise<WireSummary[]>;
}

export interface AttachOptions {
  stateDir?: string;
  /** Where to find ca.pem / ca-bundle.pem when the state file does not say (default ./certs). */
  certsDir: string;
  /** Overrides the token of the state file. */
  token?: string;
}

export async function attachToRunningLens(options: AttachOptions): Promise<AttachedLens> {
  const dir = options.stateDir ?? defaultStateDir();
  const state = readStateFile(dir);
  if (!state || !state.proxyUrl) {
    throw new AttachError(`no running oauth-lens found (no usable state file at ${stateFilePath(dir)}); start one with "oauth-lens start" or drop --attach`);
  }
  if (state.pid && !processAlive(state.pid)) {
    throw new AttachError(`the oauth-lens recorded in ${stateFilePath(dir)} (pid ${state.pid}) is not running any more`);
  }
  const token = options.token ?? state.token;
  await checkHealth(state);
  const { caPath, bundlePath } = caFiles(state, options.certsDir);
  const uiPort = Number(new URL(state.uiUrl).port) || undefined;
  return {
    proxyUrl: state.proxyUrl,
    uiUrl: state.uiUrl,
    ...(uiPort ? { uiPort } : {}),
    token,
    caPath,
    bundlePath,
    listSummaries: async (since) => {
      const response = await fetch(new URL('/api/exchanges?limit=100000', state.uiUrl), {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!response.ok) throw new AttachError(`the admin API answered HTTP ${response.status} (wrong --token?)`);
      const body = (await response.json()) as { exchanges: WireSummary[] };
      return body.exchanges.filter((s) => s.startedAt >= since);
    },
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function checkHealth(state: LensState): Promise<void> {
  try {
    const response = await fetch(new URL('/api/health', state.uiUrl), { signal: AbortSignal.timeout(3000) });
    if (response.ok) return;
    throw new AttachError(`oauth-lens at ${state.uiUrl} answered HTTP ${response.status} to a health check`);
  } catch (err) {
    if (err instanceof AttachError) throw err;
    throw new AttachError(`oauth-lens at ${state.uiUrl} does not answer (${(err as Error).name}); is it still running?`);
  }
}

/** caPath/caBundlePath from the state file if `start` recorded them, else <certs>/ca.pem and ca-bundle.pem. */
function caFiles(state: LensState, certsDir: string): { caPath: string; bundlePath: string } {
  const caPath = state.caPath ?? path.resolve(certsDir, 'ca.pem');
  const bundlePath = state.caBundlePath ?? path.resolve(path.dirname(caPath), 'ca-bundle.pem');
  if (!existsSync(caPath)) {
    throw new AttachError(`cannot find the CA of the running oauth-lens at ${caPath}; pass --certs <dir> as given to "oauth-lens start"`);
  }
  return { caPath, bundlePath: existsSync(bundlePath) ? bundlePath : caPath };
}

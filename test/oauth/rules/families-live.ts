/**
 * Real traffic for rule tests: the shared oidc-provider IdP (HTTPS, throwaway CA) behind a real
 * LensProxy that trusts it, and curl as the client. Captures go through `runRules` like fixtures.
 */
import fs from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import type { CapturedExchange } from '../../../src/capture/types.js';
import { run, startTestLens, type TestLens } from '../../proxy/support/lens.js';
import { tmpDir } from '../../proxy/support/upstream.js';
import { startIdp, type StartedIdp } from '../../support/idp.js';

export interface LiveIdp {
  idp: StartedIdp;
  lens: TestLens;
  /** curl through the proxy (trusting its CA); returns the HTTP status. */
  curl(url: string, args: string[]): Promise<number>;
  /** Captures of `url` (no query) so far, in arrival order. */
  capturesOf(url: string): CapturedExchange[];
  close(): Promise<void>;
}

export async function startLiveIdp(): Promise<LiveIdp> {
  const idp = await startIdp();
  const caFile = path.join(tmpDir('idp-ca'), 'idp-ca.pem');
  fs.writeFileSync(caFile, idp.caPem);
  const lens = await startTestLens({ upstreamCaFiles: [caFile] });
  const lensCa = path.join(lens.ca.paths.dir, 'ca.pem');
  return {
    idp,
    lens,
    async curl(url, args) {
      const before = lens.captured.length;
      const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', lens.proxy.url, '--cacert', lensCa, '-o', '/dev/null', '-w', '%{http_code}', ...args, url], { encoding: 'utf8' });
      // The capture is handed off after the response; wait for it so captures stay in request order.
      await lens.waitFor(() => lens.captured.length > before);
      return Number(stdout.trim());
    },
    capturesOf(url) {
      return lens.captured.filter((c) => c.request.url.split('?')[0] === url);
    },
    async close() {
      await lens.close();
      await idp.close();
    },
  };
}

/**
 * Starts the live IdP before the enclosing describe's tests and closes it after them; `use` receives it
 * once started. `timeoutMs` bounds the start (default: the config's hookTimeout).
 */
export function useLiveIdp(use: (live: LiveIdp) => void, timeoutMs?: number): void {
  let live: LiveIdp | undefined;
  beforeAll(async () => {
    live = await startLiveIdp();
    use(live);
  }, timeoutMs);
  afterAll(async () => {
    await live?.close();
  });
}
